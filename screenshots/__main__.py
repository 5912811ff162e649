"""Drive the console on the seed scenario (frozen clock) and save its key screens.

SVGs come from Textual; PNGs from cairosvg, which needs libcairo2 and looks right with the
Fira Code font installed (Debian: fonts-firacode).
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from tui.app.app import SfpatchApp
from tui.commands.demo import build_session
from tui.sim.scenario import load_scenario
from tui.sim.server import SimServer
from tui.sources.observe import ObserveSource
from tui.sources.replay import ReplaySource
from tui.winver import parse_version

OUT = Path(__file__).parent
SIZE = (160, 48)


async def _refresh(app: SfpatchApp, pilot) -> None:
    before = app.polls_completed
    app.poll_now()
    while app.polls_completed == before:
        await app.workers.wait_for_complete()
        await pilot.pause()


async def _shots(sim: SimServer, transcripts: Path) -> list[Path]:
    session = build_session(sim, transcripts, "CHG-2026-1126", poll=3600)
    session.engine._fetch._inventory.now = sim.clock.now  # "read at" on the simulator's clock
    app = SfpatchApp(session)
    saved = []

    def shot(name: str) -> None:
        app.save_screenshot(f"{name}.svg", path=str(OUT))
        saved.append(OUT / f"{name}.svg")

    timing = sim.cluster.scenario.timing
    async with app.run_test(size=SIZE) as pilot:
        await _refresh(app, pilot)
        app.query_one("#nodes").move_cursor(row=1)  # _Legacy_0
        await pilot.pause()
        shot("main")
        await pilot.press("d")
        await pilot.pause()
        shot("confirm-disable")
        app.screen.query_one("#confirm-name").value = "_Legacy_0"  # a risky step: typed
        await pilot.press("enter")
        await _refresh(app, pilot)
        # What an observer following the transcript sees at this point (a copy, as it was).
        observed = transcripts / "observed.jsonl"
        shutil.copyfile(session.transcript_path, observed)
        sim.clock.advance(timing.safety_checks + timing.replica_close)
        # Patch the host the field way: Windows Update inside the VM, then a reboot.
        sim.cluster.reboot_host("_Legacy_0", 0, parse_version("10.0.14393.1944"))
        sim.clock.advance(timing.restart)
        app.session.after_action[0]()  # a full inventory, as after an action
        await _refresh(app, pilot)
        shot("after-patch")
        await pilot.press("question_mark")
        await pilot.pause()
        shot("help")
        await pilot.press("escape")
        await pilot.press("m")  # the UD x FD map, with _Legacy_0 patched and still Disabled
        await pilot.pause()
        shot("ud-map")
        await pilot.press("m", "slash", *"legacy", "enter")
        await pilot.pause()
        shot("filter")
        await pilot.press("escape", "ctrl+p")
        await pilot.pause()
        shot("palette")
    session.close()
    saved += await _viewer_shots(observed, session.transcript_path)
    return saved


async def _runbook_shot(sim: SimServer, transcripts: Path) -> list[Path]:
    """Operate mid-runbook: auto-advance over FrontEnd, the second node waiting to be Disabled,
    the warnings pane showing what the Legacy nodes' patch would break."""
    from tui.runbook.engine import RunSettings
    from tui.runbook.plan import PlanOptions
    from tui.runbook.timing import timeouts_from_timing
    from tui.runbook.window import Window

    timing = sim.cluster.scenario.timing
    settings = RunSettings(
        mode="auto",
        timeouts=timeouts_from_timing(timing),
        window=Window(sim.clock.now() + timedelta(hours=2)),
        seed_estimate_seconds=20 * 60,
    )
    session = build_session(sim, transcripts, "CHG-2026-1126", poll=3600, settings=settings)
    app = SfpatchApp(session, plan_options=PlanOptions(node_types=("FrontEnd",)))
    async with app.run_test(size=SIZE) as pilot:
        await _refresh(app, pilot)
        await pilot.press("space")
        await app.workers.wait_for_complete()
        for _ in range(200):
            await _refresh(app, pilot)
            report = app.main.state.runbook
            node = report.current_node
            if node is None:
                raise RuntimeError(f"the run ended before the shot: {report}")
            if node.name == "_FrontEnd_1" and node.step in ("disable", "wait-disabled"):
                break
            long_wait = "operation to end" in node.waiting_for
            sim.clock.advance(300 if long_wait else 30)
        app.query_one("#nodes").move_cursor(row=2)
        for _ in range(2):
            sim.clock.advance(8)
            await _refresh(app, pilot)
        await pilot.pause()
        app.save_screenshot("runbook.svg", path=str(OUT))
    session.close()
    return [OUT / "runbook.svg"]


async def _read_only_shot(sim: SimServer, transcripts: Path) -> list[Path]:
    """A read-only session: the badge, and no key that changes the cluster in the footer."""
    session = build_session(sim, transcripts, "", poll=3600, read_only=True)
    session.engine._fetch._inventory.now = sim.clock.now
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await _refresh(app, pilot)
        app.query_one("#nodes").move_cursor(row=1)  # _Legacy_0, its containers' verdicts
        await pilot.pause()
        app.save_screenshot("read-only.svg", path=str(OUT))
    session.close()
    return [OUT / "read-only.svg"]


async def _settle(app: SfpatchApp, pilot) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def _viewer_shots(observed: Path, finished: Path) -> list[Path]:
    """Observe (the transcript as it was mid-session) and replay (the whole session, stopped on
    the typed override of the disable)."""
    observe = SfpatchApp(source=ObserveSource(observed, poll_seconds=3600))
    async with observe.run_test(size=SIZE) as pilot:
        await _refresh(observe, pilot)
        observe.save_screenshot("observe.svg", path=str(OUT))
    source = ReplaySource(finished)
    replay = SfpatchApp(source=source)
    async with replay.run_test(size=SIZE) as pilot:
        await _refresh(replay, pilot)
        while source.record(source.position)["kind"] != "confirm":
            await pilot.press("f")
            await _settle(replay, pilot)
        replay.save_screenshot("replay.svg", path=str(OUT))
    return [OUT / "observe.svg", OUT / "replay.svg"]


def main() -> int:
    with (
        tempfile.TemporaryDirectory(prefix="sfpatch-shots-") as tmp,
        SimServer(load_scenario("seed"), Path(tmp) / "sim", speed=0) as sim,
    ):
        svgs = asyncio.run(_shots(sim, Path(tmp) / "transcripts"))
    with (
        tempfile.TemporaryDirectory(prefix="sfpatch-shots-") as tmp,
        SimServer(load_scenario("seed"), Path(tmp) / "sim", speed=0) as sim,
    ):
        svgs += asyncio.run(_runbook_shot(sim, Path(tmp) / "transcripts"))
        svgs += asyncio.run(_read_only_shot(sim, Path(tmp) / "transcripts"))
    try:
        import cairosvg
    except (ImportError, OSError) as exc:
        print(f"SVGs written; no PNGs ({exc})", file=sys.stderr)
        return 0
    for svg in svgs:
        png = svg.with_suffix(".png")
        cairosvg.svg2png(url=str(svg), write_to=str(png), output_width=1600)
        print(f"wrote {png.relative_to(Path.cwd()) if png.is_relative_to(Path.cwd()) else png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
