"""What the engine reads while it steps a node: that node's VM and engine, with the nodes and
cluster health, never every engine; full reads at the start and between nodes. Counted from
the simulator's requests.jsonl (seed: several nodes in each of the first upgrade domains)."""

from __future__ import annotations

import json

from tests.runbook.conftest import POLL
from tests.runbook.test_engine_sim import requests
from tui.runbook.plan import PlanOptions
from tui.sim.faults import parse_fault

FIRST, SECOND = "_FrontEnd_1", "_FrontEnd_2"  # UD 1 and UD 2, each with a Legacy node too


def engines_read(served: list[dict]) -> set[str]:
    return {r["node"] for r in served if r["protocol"] == "docker" and "node" in r}


def index_of(served: list[dict], method: str, fragment: str) -> int:
    return next(i for i, r in enumerate(served) if r["method"] == method and fragment in r["path"])


def snapshot_reads(session) -> list[dict]:
    lines = session.transcript_path.read_text().splitlines()
    return [r["data"]["read"] for r in map(json.loads, lines) if r["kind"] == "snapshot"]


def test_a_stepped_node_is_read_alone_between_the_full_reads(sim, open_engine):
    session = open_engine()
    engine = session.engine
    engine.plan_run(PlanOptions(nodes=(FIRST,)))
    assert len(sim.cluster.nodes) == len(engines_read(requests(sim)))  # the plan's full read
    mark = len(requests(sim))
    report = engine.run(POLL)
    assert report.paused is None and report.nodes[0].state == "done", report.paused
    served = requests(sim)[mark:]
    assert engines_read(served) == {FIRST}
    vms = [
        r["path"].split("?")[0].rsplit("/virtualMachines", 1)[-1]
        for r in served
        if r["method"] == "GET" and "/virtualMachines" in r["path"]
    ]
    assert vms and set(vms) == {"/1"}  # its VM, never the scale set's list
    node_lists = [
        r for r in served if r["protocol"] == "fabric" and r["path"].startswith("/Nodes?")
    ]
    reads = len(node_lists)  # one node list per read
    docker = [r for r in served if r["protocol"] == "docker"]
    print(f"{reads} reads, {len(served)} requests, {len(docker)} of them to its engine")
    assert reads > 5 and len(docker) <= 4 * reads  # a refresh of one engine, not eight


def test_the_next_node_starts_on_a_full_read_taken_after_the_last_one_is_done(sim, open_engine):
    session = open_engine()
    engine = session.engine
    engine.plan_run(PlanOptions(nodes=(FIRST, SECOND)))
    mark = len(requests(sim))
    report = engine.run(POLL)
    assert report.paused is None and [n.state for n in report.nodes] == ["done", "done"]
    served = requests(sim)[mark:]
    first_enabled = index_of(served, "POST", f"/Nodes/{FIRST}/$/Activate")
    second_disabled = index_of(served, "POST", f"/Nodes/{SECOND}/$/Deactivate")
    assert engines_read(served[:first_enabled]) == {FIRST}
    assert engines_read(served[first_enabled:second_disabled]) == set(sim.cluster.nodes)
    assert engines_read(served[second_disabled:]) == {SECOND}
    reads = snapshot_reads(session)
    assert reads[0] == {"scope": "full"}
    partial = [r for r in reads if r["scope"] != "full"]
    assert partial and {r.get("node") for r in partial} <= {FIRST, SECOND, None}
    assert all(r["rest_taken_at"] for r in partial)  # never passed off as a full read


def test_an_engine_gone_mid_node_stops_the_node_before_it_is_enabled(sim, open_engine):
    """Its engine answered at the gates; after the reboot it does not: nothing about its host
    or containers is taken from the earlier read, so the run waits and pauses, never enables."""
    session = open_engine()
    engine = session.engine
    engine.plan_run(PlanOptions(nodes=(FIRST,)))
    for _ in range(30):
        report = engine.tick()
        if report.nodes[0].step == "patch" and report.nodes[0].waiting_for:
            break  # the patch is sent and runs
        sim.clock.advance(POLL)
    assert report.nodes[0].step == "patch", report.nodes[0]
    sim.cluster.faults.add(parse_fault(f"engine-down:{FIRST}"))
    report = engine.run(POLL)
    assert report.paused is not None and report.paused.kind == "timeout"
    assert report.nodes[0].step in ("check-host", "check-containers")
    assert not [r for r in requests(sim) if r["path"].startswith(f"/Nodes/{FIRST}/$/Activate")]
    assert session.engine.last.snapshot.unread("docker", FIRST)
