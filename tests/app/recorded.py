"""A session transcript written the way a console session writes one, for replay and observe
tests: snapshots gathered from the simulator, then gates, a typed confirmation, intents, results
and a note. No mutation is sent to build it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tui.cluster.inventory import connect, gather
from tui.config import load_profile
from tui.findings import findings_for
from tui.transcript.snapshot import encode_snapshot
from tui.transcript.writer import SessionHeader, TranscriptWriter

NODE = "_FrontEnd_0"


def _with_status(snapshot, node: str, status: str):
    nodes = tuple(
        dataclasses.replace(n, status=status) if n.name == node else n for n in snapshot.nodes
    )
    return dataclasses.replace(snapshot, nodes=nodes)


def start(sim, directory: Path, key=None) -> tuple[TranscriptWriter, object, tuple]:
    """A transcript with its header and a first snapshot of the live (simulated) cluster."""
    profile = load_profile(sim.cluster.scenario.cluster_name, sim.profile_path)
    inventory = connect(profile, read_only=True)
    try:
        snapshot = gather(inventory)
    finally:
        inventory.close()
    findings = findings_for(snapshot, profile.patch_targets)
    header = SessionHeader(
        cluster=profile.name, endpoint=profile.gateway.endpoint, ticket="CHG-77", operator="alice"
    )
    writer = TranscriptWriter.create(header, directory=directory, key=key)
    writer.snapshot(encode_snapshot(snapshot, findings))
    for f in findings:
        writer.warning(f.message, rule=f.rule_id, severity=f.severity, node=f.node)
    return writer, snapshot, findings


def disable_steps(writer: TranscriptWriter, snapshot, findings, node: str = NODE) -> None:
    """Gates, a typed override, the disable intent and result, the node Disabled, a note."""
    writer.gate("seed-quorum", True, "4 of 5 seed nodes stay up", node=node)
    writer.gate("containers-survive-patch", False, "2016 images on a 2022 host", node=node)
    writer.confirm(
        f"disable {node}",
        node=node,
        typed_node_name=True,
        overriding_gates=["containers-survive-patch"],
    )
    op = writer.new_op()
    writer.intent(op, "disable", node=node, intent="Restart")
    writer.result(op, True, node=node)
    writer.snapshot(encode_snapshot(_with_status(snapshot, node, "Disabled"), findings))
    writer.note("patching by hand", node=node)


def enable_steps(writer: TranscriptWriter, snapshot, findings, node: str = NODE) -> None:
    op = writer.new_op()
    writer.intent(op, "enable", node=node)
    writer.result(op, False, "the gateway timed out", node=node)
    op = writer.new_op()
    writer.intent(op, "enable", node=node)
    writer.result(op, True, node=node)
    writer.snapshot(encode_snapshot(snapshot, findings))


def session_transcript(sim, directory: Path, key=None) -> Path:
    """A whole, closed session's transcript."""
    writer, snapshot, findings = start(sim, directory, key)
    disable_steps(writer, snapshot, findings)
    enable_steps(writer, snapshot, findings)
    writer.close("quit by the engineer")
    return writer.path
