"""The runbook engine: its own CPU per step, and a headless run on the `large` scenario.

Engine overhead is the CPU of the thread that decides and records (time.thread_time around
each tick's step logic), on the seed scenario with the simulator in-process: the simulator's
threads and the cluster reads are not counted. The large run patches the first nodes of
upgrade domain 0 on a frozen clock the run moves itself (SFPATCH_BENCH_NODES, default 2). While
a node is stepped each read is of that node alone; the full read of 1,000 nodes between two
nodes costs seconds, so the whole upgrade domain of 100 nodes is extrapolated, not run.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.config import load_profile
from tui.runbook.clock import ScaledClock
from tui.runbook.engine import Engine, RunSettings
from tui.runbook.plan import PlanOptions
from tui.runbook.timing import timeouts_from_timing
from tui.session import open_session
from tui.sim.scenario import load_scenario
from tui.sim.server import SimServer

POLL = 60.0  # cluster seconds between reads


def _session(server: SimServer, root: Path, settings: RunSettings):
    profile = load_profile(server.cluster.scenario.cluster_name, server.profile_path)
    clock = ScaledClock(server.clock.now, 0, server.advance)
    return open_session(profile, transcript_dir=root, settings=settings, clock=clock)


def _requests(server: SimServer) -> int:
    return sum(1 for _ in (server.state_dir / "requests.jsonl").open())


def engine_overhead(root: Path) -> tuple[float, int]:
    """(CPU ms per step, steps) of the engine's own logic over the seed FrontEnd nodes."""
    scenario = load_scenario("seed")
    with SimServer(scenario, root / "sim", speed=0) as server:
        settings = RunSettings(timeouts=timeouts_from_timing(scenario.timing))
        session = _session(server, root / "t1", settings)
        engine = session.engine
        steps = []
        engine.on_event = steps.append
        cpu = 0.0
        advance = Engine._advance

        def timed(self, observation):
            nonlocal cpu
            started = time.thread_time()
            advance(self, observation)
            cpu += time.thread_time() - started

        engine._advance = timed.__get__(engine)  # measure in place, nothing else changes
        engine.plan_run(PlanOptions(node_types=("FrontEnd",)))
        report = engine.run(POLL)
        session.close("bench")
        if report.paused is not None:
            raise RuntimeError(report.paused.reason)
    return cpu * 1000 / max(1, len(steps)), len(steps)


@dataclass
class ReadMeter:
    """Wraps the engine's FetchSnapshot: the wall time and requests of each read, by scope."""

    fetch: Any
    server: SimServer
    seconds: dict[str, float] = field(default_factory=lambda: {"full": 0.0, "partial": 0.0})
    cpu: dict[str, float] = field(default_factory=lambda: {"full": 0.0, "partial": 0.0})
    served: dict[str, int] = field(default_factory=lambda: {"full": 0, "partial": 0})
    reads: dict[str, int] = field(default_factory=lambda: {"full": 0, "partial": 0})

    def __call__(self, previous, focus=None):
        before, started, cpu = _requests(self.server), time.perf_counter(), time.thread_time()
        snapshot = self.fetch(previous, focus)
        kind = "full" if snapshot.full else "partial"
        self.seconds[kind] += time.perf_counter() - started
        self.cpu[kind] += time.thread_time() - cpu
        self.served[kind] += _requests(self.server) - before
        self.reads[kind] += 1
        return snapshot


@dataclass(frozen=True)
class LargeRun:
    """A headless run over the first nodes of UD 0 of `large`, split into its kinds of read."""

    done: int
    steps: int
    wall: float
    cpu: float  # of the run's own thread (a one-node read is made there; a full one is not)
    served: int
    meter: ReadMeter
    first_full: tuple[float, int]  # the plan's full read: seconds, requests

    @property
    def beyond_full(self) -> int:
        """Requests of the run but its full reads: the stepped node's reads and the actions."""
        return self.served - self.meter.served["full"]


def large_first_nodes(root: Path, count: int) -> LargeRun:
    """Patch `count` nodes of UD 0 of `large` headless, the simulator's clock frozen."""
    scenario = load_scenario("large")
    with SimServer(scenario, root / "sim-large", speed=0) as server:
        settings = RunSettings(timeouts=timeouts_from_timing(scenario.timing))
        session = _session(server, root / "t2", settings)
        engine = session.engine
        before, started = _requests(server), time.perf_counter()
        engine.observe()
        first_full = (time.perf_counter() - started, _requests(server) - before)
        ud0 = sorted(n.name for n in engine.last.snapshot.nodes if n.upgrade_domain == "0")
        engine.plan_run(PlanOptions(nodes=tuple(ud0[:count])))
        meter = engine._fetch = ReadMeter(engine._fetch, server)  # measure in place
        steps: list = []
        engine.on_event = steps.append
        before, started, cpu = _requests(server), time.perf_counter(), time.thread_time()
        report = engine.run(POLL)
        wall, served = time.perf_counter() - started, _requests(server) - before
        cpu = time.thread_time() - cpu
        session.close("bench")
        if report.paused is not None:
            raise RuntimeError(report.paused.reason)
        done = sum(n.state == "done" for n in report.nodes)
    return LargeRun(done, len(steps), wall, cpu, served, meter, first_full)


def run() -> list[tuple[str, str]]:
    count = int(os.environ.get("SFPATCH_BENCH_NODES", "2"))
    with tempfile.TemporaryDirectory(prefix="sfpatch-bench-runbook-") as tmp:
        root = Path(tmp)
        per_step, steps = engine_overhead(root)
        large = large_first_nodes(root, count)
    meter, done = large.meter, max(1, large.done)
    stepping = large.wall - meter.seconds["full"]
    between = meter.reads["full"]  # full reads between nodes (the plan's is before the run)
    full_each = meter.seconds["full"] / between if between else large.first_full[0]
    return [
        ("engine CPU per step (seed FrontEnd, 5 nodes)", f"{per_step:.2f} ms over {steps} steps"),
        (
            "large: full read at the start (cold)",
            f"{large.first_full[0]:.1f} s wall, {large.first_full[1]:,} requests",
        ),
        (
            f"large, UD 0: first {large.done} node(s) headless, frozen clock",
            f"{large.wall / done:.1f} s wall per node, of it {stepping / done:.1f} s stepping "
            f"and {meter.seconds['full'] / done:.1f} s in {between} full read(s) between nodes",
        ),
        (
            "  stepping a node: CPU of the run's thread",
            f"{(large.cpu - meter.cpu['full']) / done:.1f} s, of it "
            f"{meter.cpu['partial'] / done:.1f} s in its one-node reads (the simulator runs "
            "in this process)",
        ),
        (
            "  requests per node beyond the full reads",
            f"{large.beyond_full / done:,.0f} ({large.beyond_full / max(1, large.steps):.1f} per "
            f"step, {meter.reads['partial'] / done:.0f} one-node reads per node)",
        ),
        (
            "  requests per node with the full reads",
            f"{large.served / done:,.0f}",
        ),
        (
            "large, UD 0 (100 nodes), extrapolated",
            f"~{(stepping / done + full_each) * 100 / 60:.0f} min wall "
            f"(a full read between nodes: {full_each:.1f} s)",
        ),
    ]
