"""Controlling a run: step mode, pause and resume, skip, retry, abort, the window, overrides."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.runbook.conftest import POLL
from tui.leasing import LeaseError
from tui.runbook.plan import PlanOptions
from tui.runbook.window import Window
from tui.sim.faults import parse_fault

NODE = "_FrontEnd_3"


def records(session) -> list[dict]:
    return [json.loads(x) for x in session.transcript_path.read_text().splitlines()]


def notes(session) -> list[str]:
    return [r["data"]["text"] for r in records(session) if r["kind"] == "note"]


def test_step_mode_asks_before_each_action(sim, open_engine):
    session = open_engine(mode="step")
    engine = session.engine
    engine.plan_run(PlanOptions(nodes=(NODE,)))
    asked = []
    for _ in range(10):
        report = engine.run(POLL)
        if report.finished:
            break
        assert report.paused is not None and report.paused.kind == "confirm"
        asked.append(report.paused.reason)
        assert sim.cluster.nodes[NODE].intent == ("Invalid" if len(asked) == 1 else "Restart")
        engine.resume()
    assert [a.split("confirm to ", 1)[1].split()[0] for a in asked] == [
        "disable",
        "install",
        "enable",
    ]
    assert report.nodes[0].state == "done"


def test_pause_holds_everything_until_resume(sim, open_engine):
    session = open_engine()
    engine = session.engine
    engine.plan_run(PlanOptions(nodes=(NODE,)))
    engine.pause()
    report = engine.run(POLL)
    assert report.paused.kind == "engineer" and sim.cluster.nodes[NODE].intent == "Invalid"
    engine.resume()
    assert engine.run(POLL).nodes[0].state == "done"


def test_skip_moves_to_the_next_node_but_not_while_one_is_out(sim, open_engine):
    sim.cluster.faults.add(parse_fault("stuck-disabling:_FrontEnd_3"))
    session = open_engine()
    engine = session.engine
    engine.plan_run(PlanOptions(nodes=("_FrontEnd_3", "_FrontEnd_4")))
    report = engine.run(POLL)
    assert report.paused.kind == "timeout" and report.current == "_FrontEnd_3"
    assert "out of service" in engine.skip()  # it is Disabling: skipping would leave it so
    assert engine.abort().startswith("_FrontEnd_3 is out of service")  # a question, nothing done
    assert not engine.aborted


def test_abort_offers_to_enable_and_records_the_choice(sim, open_engine):
    sim.cluster.faults.add(parse_fault("stuck-disabling:_FrontEnd_3"))
    session = open_engine()
    engine = session.engine
    engine.plan_run(PlanOptions(nodes=(NODE,)))
    engine.run(POLL)
    assert "enable it before aborting?" in engine.abort()
    assert engine.abort(enable=True) == "" and engine.aborted
    assert sim.cluster.nodes[NODE].intent == "Invalid"  # enabled again
    assert any("chose to enable _FrontEnd_3" in n for n in notes(session))
    enables = [
        r for r in records(session) if r["kind"] == "intent" and r["data"]["action"] == "enable"
    ]
    assert len(enables) == 1


def test_abort_without_enable_leaves_it_and_says_so(sim, open_engine):
    sim.cluster.faults.add(parse_fault("stuck-disabling:_FrontEnd_3"))
    session = open_engine()
    engine = session.engine
    engine.plan_run(PlanOptions(nodes=(NODE,)))
    engine.run(POLL)
    engine.abort(enable=False)
    assert sim.cluster.nodes[NODE].intent == "Restart"
    assert any("chose NOT to enable _FrontEnd_3" in n for n in notes(session))


def test_retry_sends_a_failed_patch_again(sim, open_engine):
    sim.cluster.faults.add(parse_fault("arm-fail:runCommand"))
    session = open_engine()
    engine = session.engine
    engine.plan_run(PlanOptions(nodes=(NODE,)))
    assert engine.run(POLL).paused.kind == "error"
    sim.cluster.faults.clear()
    engine.retry()
    report = engine.run(POLL)
    assert report.paused is None and report.nodes[0].state == "done"
    patches = [
        r for r in records(session) if r["kind"] == "intent" and r["data"]["action"] == "patch"
    ]
    assert len(patches) == 2  # the failed one and the retry, each recorded


def test_a_node_that_cannot_finish_in_the_window_pauses_until_overridden(sim, open_engine):
    window = Window(sim.clock.now() + timedelta(minutes=5))
    session = open_engine(window=window, seed_estimate_seconds=1200.0)
    engine = session.engine
    engine.plan_run(PlanOptions(nodes=(NODE,)))
    report = engine.run(POLL)
    assert report.paused.kind == "window" and "cannot finish in the window" in report.paused.reason
    assert sim.cluster.nodes[NODE].intent == "Invalid"
    assert report.window_end == window.end and report.time_left == 300
    engine.override("change-window")
    report = engine.run(POLL)
    assert report.nodes[0].state == "done"
    confirm = [r["data"] for r in records(session) if r["kind"] == "confirm"]
    assert confirm[0]["overriding_gates"] == ["change-window"] and confirm[0]["typed_node_name"]


def test_the_estimate_comes_from_nodes_done(sim, open_engine):
    events = []
    session = open_engine(seed_estimate_seconds=5000.0, events=events)
    engine = session.engine
    engine.plan_run(PlanOptions(nodes=("_FrontEnd_3", "_FrontEnd_4")))
    assert engine.report().per_node_seconds == 5000.0
    engine.pause()
    engine.resume()
    for _ in range(200):
        report = engine.tick()
        if report.nodes[0].state == "done" or report.paused is not None:
            break
        sim.clock.advance(POLL)
    assert report.paused is None, report.paused
    (done,) = [e for e in events if e.step == "done"]
    assert report.per_node_seconds == done.seconds != 5000.0  # the node done, not the seed
    assert done.seconds > 600  # at least its disable, patch and settle
    assert report.eta is not None


def test_a_report_keeps_the_lines_of_nodes_that_did_not_move(sim, open_engine):
    # A report is made at every poll, of up to 1,000 nodes: an unchanged line is not made again.
    engine = open_engine(mode="step").engine
    engine.plan_run(PlanOptions(nodes=(NODE, "_FrontEnd_1")))
    first = engine.report()
    assert engine.report().nodes is first.nodes
    engine.run(POLL)  # _FrontEnd_1 (UD 1) first: asked to confirm its disable
    running = engine.report()
    assert [(n.state, n.step) for n in running.nodes] == [
        ("running", "disable"),
        ("pending", "gates"),
    ]
    assert running.nodes[1] is first.nodes[1]
    sim.clock.advance(5)
    later = engine.report()
    assert later.nodes[0].step_seconds == running.nodes[0].step_seconds + 5  # a running node moves
    assert later.nodes[1] is first.nodes[1]


def test_an_override_lets_the_legacy_trap_through_and_the_check_catches_the_stop(sim, open_engine):
    session = open_engine(overrides=frozenset({("containers-survive-patch", "_Legacy_2")}))
    engine = session.engine
    engine.plan_run(PlanOptions(nodes=("_Legacy_2",)))
    report = engine.run(POLL)
    assert report.paused.kind == "gate" and report.nodes[0].step == "check-containers"
    assert "failed to start on the patched host" in report.paused.reason
    confirms = [r["data"] for r in records(session) if r["kind"] == "confirm"]
    assert confirms[0]["confirmed_by"] == "--override containers-survive-patch:_Legacy_2"


def test_a_second_session_is_refused_by_the_lease(sim, open_engine):
    open_engine()
    with pytest.raises(LeaseError, match="leased by"):
        open_engine()
