"""The operator sends nothing over a gate that did not pass unless the node's name was typed."""

from __future__ import annotations

import json

import pytest

from tui.config import load_profile
from tui.errors import GateFailed
from tui.runbook.steps import Question, ask
from tui.session import open_session
from tui.sim.faults import parse_fault


def test_an_unknown_gate_without_the_typed_name_sends_and_records_nothing(sim, tmp_path):
    profile = load_profile(sim.cluster.scenario.cluster_name, sim.profile_path)
    sim.cluster.faults.add(parse_fault("engine-down:_Legacy_2"))
    session = open_session(profile, transcript_dir=tmp_path)
    try:
        asked = ask(
            "disable",
            session.engine.observe().snapshot,
            "_Legacy_2",
            profile.patch_targets["Legacy"],
        )
        assert isinstance(asked, Question) and asked.risky
        with pytest.raises(GateFailed, match="containers-survive-patch"):
            session.operator.disable("_Legacy_2", gates=asked.gates, typed=False)
        assert sim.cluster.nodes["_Legacy_2"].intent == "Invalid"
        records = [json.loads(x) for x in session.transcript_path.read_text().splitlines()]
        assert not [r for r in records if r["kind"] in ("gate", "confirm", "intent")]
        session.operator.disable("_Legacy_2", gates=asked.gates, typed=True)
        assert sim.cluster.nodes["_Legacy_2"].intent == "Restart"
    finally:
        session.close()
