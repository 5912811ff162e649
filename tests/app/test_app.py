"""The console driven through Textual's Pilot against the simulator (frozen clock)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.app.app import SfpatchApp
from tui.app.widgets.nodes_table import NodesTable
from tui.commands.demo import build_session

SIZE = (160, 48)


@pytest.fixture
def session(sim, tmp_path):
    # Polls are triggered by the tests (refresh), not by the timer.
    made = build_session(sim, tmp_path / "transcripts", "CHG-42", poll=3600)
    yield made
    made.close()


async def refresh(app: SfpatchApp, pilot) -> None:
    """Run one poll to completion; polls are never timed in tests."""
    before = app.polls_completed
    app.poll_now()
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if app.polls_completed > before:
            return
    raise AssertionError("poll did not finish")


async def confirm(app: SfpatchApp, pilot, node: str) -> None:
    """Say yes in the confirmation: `y`, or the node's name where the step is risky."""
    typed = app.screen.query("#confirm-name")
    if typed:
        typed.first().value = node
        await pilot.press("enter")
    else:
        await pilot.press("y")


def status_cell(app: SfpatchApp, node: str) -> str:
    return str(app.query_one(NodesTable).get_cell(node, "status"))


async def select(app: SfpatchApp, pilot, node: str) -> None:
    app.query_one(NodesTable).select_node(node)
    await pilot.pause()
    assert app.query_one(NodesTable).selected_node == node


def read_records(session) -> list[dict]:
    return [json.loads(line) for line in session.transcript_path.read_text().splitlines()]


async def disable_with_keys(app: SfpatchApp, pilot, sim, node: str) -> None:
    """Select the node, d, confirm, and let Service Fabric finish: the node ends Disabled."""
    timing = sim.cluster.scenario.timing
    await select(app, pilot, node)
    await pilot.press("d")
    await confirm(app, pilot, node)
    await refresh(app, pilot)
    sim.clock.advance(timing.safety_checks + timing.replica_close)
    await refresh(app, pilot)
    assert status_cell(app, node) == "Disabled"


def transcript_kinds(session) -> list[tuple[str, str | None]]:
    return [(r["kind"], r.get("node")) for r in read_records(session)]


async def test_disable_then_enable_a_node(sim, session):
    app = SfpatchApp(session)
    timing = sim.cluster.scenario.timing
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        assert app.query_one(NodesTable).row_count == 8
        await select(app, pilot, "_Legacy_0")

        await pilot.press("d")
        assert app.screen.__class__.__name__ == "ConfirmScreen"
        assert app.screen.query("#confirm-name")  # the patch will stop its containers
        await confirm(app, pilot, "_Legacy_0")
        await refresh(app, pilot)
        assert status_cell(app, "_Legacy_0") == "Disabling"

        sim.clock.advance(timing.safety_checks + timing.replica_close)
        await refresh(app, pilot)
        assert status_cell(app, "_Legacy_0") == "Disabled"

        await pilot.press("e")
        await confirm(app, pilot, "_Legacy_0")
        await refresh(app, pilot)
        assert status_cell(app, "_Legacy_0") == "Enabling"
        sim.clock.advance(timing.activate)
        await refresh(app, pilot)
        assert status_cell(app, "_Legacy_0") == "Up"

    kinds = transcript_kinds(session)
    assert ("intent", "_Legacy_0") in kinds and ("result", "_Legacy_0") in kinds
    warned = read_records(session)
    predicted = [
        r
        for r in warned
        if r["kind"] == "warning" and r["data"]["rule"] == "predict.patch-stops-containers"
    ]
    assert {r["node"] for r in predicted} == {"_Legacy_0", "_Legacy_1", "_Legacy_2"}  # once each
    intents = [k for k in kinds if k[0] in ("gate", "confirm", "intent", "result")]
    assert intents[:5] == [("gate", "_Legacy_0")] * 3 + [
        ("confirm", "_Legacy_0"),
        ("intent", "_Legacy_0"),
    ]


