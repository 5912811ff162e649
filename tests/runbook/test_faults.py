"""Each injected fault pauses the run with the right reason; nothing is left disabled unrecorded."""

from __future__ import annotations

import json

import pytest

from tests.runbook.conftest import POLL
from tui.runbook.plan import PlanOptions
from tui.sim.faults import parse_fault

NODE = "_FrontEnd_3"


def records(session) -> list[dict]:
    return [json.loads(x) for x in session.transcript_path.read_text().splitlines()]


def disabled_without_record(sim, session) -> list[str]:
    """Nodes the cluster shows deactivated whose disable the transcript has no intent and
    result for."""
    recorded = {r["node"] for r in records(session) if r["kind"] == "intent"}
    done = {r["node"] for r in records(session) if r["kind"] == "result"}
    out = [n.name for n in sim.cluster.nodes.values() if n.intent != "Invalid"]
    return [name for name in out if name not in recorded or name not in done]


@pytest.mark.parametrize(
    ("fault", "kind", "step", "words"),
    [
        (f"stuck-disabling:{NODE}", "timeout", "wait-disabled", "EnsureSeedNodeQuorum"),
        (f"no-return:{NODE}", "timeout", "wait-rebooted", "Down"),
        (f"health-degrade:{NODE}", "timeout", "settle", "cluster health is Error"),
        ("arm-fail:runCommand", "error", "patch", "InternalExecutionError"),
        (f"engine-down:{NODE}", "gate", "gates", "Docker engine was not read"),
    ],
)
def test_a_fault_pauses_with_its_reason(sim, open_engine, fault, kind, step, words):
    sim.cluster.faults.add(parse_fault(fault))
    session = open_engine()
    engine = session.engine
    engine.plan_run(PlanOptions(nodes=(NODE,)))
    report = engine.run(POLL)
    assert report.paused is not None and not report.finished
    assert report.paused.kind == kind
    assert words in report.paused.reason
    assert report.nodes[0].step == step
    assert disabled_without_record(sim, session) == []
    pauses = [r for r in records(session) if r["kind"] == "note" and "paused" in r["data"]["text"]]
    assert pauses and words in pauses[-1]["data"]["text"]  # the pause is in the transcript


def test_a_gateway_that_stops_answering_pauses_the_run(sim, open_engine):
    session = open_engine()
    engine = session.engine
    engine.plan_run(PlanOptions(nodes=(NODE,)))
    engine.tick()  # disabled, on its way
    sim.cluster.faults.add(parse_fault("gateway-flaky:1.0"))
    report = engine.run(POLL)
    assert report.paused is not None and report.paused.kind == "error"
    assert "could not be read" in report.paused.reason
    assert disabled_without_record(sim, session) == []


def test_a_flaky_gateway_still_finishes_or_pauses_with_a_reason(sim, open_engine):
    session = open_engine()
    sim.cluster.faults.add(parse_fault("gateway-flaky:0.3"))
    engine = session.engine
    engine.plan_run(PlanOptions(nodes=(NODE,)))
    report = engine.run(POLL)
    if report.paused is not None:
        assert report.paused.kind in ("error", "gate") and report.paused.reason
    else:
        assert report.nodes[0].state == "done"
    assert disabled_without_record(sim, session) == []
