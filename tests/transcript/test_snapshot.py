"""Snapshots round-trip through a transcript record, so replay can redraw the screens."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tui.model import (
    ClusterSnapshot,
    DeactivationInfo,
    Finding,
    Health,
    HealthEvaluation,
    Node,
    SourceError,
)
from tui.transcript.reader import TranscriptReader
from tui.transcript.snapshot import decode_snapshot, encode_snapshot
from tui.transcript.writer import TranscriptWriter

from .conftest import header


def sample() -> tuple[ClusterSnapshot, tuple[Finding, ...]]:
    nodes = tuple(
        Node(
            name=f"_FE_{i}",
            node_type="FE",
            ip_address=f"10.0.0.{i}",
            upgrade_domain=str(i),
            fault_domain=f"fd:/{i}",
            status="Disabled" if i == 1 else "Up",
            health_state="Ok",
            is_seed=i < 2,
            code_version="10.1.2",
            instance_id=str(100 + i),
            node_id=f"id{i}",
            uptime_seconds=3600 * i,
            deactivation=DeactivationInfo("Restart", "Completed") if i == 1 else DeactivationInfo(),
        )
        for i in range(3)
    )
    health = Health(
        "Warning",
        (HealthEvaluation("Node", "Warning", "disabled", "_FE_1"),),
        {"_FE_1": "Warning"},
        {"fabric:/App": "Ok"},
    )
    snap = ClusterSnapshot(
        datetime(2025, 1, 14, 9, 30, tzinfo=UTC),
        "contoso-prod",
        "https://e",
        "10.1.2",
        nodes,
        health,
        {"0": "Completed"},
        errors=(SourceError("docker", "_FE_2", "timeout"),),
    )
    findings = (Finding("compat.host", "error", "_FE_0", "ltsc2019 on 2022", "docker", "_FE_0"),)
    return snap, findings


def test_snapshot_round_trip_through_the_transcript(tmp_path: Path) -> None:
    snap, findings = sample()
    writer = TranscriptWriter.create(header(), tmp_path)
    writer.snapshot(encode_snapshot(snap, findings))
    writer.note("after")
    writer.close()
    record = TranscriptReader(writer.path).snapshot_before(2)
    assert record is not None and record["kind"] == "snapshot"
    back, back_findings = decode_snapshot(record["data"])
    assert back.nodes == snap.nodes and back.health == snap.health
    assert back.taken_at == snap.taken_at and back.errors == snap.errors
    assert back.upgrade_domain_states == snap.upgrade_domain_states
    assert back_findings == findings


def test_a_node_kept_since_an_earlier_read_is_recorded_with_its_uptime_at_the_snapshot():
    snap, findings = sample()
    read_at = snap.taken_at - timedelta(seconds=90)
    aged = tuple(replace(n, uptime_at=read_at) for n in snap.nodes)
    data = encode_snapshot(replace(snap, nodes=aged), findings)
    column = data["node_columns"].index("uptime_seconds")
    # Node 0 has no uptime (it stays 0); the others are 90 s older than when they were read.
    assert [row[column] for row in data["nodes"]] == [0, 3600 + 90, 7200 + 90]
    decoded, _ = decode_snapshot(data)
    assert [n.uptime_as_of(decoded.taken_at) for n in decoded.nodes] == [0, 3690, 7290]
