"""Inventory speed on the `large` scenario: full snapshots, a health-only refresh, memory, and
the same facts read by the official command-line clients (the peer sweep).

The simulator runs in its own process (`sfpatch sim --speed 0`), so its CPU is counted apart
from the client's (they still share the machine's cores). The cold snapshot is the first of an
inventory: a full TLS handshake per engine and every engine read in full. The warm one repeats
it on the same inventory, nothing changed in the cluster: each engine's TLS session resumed and
each engine refreshed from its container list alone. Both are medians of FULL_ROUNDS fresh
inventories (one figure of one run moved by a third on this 2-core machine). `check` runs as
its own process, for its peak memory. CPU seconds and request counts move less with the
machine's load than wall time.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._peak import run_for_peak

SCENARIO = "large"
START_TIMEOUT = 120.0  # seconds for the simulator to write endpoints.json
PEER_SAMPLE = 50  # nodes read through the docker CLI; the sweep is extrapolated from them
PEER_PARALLEL = 2
FAR_MS = 3  # milliseconds an engine waits before its handshake and each answer
CONCURRENCY = (8, 32)  # the default, and the default before it
ROUNDS = 2  # cold snapshots at each concurrency, in turn
FULL_ROUNDS = 3  # fresh inventories, each read cold then warm


@dataclass(frozen=True)
class Cost:
    """What one step cost: wall time, CPU of the client and of the simulator, requests served."""

    wall: float
    client_cpu: float
    sim_cpu: float
    requests: int

    def figure(self) -> str:
        return (
            f"{self.wall:.2f} s wall, client CPU {self.client_cpu:.2f} s, "
            f"simulator CPU {self.sim_cpu:.2f} s, {self.requests:,} requests"
        )


def median_cost(costs: list[Cost]) -> Cost:
    """Each figure's median over `costs`, figure by figure."""
    return Cost(
        *(statistics.median(getattr(c, f.name) for c in costs) for f in dataclasses.fields(Cost))
    )


def spread_figure(costs: list[Cost]) -> str:
    """The median costs, then each run's wall time in the order they ran."""
    walls = ", ".join(f"{c.wall:.2f}" for c in costs)
    return f"{median_cost(costs).figure()}; walls {walls} s"


class Meter:
    """Measures steps against one simulator process and its request log."""

    def __init__(self, sim_pid: int, log: Path) -> None:
        self._pid = sim_pid
        self._log = log

    def measure(self, fn: Callable[[], Any]) -> tuple[Cost, Any]:
        # The request log is counted outside the clocks: reading it is the bench's own work.
        served, sim = self._n(), self._sim()
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return Cost(wall, cpu, self._sim() - sim, self._n() - served), result

    def _sim(self) -> float:
        fields = Path(f"/proc/{self._pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _n(self) -> int:
        with self._log.open("rb") as log:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: log.read(1 << 20), b""))


