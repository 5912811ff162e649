"""The runbook pane: the console drives the engine's plan through Pilot (frozen clock)."""

from __future__ import annotations

import json

import pytest

from tests.app.test_app import SIZE, confirm, read_records, refresh
from tui.app.app import SfpatchApp
from tui.cli import main
from tui.commands.demo import build_session
from tui.runbook.engine import RunSettings
from tui.runbook.plan import PlanOptions
from tui.runbook.timing import timeouts_from_timing

TARGET = "10.0.17763.6189"
FRONTEND = tuple(f"_FrontEnd_{i}" for i in range(5))
STEP = 30.0  # simulated seconds between polls (Windows Update: ten times that)
RUN_KEYS = {"space", "a", "s", "x", "R", "o"}


def open_app(sim, tmp_path, read_only=False, mode="step", **plan) -> SfpatchApp:
    settings = RunSettings(
        mode=mode, settle_seconds=30, timeouts=timeouts_from_timing(sim.cluster.scenario.timing)
    )
    session = build_session(
        sim, tmp_path / "transcripts", "CHG-9", poll=3600, read_only=read_only, settings=settings
    )
    return SfpatchApp(session, plan_options=PlanOptions(**plan))


def pane(app: SfpatchApp) -> str:
    return "\n".join(str(part.render()) for part in app.query_one("#runbook").query("Static"))


def footer_keys(app: SfpatchApp) -> set[str]:
    return {key for key, active in app.screen.active_bindings.items() if active.enabled}


async def press(app: SfpatchApp, pilot, key: str) -> None:
    """A key, then its runbook control and the poll after it, to completion."""
    await pilot.press(key)
    for _ in range(5):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def run_until(app, pilot, sim, done, limit=200) -> None:
    """Poll, moving the simulated clock between polls, until `done(report)`; the long wait for
    Windows Update takes bigger steps."""
    for _ in range(limit):
        await refresh(app, pilot)
        report = app.main.state.runbook
        if done(report):
            return
        current = report.current_node
        long_wait = current is not None and "operation to end" in current.waiting_for
        sim.clock.advance(STEP * 10 if long_wait else STEP)
    raise AssertionError(f"the run did not get there: {app.main.state.runbook}")


def notes(session) -> list[str]:
    return [r["data"]["text"] for r in read_records(session) if r["kind"] == "note"]


def requests(sim) -> list[dict]:
    log = (sim.state_dir / "requests.jsonl").read_text().splitlines()
    return [json.loads(line) for line in log]


async def test_auto_advance_patches_the_frontend_nodes_to_done(sim, tmp_path):
    app = open_app(sim, tmp_path, node_types=("FrontEnd",))
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        assert "PLANNED" in pane(app) and "space starts the run" in pane(app)
        assert [n.name for n in app.main.state.runbook.nodes] == list(FRONTEND)
        assert {"space", "a"} <= footer_keys(app) and not {"s", "x", "R"} & footer_keys(app)
        await press(app, pilot, "a")
        assert app.main.state.runbook.mode == "auto" and "auto-advance" in pane(app)
        await press(app, pilot, "space")
        assert app.live.started
        assert {"space", "s", "x"} <= footer_keys(app)
        assert not {"d", "p", "e"} & footer_keys(app)  # the run alone acts while it moves

        seen_waits: set[str] = set()

        def finished(report) -> bool:
            current = report.current_node
            if current is not None and current.waiting_for:
                seen_waits.add(current.waiting_for.split(" (")[0])
            return report.finished

        await run_until(app, pilot, sim, finished)
        report = app.main.state.runbook
        assert [n.state for n in report.nodes] == ["done"] * 5
        assert "DONE" in pane(app) and "5/5 done" in pane(app)
        assert not RUN_KEYS & footer_keys(app)  # nothing left to control
    # Every wait showed what it waited for. (The host revision is read with the node that
    # comes back, so check-host passes on the read that ends the reboot wait.)
    assert {"Disabled", "Up and healthy for 30 s"} <= seen_waits
    assert any(w.startswith("the windows-update operation to end") for w in seen_waits)
    for name in FRONTEND:
        assert str(sim.cluster.nodes[name].host_version) == TARGET
        assert sim.cluster.nodes[name].status == "Up"
    session = app.session
    assert "runbook: started by the engineer" in notes(session)
    assert "runbook: mode auto" in notes(session)
    session.close("test done")
    assert main(["verify", str(session.transcript_path)]) == 0