@pytest.mark.parametrize("key", ["n", "escape"])
async def test_cancel_sends_nothing(sim, session, key):
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await select(app, pilot, "_FrontEnd_2")
        await pilot.press("d")
        await pilot.press(key)
        await refresh(app, pilot)
        assert status_cell(app, "_FrontEnd_2") == "Up"
    assert sim.cluster.nodes["_FrontEnd_2"].intent == "Invalid"
    assert ("intent", "_FrontEnd_2") not in transcript_kinds(session)


async def test_enter_on_the_focused_cancel_button_does_not_disable(sim, session):
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await select(app, pilot, "_FrontEnd_2")
        await pilot.press("d")
        await pilot.press("enter")
        await pilot.pause()
    assert sim.cluster.nodes["_FrontEnd_2"].intent == "Invalid"


async def test_health_pane_shows_a_down_node(sim, session, fabric_client):
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        fabric_client.restart_node("_FrontEnd_4")
        await refresh(app, pilot)
        pane = str(app.query_one("#health").render())
        assert "Error" in pane and "_FrontEnd_4" in pane and "Fabric node is down" in pane
        assert status_cell(app, "_FrontEnd_4") == "Down"


async def test_help_lists_the_keys(session):
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "HelpScreen"
        text = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "disable the selected node" in text
        assert "type the node's name" in text and "next pane" in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.__class__.__name__ != "HelpScreen"


async def test_quit_closes_the_transcript(session):
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await pilot.press("q")
    session.close()
    assert transcript_kinds(session)[-1][0] == "checkpoint"
    assert ("end", None) in transcript_kinds(session)


async def test_containers_pane_shows_what_the_patch_would_break(sim, session):
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await select(app, pilot, "_Legacy_0")
        pane = app.query_one("#containers")
        assert pane.row_count == 3
        patched = [str(cell) for cell in pane.get_column("after")]
        assert patched == ["BLOCKED"] * 3
        await select(app, pilot, "_FrontEnd_2")
        images = [str(cell) for cell in pane.get_column("image")]
        assert "contoso/reports" in images
        table = app.query_one(NodesTable)
        assert str(table.get_cell("_Legacy_0", "host")) == "14393.1770"
        assert str(table.get_cell("_FrontEnd_4", "host")) == "17763.5576"


async def test_choosing_a_warning_selects_its_node(sim, session):
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        warnings = app.query_one("#warnings")
        first = warnings.findings[0]
        assert first.rule_id == "predict.patch-stops-containers"
        warnings.focus()
        warnings.move_cursor(row=0)
        await pilot.press("enter")
        await pilot.pause()
        assert app.query_one(NodesTable).selected_node == first.node
        assert "will stop 3 containers" in str(app.query_one("#finding-detail").render())


async def test_read_only_session_cannot_disable(sim, tmp_path):
    from tui.cluster.gateway import ReadOnlyGateway
    from tui.errors import ReadOnlyError

    read_only = build_session(sim, tmp_path / "t", "", poll=3600, read_only=True)
    assert isinstance(read_only.operator.gateway, ReadOnlyGateway)
    with pytest.raises(ReadOnlyError):
        read_only.operator.disable("_Legacy_0")
    app = SfpatchApp(read_only)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await select(app, pilot, "_Legacy_0")
        await pilot.press("d")
        await pilot.pause()
        assert app.screen.__class__.__name__ != "ConfirmScreen"
        assert "READ-ONLY" in str(app.query_one("#header-bar").render())
    assert sim.cluster.nodes["_Legacy_0"].intent == "Invalid"
    read_only.close()
    kinds = transcript_kinds(read_only)
    assert ("intent", "_Legacy_0") not in kinds and ("snapshot", None) in kinds
    header = read_records(read_only)[0]
    assert header["data"]["mode"] == "read-only"


async def test_a_read_only_session_takes_notes(sim, tmp_path):
    """Observers may annotate: a note goes to the transcript, never to the cluster."""
    read_only = build_session(sim, tmp_path / "t", "", poll=3600, read_only=True)
    app = SfpatchApp(read_only)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await select(app, pilot, "_Legacy_0")
        await pilot.press("n")
        await pilot.pause()
        app.screen.query_one("#note-text").value = "observer: UD0 looks slow"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
    read_only.close()
    records = read_records(read_only)
    assert records[0]["data"]["mode"] == "read-only"
    note = next(r for r in records if r["kind"] == "note")
    assert (note["node"], note["data"]["text"]) == ("_Legacy_0", "observer: UD0 looks slow")
    log = (sim.state_dir / "requests.jsonl").read_text().splitlines()
    assert {json.loads(line)["method"] for line in log} == {"GET"}


