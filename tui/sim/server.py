"""Runs the simulated cluster's servers on loopback with mutual TLS, and tells clients where.

Each protocol module (fabric_api, and the others listed in PROTOCOLS) has
`async def serve(ctx: ServeContext) -> dict` that starts its listeners and returns its part of
endpoints.json. When every listener is up, endpoints.json is written atomically, so a reader
that sees the file can connect at once.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import json
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from tui.errors import UsageError
from tui.sim.capacity import ensure_capacity
from tui.sim.clock import DEFAULT_START, SimClock
from tui.sim.faults import Fault
from tui.sim.scenario import Scenario
from tui.sim.state import SimCluster
from tui.sim.tls import TlsFiles, make_tls

# Protocol modules started after the gateway, in this order.
PROTOCOLS = ("tui.sim.names", "tui.sim.arm", "tui.sim.docker_api", "tui.sim.control")


class RequestLog:
    """Appends one JSON line per served request to requests.jsonl (all protocols); each line
    is one write, so a reader sees every request answered so far."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()

    def __call__(self, protocol: str, method: str, path: str, status: int, **extra: Any) -> None:
        record = {
            "ts": log_time(time.time()),
            "protocol": protocol,
            "method": method,
            "path": path,
            "status": status,
            **extra,
        }
        line = log_line(record)
        with self._lock:
            if self._fd >= 0:  # a request still being answered as the simulator stops
                os.write(self._fd, line)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


_quote = json.encoder.encode_basestring_ascii  # a str as json.dumps writes it


def log_line(record: dict[str, Any]) -> bytes:
    """A record's line in requests.jsonl: json.dumps of it, built a field at a time when every
    value is a str or an int (json.dumps's set-up costs more than such a line)."""
    parts = []
    for key, value in record.items():
        kind = type(value)
        if kind is str:
            text = _quote(value)
        elif kind is int:
            text = int.__repr__(value)
        else:
            return (json.dumps(record) + "\n").encode()
        parts.append(f"{_quote(key)}: {text}")
    return ("{" + ", ".join(parts) + "}\n").encode()


def log_time(now: float) -> str:
    """A record's ts: the UTC time in ISO 8601 to the millisecond, as
    datetime.isoformat(timespec="milliseconds") writes it."""
    second = int(now)
    return f"{_log_second(second)}.{int((now - second) * 1000):03d}+00:00"


@functools.lru_cache(maxsize=2)
def _log_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


@dataclass
class ServeContext:
    """What a protocol module needs to start its listeners."""

    cluster: SimCluster
    tls: TlsFiles
    log_request: RequestLog
    state_dir: Path
    runners: list[web.AppRunner] = field(default_factory=list)
    stoppers: list[Callable[[], None]] = field(default_factory=list)  # servers off the loop

    async def listen(
        self,
        app: web.Application,
        host: str = "127.0.0.1",
        port: int = 0,
        client_cert_required: bool = True,
    ) -> int:
        """Serve `app` over TLS on host:port (0 = a free port); returns the port.

        TLS is mutual unless `client_cert_required` is False (ARM authenticates with a token).
        """
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        context = self.tls.server_context()
        if not client_cert_required:
            context.verify_mode = ssl.CERT_NONE
        site = web.TCPSite(runner, host, port, ssl_context=context)
        await site.start()
        self.runners.append(runner)
        sockets = site._server.sockets  # type: ignore[union-attr]
        return sockets[0].getsockname()[1]


async def _serve_fabric(ctx: ServeContext) -> dict[str, Any]:
    from tui.sim import fabric_api

    port = await ctx.listen(fabric_api.make_app(ctx.cluster, ctx.log_request))
    return {
        "cluster": ctx.cluster.scenario.cluster_name,
        "fabric": {
            "endpoint": f"https://127.0.0.1:{port}",
            "ca": str(ctx.tls.ca),
            "client_cert": str(ctx.tls.client_cert),
            "client_key": str(ctx.tls.client_key),
            "client_pem": str(ctx.tls.client_pem),
            "server_thumbprint": ctx.tls.server_thumbprint,
        },
    }


