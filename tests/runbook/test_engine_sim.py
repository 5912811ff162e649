"""The engine against the simulator on its fast clock: the plan patched end to end."""

from __future__ import annotations

import dataclasses
import json

from tests.runbook.conftest import POLL
from tui.cli import main
from tui.config import load_profile
from tui.runbook.clock import ScaledClock
from tui.runbook.engine import RunSettings
from tui.runbook.plan import PlanOptions
from tui.runbook.timing import timeouts_from_timing
from tui.session import open_session

TARGET = "10.0.17763.6189"


def mutations(sim) -> list[tuple[str, str]]:
    """(method, path) of every request that is not a read, in the order served."""
    return [(r["method"], r["path"]) for r in requests(sim) if r["method"] != "GET"]


def out_of_service_overlaps(sim) -> list[str]:
    """Nodes deactivated while another was still deactivated (never activated since)."""
    out: set[str] = set()
    overlaps = []
    for _, path in mutations(sim):
        if path.startswith("/Nodes/"):
            node = path.split("/")[2]
            if "/$/Deactivate" in path:
                if out - {node}:
                    overlaps.append(f"{node} while {sorted(out)}")
                out.add(node)
            elif "/$/Activate" in path:
                out.discard(node)
    return overlaps


def test_frontend_patched_end_to_end_with_windows_update_one_node_out_at_a_time(sim, open_engine):
    session = open_engine()
    engine = session.engine
    plan = engine.plan_run(PlanOptions(node_types=("FrontEnd",)))
    assert [p.name for p in plan] == [f"_FrontEnd_{i}" for i in range(5)]
    report = engine.run(POLL)
    assert report.paused is None, report.paused
    assert [n.state for n in report.nodes] == ["done"] * 5
    for i in range(5):
        assert str(sim.cluster.nodes[f"_FrontEnd_{i}"].host_version) == TARGET
        assert sim.cluster.nodes[f"_FrontEnd_{i}"].status == "Up"
    assert out_of_service_overlaps(sim) == []
    deactivations = [p for _, p in mutations(sim) if "/$/Deactivate" in p]
    assert len(deactivations) == 5
    session.close("test done")
    assert main(["verify", str(session.transcript_path)]) == 0


def test_reimage_sets_the_model_then_upgrades_the_one_instance(sim, open_engine):
    session = open_engine()
    session.engine.plan_run(PlanOptions(nodes=("_FrontEnd_3",), strategy="reimage"))
    report = session.engine.run(POLL)
    assert report.paused is None, report.paused
    assert str(sim.cluster.nodes["_FrontEnd_3"].host_version) == TARGET
    arm = [p.split("?")[0].rsplit("/", 2)[-2:] for m, p in mutations(sim) if "Compute" in p]
    assert arm == [["virtualMachineScaleSets", "FrontEnd"], ["FrontEnd", "manualupgrade"]]
    assert str(sim.cluster.nodes["_FrontEnd_4"].host_version) == "10.0.17763.5576"  # untouched


def test_a_poller_slower_than_the_run_is_waited_for_not_outrun(sim, tmp_path):
    # The SDK's poller reads ARM every second of real time; the run moves the frozen clock a
    # minute per step, many steps a second. Unless the clock waits for the poller to read the
    # reimage's end, the patch step times out long before the poller has read it.
    profile = load_profile(sim.cluster.scenario.cluster_name, sim.profile_path)
    slow = dataclasses.replace(profile, arm=dataclasses.replace(profile.arm, poll_interval=1.0))
    timeouts = timeouts_from_timing(sim.cluster.scenario.timing)
    session = open_session(
        slow,
        transcript_dir=tmp_path / "transcripts",
        settings=RunSettings(timeouts=timeouts),
        clock=ScaledClock(sim.clock.now, 0, sim.advance),
    )
    try:
        session.engine.plan_run(PlanOptions(nodes=("_FrontEnd_3",), strategy="reimage"))
        report = session.engine.run(POLL)
        assert report.paused is None, report.paused
        assert str(sim.cluster.nodes["_FrontEnd_3"].host_version) == TARGET
    finally:
        session.close()


def test_manual_waits_for_the_engineer_to_patch_the_host(sim, open_engine):
    session = open_engine()
    engine = session.engine
    engine.plan_run(PlanOptions(nodes=("_FrontEnd_3",), strategy="manual"))
    for _ in range(20):
        report = engine.tick()
        if report.nodes[0].step == "wait-rebooted":
            break
        sim.clock.advance(POLL)
    assert "patched by hand" in report.nodes[0].waiting_for
    assert not [p for _, p in mutations(sim) if "Compute" in p]  # nothing sent to the VM
    target = sim.cluster.nodes["_FrontEnd_3"].patch_target
    sim.cluster.reboot_host("_FrontEnd_3", 0, target)  # the engineer, outside sfpatch
    report = engine.run(POLL)
    assert report.paused is None and report.nodes[0].state == "done"


def test_read_only_sends_zero_mutations(sim, open_engine):
    session = open_engine(read_only=True)
    session.engine.plan_run(PlanOptions())
    assert session.engine.plan and all(p.todo for p in session.engine.plan)
    assert mutations(sim) == []


def requests(sim) -> list[dict]:
    return [json.loads(x) for x in (sim.state_dir / "requests.jsonl").read_text().splitlines()]


def test_the_warnings_of_a_read_reach_the_transcript_in_one_write(sim, open_engine):
    session = open_engine()
    engine = session.engine
    syncs: list[int] = []
    real = engine.transcript._os_fsync
    engine.transcript._os_fsync = lambda fd: syncs.append(fd) or real(fd)
    observation = engine.observe()
    warned = {(f.rule_id, f.subject, f.node) for f in observation.findings}
    assert len(warned) > 10  # the seed cluster has plenty to warn of
    # The snapshot record, then every warning together: not one fsync per warning.
    assert len(syncs) <= 3, syncs
    session.close("test done")
    recorded = [
        json.loads(line)
        for line in session.transcript_path.read_text().splitlines()
        if '"kind":"warning"' in line
    ]
    assert len(recorded) == len(warned)
    assert main(["verify", str(session.transcript_path)]) == 0
