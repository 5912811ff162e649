"""Console figures on the `large` scenario, headless (Textual's run_test): time to the first
nodes on screen, CPU while idle (polls every 2 s, nothing changing), and the latency of a
cursor move (down-arrow, to the screen updated), median and p90.

The simulator runs in its own process with its clock frozen, so nothing changes between polls.
A headless screen is drawn as a terminal's would be, but not written to one: real terminals
add their own drawing time to the key latency.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench.inventory import SCENARIO, _start_simulator

POLL_SECONDS = 2.0
IDLE_SECONDS = 10.0
KEY_PRESSES = 40
FIRST_NODES_TIMEOUT = 300.0


def run() -> list[tuple[str, str]]:
    """Start the simulator and a read-only console on it; measure, then close both."""
    from tui.config import load_profile
    from tui.session import open_session
    from tui.sim.scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    with tempfile.TemporaryDirectory(prefix="sfpatch-bench-") as tmp:
        state = Path(tmp)
        sim = _start_simulator(state)
        try:
            profile = load_profile(scenario.cluster_name, state / "profile.toml")
            session = open_session(
                profile, transcript_dir=state / "t", poll_seconds=POLL_SECONDS, read_only=True
            )
            try:
                first, idle, keys = asyncio.run(_drive(session))
            finally:
                session.close()
        finally:
            sim.terminate()
            sim.wait(timeout=30)
    keys_ms = sorted(k * 1000 for k in keys)
    p90 = keys_ms[int(len(keys_ms) * 0.9) - 1]
    return [
        ("console: first nodes on screen [<= 1 s]", f"{first:.2f} s"),
        (
            f"console: CPU while idle, {IDLE_SECONDS:.0f} s of {POLL_SECONDS:.0f} s polls "
            "[<= 0.05 core]",
            f"{idle:.3f} core",
        ),
        (
            f"console: down-arrow to screen, {len(keys_ms)} presses [<= 50 / 100 ms]",
            f"median {statistics.median(keys_ms):.0f} ms, p90 {p90:.0f} ms",
        ),
    ]


async def _drive(session) -> tuple[float, float, list[float]]:  # type: ignore[no-untyped-def]
    from tui.app.app import SfpatchApp
    from tui.app.widgets.nodes_table import NodesTable

    app = SfpatchApp(session)
    start = time.perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(NodesTable)
        while not table.row_count:
            if time.perf_counter() - start > FIRST_NODES_TIMEOUT:
                raise RuntimeError("no node on screen")
            await pilot.pause(0.02)
        first = time.perf_counter() - start
        while app.polls_completed < 2:  # the full read done and one health poll after it
            await pilot.pause(0.1)
        cpu = time.process_time()
        await asyncio.sleep(IDLE_SECONDS)
        idle = (time.process_time() - cpu) / IDLE_SECONDS
        table.focus()
        await pilot.pause()
        keys = []
        for _ in range(KEY_PRESSES):
            pressed = time.perf_counter()
            await pilot.press("down")
            await pilot.pause()
            keys.append(time.perf_counter() - pressed)
    return first, idle, keys


if __name__ == "__main__":
    for label, figure in run():
        print(f"{label:<48} {figure}")
