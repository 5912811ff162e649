"""Findings are worked out again only when what the rules read changed."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

import tui.rules
from tests.rules.seed import PATCH_TARGETS, SNAPSHOT
from tui.findings import CachedFindings, findings_for, same_rule_inputs
from tui.model import Health, Node
from tui.sim.server import SimServer


@pytest.fixture
def rule_runs(monkeypatch) -> list[int]:
    """One entry per run of the rules."""
    runs: list[int] = []
    evaluate = tui.rules.evaluate

    def counted(*args, **kwargs):
        runs.append(1)
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(tui.rules, "evaluate", counted)
    return runs


NODE = Node("_Legacy_0", "Legacy", "10.0.0.4", "0", "fd:/0", "Up", "Ok", True, "10.1", "1", "a")


def test_an_unchanged_poll_reuses_the_findings(rule_runs: list[int]) -> None:
    cached = CachedFindings()
    first = cached(replace(SNAPSHOT, nodes=(replace(NODE, uptime_seconds=60),)))
    later = replace(SNAPSHOT, taken_at=SNAPSHOT.taken_at + timedelta(seconds=2))
    assert cached(replace(later, nodes=(replace(NODE, uptime_seconds=62),))) is first
    assert len(rule_runs) == 1 and cached.evaluations == 1
    assert first == findings_for(replace(SNAPSHOT, nodes=(NODE,)))


@pytest.mark.parametrize(
    "change",
    [
        {"taken_at": SNAPSHOT.taken_at + timedelta(days=1)},  # staleness is judged by the day
        {"nodes": (NODE,)},
        {"nodes": (replace(NODE, status="Disabled"),)},
        {"health": Health(aggregated="Error")},
        {"engines": {n: e for n, e in SNAPSHOT.engines.items() if n != "_FrontEnd_2"}},
        {"scale_sets": SNAPSHOT.scale_sets[:1]},
        {"cluster_durability": {}},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_changed_input_runs_the_rules_again(change: dict, rule_runs: list[int]) -> None:
    cached = CachedFindings(PATCH_TARGETS)
    cached(SNAPSHOT)
    changed = replace(SNAPSHOT, **change)
    assert not same_rule_inputs(SNAPSHOT, changed)
    assert cached(changed) == findings_for(changed, PATCH_TARGETS)
    assert len(rule_runs) == 3  # twice by the cache, once by the comparison


def test_equal_parts_that_are_not_the_same_objects_count_as_unchanged() -> None:
    copy = replace(SNAPSHOT, engines=dict(SNAPSHOT.engines), scale_sets=tuple(SNAPSHOT.scale_sets))
    assert same_rule_inputs(SNAPSHOT, copy)


def test_after_an_equal_read_in_new_objects_the_polls_compare_with_that_read(monkeypatch):
    import tui.findings

    compared: list[int] = []
    same_nodes = tui.findings._same_nodes_but_uptimes
    monkeypatch.setattr(
        tui.findings,
        "_same_nodes_but_uptimes",
        lambda a, b: compared.append(1) or same_nodes(a, b),
    )
    cached = CachedFindings(PATCH_TARGETS)
    first = cached(replace(SNAPSHOT, nodes=(NODE,)))
    anew = replace(SNAPSHOT, nodes=(replace(NODE),))  # a full read: equal, in new objects
    assert cached(anew) is first and compared == [1]
    poll = replace(anew, taken_at=anew.taken_at + timedelta(seconds=2))  # its nodes kept
    assert cached(poll) is first and compared == [1]  # by identity, not node by node
    assert cached.evaluations == 1


def test_an_idle_session_does_not_run_the_rules_at_every_poll(
    sim: SimServer, tmp_path: Path, rule_runs: list[int]
) -> None:
    from tui.commands.demo import build_session

    session = build_session(sim, tmp_path / "t", "", poll=3600, read_only=True)
    try:
        first = session.engine.observe()
        for _ in range(3):
            sim.clock.advance(2)
            later = session.engine.observe()  # a health poll, nothing changed
            assert later.snapshot.taken_at > first.snapshot.taken_at
            assert later.findings == first.findings
    finally:
        session.close()
    assert len(rule_runs) == 1


@pytest.fixture
def judged(monkeypatch) -> list[str]:
    """The node name of each engine the rules judge."""
    names: list[str] = []
    judge = tui.rules.engine_rule_findings

    def counted(engine, *args):
        names.append(engine.node_name)
        return judge(engine, *args)

    monkeypatch.setattr(tui.rules, "engine_rule_findings", counted)
    return names


def test_only_the_engine_that_changed_is_judged_again(judged: list[str]) -> None:
    cached = CachedFindings(PATCH_TARGETS)
    cached(SNAPSHOT)
    assert sorted(judged) == sorted(SNAPSHOT.engines)
    judged.clear()
    engine = SNAPSHOT.engines["_Legacy_0"]
    stopped = replace(engine.containers[0], state="exited", exit_code=1)
    read = {**SNAPSHOT.engines, "_Legacy_0": replace(engine, containers=(stopped,))}
    changed = replace(SNAPSHOT, engines=read)
    assert cached(changed) == findings_for(changed, PATCH_TARGETS)
    assert judged[0] == "_Legacy_0" and len(judged) == 1 + len(SNAPSHOT.engines)  # 1 + fresh
    judged.clear()
    next_day = replace(changed, taken_at=changed.taken_at + timedelta(days=1))
    cached(next_day)
    assert sorted(judged) == sorted(SNAPSHOT.engines)  # staleness moves with the day


def test_a_node_whose_uptime_and_status_both_moved_is_a_change() -> None:
    before = replace(SNAPSHOT, nodes=(replace(NODE, uptime_seconds=60),))
    after = replace(SNAPSHOT, nodes=(replace(NODE, uptime_seconds=62, status="Disabled"),))
    assert not same_rule_inputs(before, after)
    assert same_rule_inputs(before, replace(after, nodes=(replace(NODE, uptime_seconds=5),)))