def test_run_with_an_unknown_profile_is_one_line(sim, capsys, terminal):
    from tui.cli import main

    code = main(["run", "--profile", "nope", "--config", str(sim.profile_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "nope" in err


def test_a_profiles_token_never_reaches_the_transcript(sim, tmp_path):
    import dataclasses

    from tui.config import load_profile
    from tui.session import open_session

    profile = load_profile(sim.cluster.scenario.cluster_name, sim.profile_path)
    token = "s3cr3t-static-token-0123456789"
    profile = dataclasses.replace(profile, arm=dataclasses.replace(profile.arm, token=token))
    session = open_session(profile, transcript_dir=tmp_path, ticket="CHG-7")
    session.operator.disable("_Legacy_2")
    session.operator.transcript.note(f"pasted by mistake: {token}")
    session.close()
    text = session.transcript_path.read_text()
    assert token not in text
    assert '"action":"disable"' in text


CRASHING_SESSION = """
import os, sys
from pathlib import Path
from tui.config import load_profile
from tui.session import open_session
profile = load_profile(sys.argv[1], Path(sys.argv[2]))
session = open_session(profile, transcript_dir=Path(sys.argv[3]), ticket="CHG-9")
t = session.operator.transcript
op = t.new_op()
t.intent(op, "disable", node="_Legacy_1", intent="Restart")
session.operator.gateway.disable_node("_Legacy_1")
print(t.path)
os._exit(0)  # the jump box dies before the result is written
"""


async def test_resume_after_a_crash_reconciles_with_the_cluster(sim, tmp_path):
    import subprocess
    import sys

    from tui.config import load_profile
    from tui.session import open_session
    from tui.transcript.reader import verify_file

    name = sim.cluster.scenario.cluster_name
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_SESSION, name, str(sim.profile_path), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    path = Path(crashed.stdout.strip())
    sim.clock.advance(60)
    profile = load_profile(name, sim.profile_path)
    session = open_session(profile, resume=path, poll_seconds=3600)
    assert session.engine.pending == [("disable", "_Legacy_1")]
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        assert session.engine.pending == []
    session.close()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    kinds = [r["kind"] for r in records]
    assert "resume" in kinds
    note = next(r for r in records if r["kind"] == "note")
    assert "the cluster shows _Legacy_1 Disabled" in note["data"]["text"]
    assert verify_file(path).exit_code == 0


def test_resume_refuses_another_clusters_transcript(sim, tmp_path):
    import dataclasses

    from tui.config import load_profile
    from tui.errors import UsageError
    from tui.session import open_session

    profile = load_profile(sim.cluster.scenario.cluster_name, sim.profile_path)
    first = open_session(profile, transcript_dir=tmp_path)
    first.close()
    other = dataclasses.replace(profile, name="fabrikam-prod")
    with pytest.raises(UsageError, match="contoso-prod"):
        open_session(other, resume=first.transcript_path)


def test_demo_command_opens_the_console_and_closes_the_transcript(
    monkeypatch, tmp_path, capsys, terminal
):
    from tui.app import app as app_module
    from tui.cli import main

    opened = []

    # The terminal part only; session, simulator and transcript are real.
    def fake_run(self, **kwargs):
        opened.append(self.session)

    monkeypatch.setattr(app_module.SfpatchApp, "run", fake_run)
    code = main(["demo", "--transcript-dir", str(tmp_path), "--ticket", "CHG-5"])
    assert code == 0
    [session] = opened
    assert session.cluster_name == "contoso-prod" and not session.read_only
    records = read_records(session)
    assert records[0]["data"]["ticket"] == "CHG-5"
    assert records[-1]["kind"] == "checkpoint" and records[-1]["data"]["final"] is True
    err = capsys.readouterr().err
    assert str(session.transcript_path) in err
    assert "closing the session" in err  # q is answered at once, before the lease and transcript


async def test_a_seed_node_needs_its_name_typed_and_gates_are_recorded(sim, session):
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await select(app, pilot, "_FrontEnd_1")
        await pilot.press("d")
        await pilot.press("y")  # one key is not enough for a seed node
        await pilot.pause()
        assert app.screen.__class__.__name__ == "ConfirmScreen"
        name = app.screen.query_one("#confirm-name")
        name.value = "_FrontEnd_9"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "ConfirmScreen"  # a wrong name does nothing
        name.value = "_FrontEnd_1"
        await pilot.press("enter")
        await refresh(app, pilot)
        assert status_cell(app, "_FrontEnd_1") == "Disabling"
    records = read_records(session)
    gates = [r for r in records if r["kind"] == "gate"]
    assert {g["data"]["gate"] for g in gates} == {
        "one-upgrade-domain",
        "seed-quorum",
        "cluster-health",
        "containers-survive-patch",
    }
    confirm = next(r for r in records if r["kind"] == "confirm")
    intent = next(r for r in records if r["kind"] == "intent")
    assert confirm["data"]["typed_node_name"] is True
    assert confirm["op"] == intent["op"] == gates[0]["op"]


async def test_enabling_a_node_whose_containers_broke_shows_the_failed_gate(sim, session):
    from tui.winver import parse_version

    timing = sim.cluster.scenario.timing
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await disable_with_keys(app, pilot, sim, "_Legacy_0")
        sim.cluster.reboot_host("_Legacy_0", 0, parse_version("10.0.14393.1944"))
        sim.clock.advance(timing.restart)
        session.after_action[0]()  # full inventory on the next poll
        await refresh(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        gates = str(app.screen.query_one("#confirm-gates").render())
        assert "FAIL" in gates and "containers-running" in gates and "0 of 3" not in gates
        assert "3 of 3 containers not running" in gates
        await pilot.press("escape")
    assert sim.cluster.nodes["_Legacy_0"].intent == "Restart"


async def test_a_note_goes_to_the_transcript(session):
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await select(app, pilot, "_FrontEnd_3")
        await pilot.press("n")
        await pilot.pause()
        app.screen.query_one("#note-text").value = "KB5041578 installed by hand"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
    records = read_records(session)
    note = next(r for r in records if r["kind"] == "note" and "KB5041578" in r["data"]["text"])
    assert note["node"] == "_FrontEnd_3"
    assert note["data"]["text"] == "KB5041578 installed by hand"


async def test_patch_a_disabled_node_through_run_command(sim, session):
    timing = sim.cluster.scenario.timing
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await select(app, pilot, "_Legacy_2")
        await pilot.press("p")  # not disabled yet: refused, nothing asked
        await pilot.pause()
        assert app.screen.__class__.__name__ != "ConfirmScreen"
        await disable_with_keys(app, pilot, sim, "_Legacy_2")
        await pilot.press("p")
        await pilot.pause()
        gates = str(app.screen.query_one("#confirm-gates").render())
        assert "FAIL" in gates and "will stop 2 containers" in gates
        await confirm(app, pilot, "_Legacy_2")
        await pilot.pause()
        detail = str(app.query_one("#node-detail").render())
        assert "PATCH RUNNING" in detail and "Windows Update through ARM Run Command" in detail
        await pilot.press("e")  # not while Windows Update runs on it
        await pilot.pause()
        assert app.screen.__class__.__name__ != "ConfirmScreen"
        # The run command installs updates, then the VM reboots; move the clock past both.
        for _ in range(50):
            await pilot.pause()
            sim.clock.advance(timing.install_updates + timing.restart + timing.arm_operation)
            if not app.workers._workers or all(
                w.is_finished for w in app.workers if w.group == "action"
            ):
                break
        await app.workers.wait_for_complete()
        await refresh(app, pilot)
        table = app.query_one(NodesTable)
        assert str(table.get_cell("_Legacy_2", "host")) == "14393.1944"
        assert str(table.get_cell("_Legacy_2", "containers")) == "0/2"
        # The outcome is unmistakable: Service Fabric says Ok, but no container runs.
        assert app.snapshot.node("_Legacy_2").health_state == "Ok"
        assert str(table.get_cell("_Legacy_2", "health")) == "Error"
        assert "NOT RUNNING" in str(app.query_one("#node-detail").render())
        told = [n for n in app._notifications if "_Legacy_2" in n.title]
        assert told[-1].severity == "error" and "CONTAINERS DOWN" in told[-1].title
        assert "2 of 2 containers not running" in told[-1].message
        assert not any(n.title.endswith(": done") for n in told)
    records = read_records(session)
    patch = next(r for r in records if r["kind"] == "intent" and r["data"]["action"] == "patch")
    result = next(r for r in records if r["kind"] == "result" and r["op"] == patch["op"])
    assert result["data"]["outcome"] == "ok"
    assert patch["data"]["scale_set"] == "Legacy" and patch["data"]["instance_id"] == "2"


async def test_quitting_with_a_node_out_of_service_asks_and_records_it(sim, session):
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await select(app, pilot, "_FrontEnd_3")
        await pilot.press("d")
        await confirm(app, pilot, "_FrontEnd_3")
        await refresh(app, pilot)
        await pilot.press("q")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "ConfirmScreen"  # not gone yet
        assert "_FrontEnd_3 (Disabling)" in str(app.screen.query_one("#confirm-details").render())
        await pilot.press("y")
        await pilot.pause()
    session.close(app.end_reason)
    records = read_records(session)
    end = next(r for r in records if r["kind"] == "end")
    assert end["data"]["reason"] == "quit by the engineer; nodes not Up: _FrontEnd_3 (Disabling)"


async def test_refresh_key_reads_the_engines_again(sim, session):
    from tui.sim.faults import parse_fault

    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        assert "_Legacy_1" in app.snapshot.engines
        sim.cluster.faults.add(parse_fault("engine-down:_Legacy_1"))
        await pilot.press("r")
        for _ in range(200):
            await app.workers.wait_for_complete()
            await pilot.pause()
            if "_Legacy_1" not in app.snapshot.engines:
                break
        assert "_Legacy_1" not in app.snapshot.engines  # a full re-read, not health only
        assert any(e.subject == "_Legacy_1" for e in app.snapshot.errors)


async def test_a_disable_over_an_unread_engine_shows_unknown_and_needs_the_name(sim, session):
    from tui.sim.faults import parse_fault

    sim.cluster.faults.add(parse_fault("engine-down:_Legacy_2"))
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        assert "_Legacy_2" not in app.snapshot.engines
        await select(app, pilot, "_Legacy_2")
        await pilot.press("d")
        await pilot.pause()
        gates = str(app.screen.query_one("#confirm-gates").render())
        assert "UNKNOWN containers-survive-patch" in " ".join(gates.split())
        assert "not read" in gates and "predicted to stop" not in gates
        await pilot.press("y")  # one key is not enough over a gate that could not be judged
        await pilot.pause()
        assert app.screen.__class__.__name__ == "ConfirmScreen"
        assert sim.cluster.nodes["_Legacy_2"].intent == "Invalid"
        await confirm(app, pilot, "_Legacy_2")
        await refresh(app, pilot)
        assert status_cell(app, "_Legacy_2") == "Disabling"
    records = read_records(session)
    gate = next(
        r
        for r in records
        if r["kind"] == "gate" and r["data"]["gate"] == "containers-survive-patch"
    )
    assert gate["data"]["state"] == "unknown" and gate["data"]["passed"] is False
    confirmed = next(r for r in records if r["kind"] == "confirm")
    assert confirmed["data"]["typed_node_name"] is True
    assert confirmed["data"]["overriding_gates"] == ["containers-survive-patch"]


@pytest.mark.parametrize("command", [["demo"], ["run", "--profile", "contoso-prod"]])
def test_the_console_into_a_pipe_is_refused_before_anything_starts(sim, capsys, command):
    from tui.cli import main

    code = main([*command, "--config", str(sim.profile_path)] if "run" in command else command)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "needs a terminal" in err and "--headless" in err
    assert "starting the simulated cluster" not in err and "connecting" not in err
