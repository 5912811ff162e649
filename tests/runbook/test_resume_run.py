"""A headless run killed with SIGKILL mid-node, then `--resume`d: it finishes, sending nothing
twice."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys

from tests.runbook.conftest import POLL
from tests.runbook.test_engine_sim import mutations
from tui.runbook.plan import PlanOptions

NODE = "_FrontEnd_3"
LINE_TIMEOUT = 60.0  # real seconds to wait for the next line before failing (not a sleep)


def read_until(process: subprocess.Popen, words: str) -> str:
    """Lines of the child's stdout until one contains `words`."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    seen = []
    while True:
        if not selector.select(LINE_TIMEOUT):
            raise AssertionError(f"no {words!r} from the run; it said: {seen}")
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"the run ended before {words!r}: {seen}")
        seen.append(line)
        if words in line:
            return line


def test_sigkill_mid_node_then_resume_finishes(sim, open_engine, tmp_path):
    transcripts = tmp_path / "transcripts"
    command = [
        sys.executable, "-m", "tui.cli", "run", "--profile", sim.cluster.scenario.cluster_name,
        "--config", str(sim.profile_path), "--headless", "--yes", "--nodes", NODE,
        "--poll", "0.05", "--transcript-dir", str(transcripts),
    ]  # fmt: skip
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    try:
        read_until(child, "sent: disable")
        timing = sim.cluster.scenario.timing
        sim.clock.advance(timing.safety_checks + timing.replica_close)  # Disabled
        read_until(child, "sent: install Windows updates")
        os.kill(child.pid, signal.SIGKILL)  # mid-patch: Windows Update runs in the VM
    finally:
        child.kill()
        child.wait()
    (path,) = (transcripts / "contoso-prod").glob("*.jsonl")
    last = [json.loads(x) for x in path.read_text().splitlines()][-1]
    assert last["kind"] == "intent" and last["data"]["action"] == "patch"  # no result, no end

    session = open_engine(resume=path)
    engine = session.engine
    (planned,) = engine.plan_run(PlanOptions(nodes=(NODE,)))
    assert planned.entry == "wait-rebooted"  # the patch in flight is waited for, not resent
    report = engine.run(POLL)
    assert report.paused is None and report.nodes[0].state == "done"
    assert str(sim.cluster.nodes[NODE].host_version) == "10.0.17763.6189"
    runs = [p for _, p in mutations(sim) if "runCommand" in p]
    deactivations = [p for _, p in mutations(sim) if "/$/Deactivate" in p]
    assert len(runs) == 1 and len(deactivations) == 1
    notes = [json.loads(x) for x in path.read_text().splitlines()]
    assert any(
        r["kind"] == "note" and "reconciled after resume" in r["data"]["text"] for r in notes
    )


def test_sigterm_stops_after_the_current_wait_with_the_transcript_sealed(sim, tmp_path):
    transcripts = tmp_path / "transcripts"
    command = [
        sys.executable, "-m", "tui.cli", "run", "--profile", sim.cluster.scenario.cluster_name,
        "--config", str(sim.profile_path), "--headless", "--yes", "--nodes", NODE,
        "--poll", "0.05", "--transcript-dir", str(transcripts),
    ]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        read_until(child, "sent: disable")
        child.send_signal(signal.SIGTERM)
        timing = sim.cluster.scenario.timing
        sim.clock.advance(timing.safety_checks + timing.replica_close)  # the wait ends
        _, err = child.communicate(timeout=LINE_TIMEOUT)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == 3 and "stopped: SIGTERM" in err
    assert not [p for _, p in mutations(sim) if "runCommand" in p]  # nothing sent after it
    (path,) = (transcripts / "contoso-prod").glob("*.jsonl")
    end = [json.loads(x) for x in path.read_text().splitlines()][-2]
    assert end["kind"] == "end" and end["data"]["reason"].startswith("SIGTERM")
    assert "_FrontEnd_3 (Disabled)" in end["data"]["reason"]
