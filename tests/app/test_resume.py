"""The console after a resume: what the crashed session left running is shown and respected."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tui.app.app import SfpatchApp
from tui.config import load_profile
from tui.session import open_session

from .test_app import SIZE, read_records, refresh, select

# Disables _Legacy_1, starts its patch (Windows Update through Run Command), and dies before
# the patch's result is written: the jump box went away in the middle of the change window.
CRASHING_PATCH = """
import os, sys
from pathlib import Path
from tui.config import load_profile
from tui.runbook.actions import PATCH_SCRIPT
from tui.session import open_session
profile = load_profile(sys.argv[1], Path(sys.argv[2]))
session = open_session(profile, transcript_dir=Path(sys.argv[3]), ticket="CHG-11")
operator = session.operator
operator.disable("_Legacy_1")
t = operator.transcript
op = t.new_op()
t.intent(op, "patch", node="_Legacy_1", method="windows-update", scale_set="Legacy",
         instance_id="1")
operator.gateway.run_powershell("Legacy", "1", PATCH_SCRIPT)
print(t.path, flush=True)
os._exit(0)
"""


def notices(app: SfpatchApp) -> list[str]:
    return [n.message for n in app._notifications]


async def test_a_patch_still_running_after_a_crash_is_shown_and_p_waits_for_it(sim, tmp_path):
    name = sim.cluster.scenario.cluster_name
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_PATCH, name, str(sim.profile_path), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    path = Path(crashed.stdout.strip())
    timing = sim.cluster.scenario.timing
    sim.clock.advance(timing.safety_checks + timing.replica_close)  # Disabled; Windows Update runs
    assert timing.safety_checks + timing.replica_close < timing.install_updates

    session = open_session(load_profile(name, sim.profile_path), resume=path, poll_seconds=3600)
    assert session.engine.pending == [("patch", "_Legacy_1")]
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        [reconciled] = [n for n in notices(app) if "before the crash" in n]
        assert "ARM reports a Run Command still in progress on its VM Legacy/1" in reconciled
        assert "p is refused until it ends" in reconciled
        await select(app, pilot, "_Legacy_1")
        assert "a Run Command in progress" in str(app.query_one("#node-detail").render())

        await pilot.press("p")
        await pilot.pause()
        assert app.screen.__class__.__name__ != "ConfirmScreen"
        assert any(
            n.startswith("ARM reports a Run Command still in progress") for n in notices(app)
        )

        sim.clock.advance(timing.install_updates + timing.restart)  # the patch ends, VM back
        await pilot.press("r")
        await refresh(app, pilot)
        await pilot.press("p")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "ConfirmScreen"  # asked again, now it may run
        await pilot.press("escape")
        await pilot.pause()
    session.close()
    [note] = [
        r
        for r in read_records(session)
        if r["kind"] == "note" and "reconciled" in r["data"]["text"]
    ]
    assert "ARM reports a Run Command still in progress" in note["data"]["text"]


async def test_a_torn_tail_set_aside_on_resume_is_shown_on_screen(sim, tmp_path):
    from tests.test_session_resume import crashed_session

    profile = load_profile(sim.cluster.scenario.cluster_name, sim.profile_path)
    path = crashed_session(profile, tmp_path)
    with open(path, "ab") as handle:
        handle.write(b'{"data":{"action":"ena')
    session = open_session(profile, resume=path, poll_seconds=3600)
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert any("torn" in n and f"{path.name}.torn" in n for n in notices(app))
    session.close()