def run() -> list[tuple[str, str]]:
    """Start the simulator; time cold and warm snapshots, health polls, check, the peer sweep."""
    from tui.cluster.inventory import connect, refresh_health
    from tui.config import load_profile
    from tui.sim.scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="sfpatch-bench-") as tmp:
        state = Path(tmp)
        sim = _start_simulator(state)
        try:
            meter = Meter(sim.pid, state / "requests.jsonl")
            profile = load_profile(scenario.cluster_name, state / "profile.toml")
            colds: list[Cost] = []
            warms: list[Cost] = []
            for _ in range(FULL_ROUNDS - 1):
                with connect(profile) as inventory:
                    cold, warm, *_ = _cold_then_warm(meter, inventory)
                    colds.append(cold)
                    warms.append(warm)
            with connect(profile) as inventory:  # the last is kept for the health polls
                cold, warm, snapshot, cold_tls, warm_tls = _cold_then_warm(meter, inventory)
                colds.append(cold)
                warms.append(warm)
                health = min(
                    (
                        meter.measure(lambda: refresh_health(inventory, snapshot))[0]
                        for _ in range(3)
                    ),
                    key=lambda cost: cost.wall,
                )
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
            near = _by_concurrency(state, profile, meter, 0)
            far = _by_concurrency(state, profile, meter, FAR_MS)
            containers = sum(len(e.containers) for e in snapshot.engines.values())
            nodes = len(snapshot.nodes)
            rows += [
                (
                    "large scenario",
                    f"{nodes} nodes, {len(snapshot.engines)} engines, "
                    f"{containers} containers, {len(snapshot.errors)} errors",
                ),
                ("cold full snapshot [<= 3 s, client CPU <= 2.5 s]", spread_figure(colds)),
                ("  requests per node, cold [~4]", f"{cold.requests / max(nodes, 1):.1f}"),
                ("  engine TLS handshakes, cold", _tls(*cold_tls)),
                ("warm full snapshot [<= 1 s]", spread_figure(warms)),
                ("  requests per node, warm", f"{warm.requests / max(nodes, 1):.1f}"),
                ("  engine TLS handshakes, warm", _tls(*warm_tls)),
                ("health-only poll, best of 3 [<= 0.2 s]", health.figure()),
                (
                    f"peak memory, this process ({FULL_ROUNDS} inventories)",
                    f"{peak_mb:.0f} MB",
                ),
                (
                    "cold snapshot by concurrency (engine connections 4x): wall (CPU)",
                    _concurrency_figure(near, True),
                ),
                (f"  the same, engines {FAR_MS} ms away, wall", _concurrency_figure(far, False)),
            ]
            check_wall, check_mb = _check(state, scenario.cluster_name)
            rows.append(
                (
                    "`sfpatch check`, wall and peak RSS [<= 150 MB]",
                    f"{check_wall:.2f} s, {check_mb:.0f} MB",
                )
            )
            rows += _peer(state, nodes, median_cost(colds).wall)
        finally:
            sim.terminate()
            sim.wait(timeout=30)
    return rows


def _cold_then_warm(
    meter: Meter, inventory: Any
) -> tuple[Cost, Cost, Any, tuple[int, int], tuple[int, int]]:
    """A fresh inventory's cold snapshot then a warm one: their costs, the last snapshot, and
    each one's (handshakes, resumed)."""
    from tui.cluster.inventory import gather

    stats = inventory.engine_cache.stats
    cold, _ = meter.measure(lambda: gather(inventory))
    cold_tls = (stats.handshakes, stats.resumed)
    warm, snapshot = meter.measure(lambda: gather(inventory))
    warm_tls = (stats.handshakes - cold_tls[0], stats.resumed - cold_tls[1])
    return cold, warm, snapshot, cold_tls, warm_tls


def _by_concurrency(
    state: Path, profile: Any, meter: Meter, delay_ms: int
) -> dict[int, list[Cost]]:
    """Cold snapshots at each of CONCURRENCY, ROUNDS times in turn, with every engine
    `delay_ms` away (the engine-slow fault, before each handshake and each answer; none at 0):
    what the number of reads in flight costs near a cluster and far from it. Measured after
    the peak memory figure, which it would change."""
    import requests

    from tui.cluster.inventory import connect, gather

    endpoints = json.loads((state / "endpoints.json").read_text())
    control, fabric = endpoints["control"]["endpoint"], endpoints["fabric"]
    fault = f"engine-slow:{delay_ms}"
    costs: dict[int, list[Cost]] = {c: [] for c in CONCURRENCY}
    with requests.Session() as session:
        session.cert, session.verify, session.trust_env = fabric["client_pem"], fabric["ca"], False
        if delay_ms:
            session.post(f"{control}/faults", json={"fault": fault}, timeout=30).raise_for_status()
        try:
            for _ in range(ROUNDS):
                for concurrency in CONCURRENCY:
                    settings = dataclasses.replace(profile.inventory, concurrency=concurrency)
                    reads = dataclasses.replace(profile, inventory=settings)
                    with connect(reads) as inventory:
                        costs[concurrency].append(meter.measure(lambda: gather(inventory))[0])
        finally:
            if delay_ms:
                session.delete(f"{control}/faults/{fault}", timeout=30)
    return costs


def _concurrency_figure(costs: dict[int, list[Cost]], cpu: bool) -> str:
    def one(cost: Cost) -> str:
        return f"{cost.wall:.2f} s ({cost.client_cpu:.2f} s CPU)" if cpu else f"{cost.wall:.2f} s"

    return "; ".join(f"{c}: {', '.join(one(cost) for cost in runs)}" for c, runs in costs.items())


