"""The runbook engine: its own CPU per step, and a headless run on the `large` scenario.

Engine overhead is the CPU of the thread that decides and records (time.thread_time around
each tick's step logic), on the seed scenario with the simulator in-process: the simulator's
threads and the cluster reads are not counted. The large run patches the first nodes of
upgrade domain 0 on a frozen clock the run moves itself; wall time and requests per node are
measured on those nodes (SFPATCH_BENCH_NODES, default 2) because each full read of 1,000 nodes
costs seconds, which a whole upgrade domain of 100 nodes multiplies into half an hour.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

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
    clock = ScaledClock(server.clock.now, 0, server.clock.advance)
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


def large_first_nodes(root: Path, count: int) -> tuple[float, float, int]:
    """(wall s per node, requests per node, nodes) patching `count` nodes of UD 0 of `large`."""
    scenario = load_scenario("large")
    with SimServer(scenario, root / "sim-large", speed=0) as server:
        settings = RunSettings(timeouts=timeouts_from_timing(scenario.timing))
        session = _session(server, root / "t2", settings)
        engine = session.engine
        engine.observe()
        ud0 = sorted(n.name for n in engine.last.snapshot.nodes if n.upgrade_domain == "0")
        engine.plan_run(PlanOptions(nodes=tuple(ud0[:count])))
        before, started = _requests(server), time.perf_counter()
        report = engine.run(POLL)
        wall, served = time.perf_counter() - started, _requests(server) - before
        session.close("bench")
        if report.paused is not None:
            raise RuntimeError(report.paused.reason)
        done = sum(n.state == "done" for n in report.nodes)
    return wall / max(1, done), served / max(1, done), done


def run() -> list[tuple[str, str]]:
    count = int(os.environ.get("SFPATCH_BENCH_NODES", "2"))
    with tempfile.TemporaryDirectory(prefix="sfpatch-bench-runbook-") as tmp:
        root = Path(tmp)
        per_step, steps = engine_overhead(root)
        wall, requests, done = large_first_nodes(root, count)
    return [
        ("engine CPU per step (seed FrontEnd, 5 nodes)", f"{per_step:.2f} ms over {steps} steps"),
        (
            f"large, UD 0: first {done} node(s) headless, frozen clock",
            f"{wall:.1f} s wall and {requests:,.0f} requests per node",
        ),
        ("large, UD 0 (100 nodes), extrapolated", f"~{wall * 100 / 60:.0f} min wall"),
    ]