class SimServer:
    """The whole simulator: state, clock and servers. Use `run_forever` or `start`/`stop`."""

    def __init__(
        self,
        scenario: Scenario,
        state_dir: Path,
        speed: float = 1.0,
        faults: tuple[Fault, ...] = (),
        seed: int | None = None,
        start: datetime = DEFAULT_START,
        client_in_process: bool = True,
    ) -> None:
        # Before anything is built: a scenario too large for this machine is refused whole.
        nodes = sum(nt.instances for nt in scenario.node_types)
        ensure_capacity(scenario.name, nodes, client_in_process)
        self.state_dir = _usable_state_dir(state_dir)
        # A simulator killed by SIGKILL left these behind: gone as soon as a new one is made,
        # well before it listens, so that a reader waiting for endpoints.json never connects
        # to the old, dead ports.
        for stale in (self.endpoints_path, self.profile_path):
            stale.unlink(missing_ok=True)
        self.clock = SimClock(speed, start)
        self.cluster = SimCluster(scenario, self.clock, seed)
        for fault in faults:
            self.cluster.faults.add(fault)
        self.endpoints: dict[str, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def endpoints_path(self) -> Path:
        return self.state_dir / "endpoints.json"

    @property
    def profile_path(self) -> Path:
        """A cluster profile (tui.config) for this simulator, named after the scenario's cluster."""
        return self.state_dir / "profile.toml"

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        addresses = [n.address for n in self.cluster.nodes.values()]
        tls = make_tls(self.state_dir / "pki", addresses)
        log = RequestLog(self.state_dir / "requests.jsonl")
        ctx = ServeContext(self.cluster, tls, log, self.state_dir)
        try:
            endpoints = await _serve_fabric(ctx)
            for module_name in PROTOCOLS:
                endpoints.update(await importlib.import_module(module_name).serve(ctx))
            self.endpoints = endpoints
            # The profile first: a reader that sees endpoints.json can use profile.toml at once.
            _write_atomically(self.profile_path, sim_profile(self.cluster.scenario, endpoints))
            _write_atomically(self.endpoints_path, json.dumps(endpoints, indent=2) + "\n")
            self._ready.set()
            await self._stop.wait()
        finally:
            for stop in ctx.stoppers:
                stop()
            for runner in ctx.runners:
                await runner.cleanup()
            log.close()
            self.endpoints_path.unlink(missing_ok=True)

    def run_forever(self) -> None:
        """Serve in this thread until `stop()` (the CLI wires SIGINT/SIGTERM to it)."""
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    def start(self, timeout: float = 30.0) -> SimServer:
        """Serve in a background thread; returns once endpoints.json is written."""

        def target() -> None:
            try:
                self.run_forever()
            except BaseException as exc:  # surfaced to the starting thread below
                self._error = exc
                self._ready.set()

        self._thread = threading.Thread(target=target, name="sfpatch-sim", daemon=True)
        self._thread.start()
        self._ready.wait(timeout)
        if self._error is not None:
            raise self._error
        if not self._ready.is_set():
            raise TimeoutError("simulator did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._stop and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(timeout=10)

    def stop_from_signal(self) -> None:
        """Ask `run_forever` (in this thread) to shut down; safe inside a signal handler."""
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)

    def advance(self, seconds: float) -> None:
        """Move a frozen clock on (a run that moves it itself), once every live ARM poller has
        read the ends that came before: pollers read in real time, the run a minute a step."""
        self.cluster.advance()  # the ends due by now happen, so that they are waited for
        self.cluster.lro_reads.wait()
        self.clock.advance(seconds)

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def sim_profile(scenario: Scenario, endpoints: dict[str, Any]) -> str:
    """profiles.toml text for this simulator: its certificates, a static ARM token, the
    scenario's scale sets and patch targets. Sources not being served are left out."""
    from tui.config import (
        ArmProfile,
        ClusterProfile,
        DockerProfile,
        GatewayProfile,
        NodeTypeProfile,
        render_profile,
    )

    f = endpoints["fabric"]
    gateway = GatewayProfile(f["endpoint"], client_pem=Path(f["client_pem"]), ca=Path(f["ca"]))
    arm = None
    if "arm" in endpoints:
        a = endpoints["arm"]
        arm = ArmProfile(
            subscription=a["subscription"],
            resource_group=a["resource_group"],
            scale_sets={nt.name: nt.scale_set.name for nt in scenario.node_types},
            credential="static-token",
            token="sfpatch-sim",
            endpoint=a["endpoint"],
            ca=Path(a["ca"]),
            poll_interval=0.2,  # a frozen clock answers Retry-After: 0, so this paces polls
        )
    docker = None
    if "docker" in endpoints:
        d = endpoints["docker"]
        docker = DockerProfile(
            endpoint_template=f"tcp://{{address}}:{d['port']}",
            ca=Path(d["ca"]),
            client_cert=Path(d["client_cert"]),
            client_key=Path(d["client_key"]),
        )
    targets = {nt.name: nt.patch_target for nt in scenario.node_types}
    node_types = {
        nt.name: NodeTypeProfile(durability=nt.durability, strategy=nt.strategy)
        for nt in scenario.node_types
    }
    profile = ClusterProfile(
        scenario.cluster_name, Path(), gateway, arm, docker, targets, node_types=node_types
    )
    return render_profile(profile)


def _usable_state_dir(state_dir: Path) -> Path:
    """The state dir, created if need be and known writable; a one-line UsageError if not."""
    path = state_dir.expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".sfpatch-probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except FileExistsError:
        raise UsageError(f"state dir {path}: not a directory") from None
    except OSError as exc:
        raise UsageError(f"state dir {path}: cannot write there: {exc.strerror or exc}") from None
    return path


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