def _tls(handshakes: int, resumed: int) -> str:
    return f"{handshakes:,} ({handshakes - resumed:,} full, {resumed:,} resumed)"


def _check(state: Path, cluster: str) -> tuple[float, float]:
    """`sfpatch check` against the running simulator: its wall time and peak RSS in MB."""
    sfpatch = Path(sys.executable).parent / "sfpatch"
    command = [str(sfpatch), "check", "--profile", cluster, "--config", str(state / "profile.toml")]
    wall, peak_mb, _ = run_for_peak(command)
    return wall, peak_mb


def _peer(state: Path, nodes: int, ours: float) -> list[tuple[str, str]]:
    """The same facts through sfctl (nodes, health) and the docker CLI (info, ps -a, inspect,
    images, image inspect) per node, PEER_PARALLEL at a time, on a sample of nodes."""
    docker = shutil.which("docker")
    venv_sfctl = Path(sys.executable).with_name("sfctl")
    sfctl = str(venv_sfctl) if venv_sfctl.exists() else shutil.which("sfctl")
    if docker is None or sfctl is None:
        return [("peer sweep (sfctl + docker CLI)", "skipped: no docker CLI or sfctl")]
    endpoints = json.loads((state / "endpoints.json").read_text())
    home = state / "peer-home"
    home.mkdir()
    f, d = endpoints["fabric"], endpoints["docker"]
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    sf_env = {**os.environ, **env, "REQUESTS_CA_BUNDLE": f["ca"]}
    sf_env.pop("CURL_CA_BUNDLE", None)

    def sf(*args: str) -> str:
        return _output([sfctl, *args], sf_env)

    start = time.perf_counter()
    sf("cluster", "select", "--endpoint", f["endpoint"], "--pem", f["client_pem"], "--ca", f["ca"])
    sf("node", "list")
    sf("cluster", "health")
    gateway = time.perf_counter() - start
    tls = ["--tlsverify", "--tlscacert", d["ca"], "--tlscert", d["client_cert"]]
    tls += ["--tlskey", d["client_key"]]

    def one_node(endpoint: str) -> None:
        base = [docker, "--host", endpoint, *tls]
        _output([*base, "info", "--format", "{{json .}}"], env)
        ids = _output([*base, "ps", "-a", "-q", "--no-trunc"], env).split()
        if ids:
            _output([*base, "inspect", *ids], env)
        images = _output([*base, "images", "-q", "--no-trunc"], env).split()
        if images:
            _output([*base, "image", "inspect", *images], env)

    sample = list(d["nodes"].values())[:PEER_SAMPLE]
    start = time.perf_counter()
    with ThreadPoolExecutor(PEER_PARALLEL) as pool:
        list(pool.map(one_node, sample))
    per_node = (time.perf_counter() - start) / len(sample)
    peer = gateway + per_node * nodes
    return [
        (
            f"peer sweep (sfctl + docker CLI, {PEER_PARALLEL} in parallel)",
            f"{peer:.0f} s, extrapolated from {len(sample)} of {nodes} nodes",
        ),
        ("  sfpatch cold snapshot (median) is faster by [>= 30x]", f"{peer / ours:.0f}x"),
    ]


def _output(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr.strip()[:200]}")
    return done.stdout


def _start_simulator(state: Path, speed: str = "0") -> subprocess.Popen[bytes]:
    """The simulator in its own process; its clock frozen unless `speed` says otherwise."""
    sfpatch = Path(sys.executable).parent / "sfpatch"
    command = [str(sfpatch), "sim", "--scenario", SCENARIO, "--state-dir", str(state)]
    sim = subprocess.Popen([*command, "--speed", speed], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT
    while not (state / "endpoints.json").exists():
        if sim.poll() is not None or time.monotonic() > deadline:
            sim.kill()
            raise RuntimeError(f"the simulator did not start (exit {sim.returncode})")
        time.sleep(0.1)
    return sim


if __name__ == "__main__":
    for label, figure in run():
        print(f"{label:<48} {figure}")