async def test_step_mode_confirms_each_step_typing_a_seed_nodes_name(sim, tmp_path):
    app = open_app(sim, tmp_path, nodes=("_FrontEnd_0",))
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await press(app, pilot, "space")
        await refresh(app, pilot)
        assert app.main.state.runbook.paused.kind == "confirm"
        assert app.screen.__class__.__name__ == "ConfirmScreen"
        assert app.screen.focused.id == "confirm-name"  # a seed node: its name is typed
        await pilot.press("escape")  # Cancel: still paused, nothing sent
        await refresh(app, pilot)
        assert app.screen.__class__.__name__ == "MainScreen"
        assert sim.cluster.nodes["_FrontEnd_0"].intent == "Invalid"
        assert "PAUSED (confirm)" in pane(app) and "confirm (space)" in pane(app)
        await press(app, pilot, "space")  # asks again
        assert app.screen.__class__.__name__ == "ConfirmScreen"
        await confirm(app, pilot, "_FrontEnd_0")
        await press(app, pilot, "r")
        await refresh(app, pilot)
        report = app.main.state.runbook
        assert report.paused is None and report.current_node.step == "wait-disabled"
        assert "waiting for: Disabled" in pane(app)
    assert sim.cluster.nodes["_FrontEnd_0"].intent == "Restart"
    app.session.close()


async def test_skip_then_pause_and_resume(sim, tmp_path):
    app = open_app(sim, tmp_path, nodes=("_FrontEnd_3", "_FrontEnd_4"))
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await press(app, pilot, "space")
        assert app.screen.__class__.__name__ == "ConfirmScreen"  # step mode: disable _FrontEnd_3?
        await pilot.press("n")
        await press(app, pilot, "s")  # skip it while it is still Up
        report = app.main.state.runbook
        assert report.nodes[0].state == "skipped" and report.current == "_FrontEnd_4"
        assert sim.cluster.nodes["_FrontEnd_3"].intent == "Invalid"
        await refresh(app, pilot)
        assert app.screen.__class__.__name__ == "ConfirmScreen"  # now for _FrontEnd_4
        await pilot.press("y")
        await press(app, pilot, "a")  # auto-advance from here
        await refresh(app, pilot)
        assert app.main.state.runbook.current_node.step == "wait-disabled"

        await press(app, pilot, "space")  # pause: nothing further is sent
        assert app.main.state.runbook.paused.kind == "engineer"
        assert "paused by the engineer" in pane(app) and "resume (space)" in pane(app)
        assert "R" not in footer_keys(app) and {"space", "x"} <= footer_keys(app)
        for _ in range(2):
            sim.clock.advance(STEP)
            await refresh(app, pilot)
        assert sim.cluster.nodes["_FrontEnd_4"].status == "Disabled"
        assert app.main.state.runbook.current_node.step == "wait-disabled"
        assert not [r for r in requests(sim) if "runCommand" in r["path"]]
        await press(app, pilot, "s")  # out of service: refused, said why
        assert app.main.state.runbook.current == "_FrontEnd_4"
        await press(app, pilot, "space")  # resume
        await refresh(app, pilot)
        assert app.main.state.runbook.paused is None
        assert [r for r in requests(sim) if "runCommand" in r["path"]]  # the patch went
    texts = notes(app.session)
    assert "runbook: skipped by the engineer" in texts
    assert "runbook: resumed after engineer" in texts
    app.session.close()


