"""How long `sfpatch run` takes to end after SIGTERM or SIGHUP, on a real pseudo-terminal.

The target is 2 s in every state. Measured against the simulator in this process (clock
frozen): a `large` session during its first poll, a `seed` session idle, and a `seed` session
mid-poll with every gateway call taking 4 s (the terminal closed with the SIGHUP).
"""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

GUARD = 120.0  # seconds; a run past this is reported as a hang


class _Console:
    def __init__(self, sim, directory: Path) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", "run", "--profile", sim.cluster.scenario.cluster_name]
            + ["--config", str(sim.profile_path), "--transcript-dir", str(directory)]
            + ["--poll", "3600"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            env={**os.environ, "TERM": "xterm-256color"},
        )
        os.close(slave)
        self.master: int | None = master
        self.output = b""
        self.directory = directory
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while self.master is not None:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.output += data

    def wait(self, done) -> None:
        deadline = time.monotonic() + GUARD
        while not done():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the console did not get there")
            time.sleep(0.05)

    def end(self, signum: int, close_terminal: bool) -> float:
        start = time.monotonic()
        self.proc.send_signal(signum)
        if close_terminal and self.master is not None:
            master, self.master = self.master, None
            os.close(master)
        try:
            self.proc.wait(timeout=GUARD)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return float("inf")
        return time.monotonic() - start

    def snapshots(self) -> int:
        return sum(
            p.read_text().count('"kind":"snapshot"') for p in self.directory.rglob("*.jsonl")
        )


def _measure(scenario: str, prepare, signum: int, close_terminal: bool) -> float:
    from tui.sim.scenario import load_scenario
    from tui.sim.server import SimServer

    with (
        tempfile.TemporaryDirectory(prefix="sfpatch-bench-") as tmp,
        SimServer(load_scenario(scenario), Path(tmp) / "sim", speed=0) as sim,
    ):
        console = _Console(sim, Path(tmp) / "transcripts")
        try:
            prepare(sim, console)
            return console.end(signum, close_terminal)
        finally:
            if console.proc.poll() is None:
                console.proc.kill()


def _first_poll_running(sim, console: _Console) -> None:
    console.wait(lambda: b"Waiting for the first poll" in console.output)


def _idle(sim, console: _Console) -> None:
    console.wait(lambda: console.snapshots() >= 1)


def _mid_poll_slow_gateway(sim, console: _Console) -> None:
    from tui.sim.faults import parse_fault

    _idle(sim, console)
    sim.cluster.faults.add(parse_fault("gateway-slow:4000"))
    before = _arm_reads(sim)
    os.write(console.master, b"r")
    console.wait(lambda: _arm_reads(sim) > before)  # the full poll has started


def _arm_reads(sim) -> int:
    log = (sim.state_dir / "requests.jsonl").read_text()
    return log.count('"protocol": "arm"')


def run() -> list[tuple[str, str]]:
    cases = [
        ("SIGTERM, large, in its first poll", "large", _first_poll_running, signal.SIGTERM, False),
        ("SIGTERM, seed, idle", "seed", _idle, signal.SIGTERM, False),
        ("SIGHUP + no terminal, seed, mid-poll, slow gateway", "seed", _mid_poll_slow_gateway)
        + (signal.SIGHUP, True),
    ]
    return [
        (f"{label}: signal to exit (target 2 s)", f"{_measure(*case):.2f} s")
        for label, *case in cases
    ]