@pytest.mark.parametrize("choice", ["enable", "leave"])
async def test_abort_with_a_node_out_offers_to_enable_it(sim, tmp_path, choice):
    app = open_app(sim, tmp_path, mode="auto", nodes=("_FrontEnd_4",))
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await press(app, pilot, "space")
        await run_until(app, pilot, sim, lambda r: r.out_of_service)
        await pilot.press("x")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "AbortScreen"
        assert app.screen.focused.id == "cancel"
        await pilot.press("enter")  # Cancel is focused: the run goes on
        await pilot.pause()
        assert app.screen.__class__.__name__ == "MainScreen"
        assert not app.main.state.runbook.finished
        await pilot.press("x")
        await pilot.pause()
        await pilot.click(f"#{choice}")
        for _ in range(5):
            await app.workers.wait_for_complete()
            await pilot.pause()
        sim.clock.advance(STEP)
        await refresh(app, pilot)
        assert "ABORTED" in pane(app)
        assert not RUN_KEYS & footer_keys(app)
    chosen = "to enable" if choice == "enable" else "NOT to enable"
    assert f"runbook: abort; the engineer chose {chosen} _FrontEnd_4" in notes(app.session)
    activations = [r for r in requests(sim) if "/$/Activate" in r["path"]]
    assert len(activations) == (1 if choice == "enable" else 0)
    app.session.close()


async def test_read_only_shows_the_plan_and_hides_every_runbook_key(sim, tmp_path):
    app = open_app(sim, tmp_path, read_only=True, node_types=("FrontEnd",))
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        assert "PLANNED" in pane(app) and "_FrontEnd_4" in pane(app)
        assert "read-only" in pane(app)
        assert not (RUN_KEYS | {"d", "p", "e"}) & footer_keys(app)
        for key in ("a", "space", "s", "x", "R"):
            await press(app, pilot, key)
        assert not app.live.started and app.screen.__class__.__name__ == "MainScreen"
        assert app.main.state.runbook.mode == "step"
    app.session.close()
    assert {r["method"] for r in requests(sim)} == {"GET"}


async def test_plan_options_the_cluster_lacks_end_the_console(sim, tmp_path):
    app = open_app(sim, tmp_path, nodes=("_Nope_9",))
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(2000):  # the first poll, in its worker; then the app ends itself
            if app.end_reason != "session ended":
                break
            await pilot.pause()
    assert "no node _Nope_9 in this cluster" in app.plan_error
    assert "plan options do not fit" in app.end_reason
    app.session.close(app.end_reason)
    assert not [r for r in requests(sim) if "Deactivate" in r["path"]]


async def test_the_legacy_trap_pauses_and_an_override_is_typed_and_recorded(sim, tmp_path):
    app = open_app(sim, tmp_path, mode="auto", nodes=("_Legacy_0",))
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await press(app, pilot, "space")
        await refresh(app, pilot)
        report = app.main.state.runbook
        assert report.paused.kind == "gate" and "Hyper-V isolation" in report.paused.reason
        assert "containers-survive-patch" in pane(app) and "override (o)" in pane(app)
        assert {"o", "R", "s", "x"} <= footer_keys(app)
        assert sim.cluster.nodes["_Legacy_0"].intent == "Invalid"
        await pilot.press("o")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "ConfirmScreen"
        assert app.screen.query("#confirm-name")  # typed, never one key
        await confirm(app, pilot, "_Legacy_0")
        for _ in range(5):
            await app.workers.wait_for_complete()
            await pilot.pause()
        await refresh(app, pilot)
        assert app.main.state.runbook.paused is None
    assert sim.cluster.nodes["_Legacy_0"].intent == "Restart"
    records = read_records(app.session)
    [override] = [r for r in records if r["kind"] == "confirm" and "override" in str(r["data"])]
    assert override["node"] == "_Legacy_0"
    assert "containers-survive-patch" in json.dumps(override["data"])
    app.session.close()
