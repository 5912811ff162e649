"""The compact form of a ClusterSnapshot and its findings in a `snapshot` record, and back.

Rows are lists under a column list, so a replay can redraw the screens from the transcript.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from tui.model import (
    FULL_SCOPE,
    HEALTH_SCOPE,
    NODE_SCOPE,
    ClusterSnapshot,
    DeactivationInfo,
    Finding,
    Health,
    HealthEvaluation,
    Node,
    SourceError,
)
from tui.transcript.schema import format_ts, parse_ts

NODE_COLUMNS = (
    "name",
    "node_type",
    "ip_address",
    "upgrade_domain",
    "fault_domain",
    "status",
    "health_state",
    "is_seed",
    "code_version",
    "instance_id",
    "node_id",
    "uptime_seconds",
    "deactivation_intent",
    "deactivation_status",
)
_NODE_WIDTH = len(NODE_COLUMNS)
# Rows can go to Node positionally while its first fields are the columns, in this order.
_POSITIONAL = tuple(f.name for f in fields(Node))[: _NODE_WIDTH - 2] == NODE_COLUMNS[:-2]
FINDING_COLUMNS = ("rule_id", "severity", "subject", "message", "source", "node")
EVALUATION_COLUMNS = ("kind", "health_state", "description", "node_name", "application")


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else format_ts(moment)


def encode_snapshot(snapshot: ClusterSnapshot, findings: Iterable[Finding] = ()) -> dict[str, Any]:
    """The data of a snapshot record: nodes, health and findings in columns and rows."""
    nodes = [
        [
            n.name,
            n.node_type,
            n.ip_address,
            n.upgrade_domain,
            n.fault_domain,
            n.status,
            n.health_state,
            n.is_seed,
            n.code_version,
            n.instance_id,
            n.node_id,
            n.uptime_as_of(snapshot.taken_at),
            n.deactivation.intent,
            n.deactivation.status,
        ]
        for n in snapshot.nodes
    ]
    health = snapshot.health
    return {
        "taken_at": _ts(snapshot.taken_at),
        "cluster": snapshot.cluster_name,
        "endpoint": snapshot.endpoint,
        "code_version": snapshot.code_version,
        "node_columns": list(NODE_COLUMNS),
        "nodes": nodes,
        "health": {
            "aggregated": health.aggregated,
            "evaluation_columns": list(EVALUATION_COLUMNS),
            "evaluations": [
                [getattr(e, c) for c in EVALUATION_COLUMNS] for e in health.evaluations
            ],
            "nodes": dict(health.node_states),
            "applications": dict(health.application_states),
        },
        "upgrade_domains": dict(snapshot.upgrade_domain_states),
        "finding_columns": list(FINDING_COLUMNS),
        "findings": [[getattr(f, c) for c in FINDING_COLUMNS] for f in findings],
        "errors": [[e.source, e.subject, e.message] for e in snapshot.errors],
        "read": _read_scope(snapshot),
    }


def _read_scope(snapshot: ClusterSnapshot) -> dict[str, Any]:
    """What this read covered, so that no partial read passes for a full one (model.ReadScope)."""
    if snapshot.full:
        return {"scope": FULL_SCOPE}
    scope: dict[str, Any] = {"scope": snapshot.scope, "rest_taken_at": _ts(snapshot.full_read_at)}
    if snapshot.scope_node:
        scope["node"] = snapshot.scope_node
    return scope


_NOT_DEACTIVATED = DeactivationInfo()


def _deactivation(intent: str, status: str) -> DeactivationInfo:
    """Most nodes are not deactivated: they share one (frozen) DeactivationInfo."""
    if intent == _NOT_DEACTIVATED.intent and status == _NOT_DEACTIVATED.status:
        return _NOT_DEACTIVATED
    return DeactivationInfo(intent, status)


def decode_snapshot(data: Mapping[str, Any]) -> tuple[ClusterSnapshot, tuple[Finding, ...]]:
    """Rebuild what a replay needs to redraw: the snapshot (nodes and health) and the findings."""
    columns = tuple(data.get("node_columns", NODE_COLUMNS))
    rows = data.get("nodes", [])
    if _POSITIONAL and columns == NODE_COLUMNS and all(len(row) == _NODE_WIDTH for row in rows):
        # The columns this build writes, in Node's own order: positional, no dict per row (a
        # replay decodes a 1,000-node snapshot on every seek).
        nodes = [Node(*row[:-2], deactivation=_deactivation(row[-2], row[-1])) for row in rows]
    else:
        nodes = []
        for row in rows:
            v = dict(zip(columns, row, strict=False))
            deact = DeactivationInfo(
                intent=v.pop("deactivation_intent", "Invalid"),
                status=v.pop("deactivation_status", "None"),
            )
            nodes.append(Node(**v, deactivation=deact))
    h = data.get("health", {})
    ecols = h.get("evaluation_columns", EVALUATION_COLUMNS)
    health = Health(
        aggregated=h.get("aggregated", "Unknown"),
        evaluations=tuple(
            HealthEvaluation(**dict(zip(ecols, r, strict=False))) for r in h.get("evaluations", [])
        ),
        node_states=dict(h.get("nodes", {})),
        application_states=dict(h.get("applications", {})),
    )
    fcols = data.get("finding_columns", FINDING_COLUMNS)
    findings = tuple(Finding(**dict(zip(fcols, r, strict=False))) for r in data.get("findings", []))
    snapshot = ClusterSnapshot(
        taken_at=parse_ts(data["taken_at"]),
        cluster_name=data.get("cluster", ""),
        endpoint=data.get("endpoint", ""),
        code_version=data.get("code_version", ""),
        nodes=tuple(nodes),
        health=health,
        upgrade_domain_states=dict(data.get("upgrade_domains", {})),
        errors=tuple(SourceError(*e) for e in data.get("errors", [])),
        **_decode_scope(data.get("read")),
    )
    return snapshot, findings


def uptimes_moved(snapshot: ClusterSnapshot, seconds: int) -> ClusterSnapshot:
    """The snapshot with each running node's uptime `seconds` later; the same object for 0.
    The seconds are those between two records' times, both the writer's clock: a snapshot's
    taken_at is the cluster's (a simulator's may run faster, or stand still).

    Sound between two snapshot records only: a node that restarts gets a new instance id or
    status, which the live session always records, so until the next record none did."""
    if seconds <= 0:
        return snapshot
    nodes = tuple(
        n if n.status == "Down" or n.uptime_seconds <= 0 else _uptime(n, n.uptime_seconds + seconds)
        for n in snapshot.nodes
    )
    return replace(snapshot, nodes=nodes)


def _uptime(node: Node, seconds: int) -> Node:
    """A copy of a (frozen) node with another uptime. Not dataclasses.replace, which runs
    __init__ again: measured, 8 times slower, and a replay seek moves 1,000 nodes."""
    moved = object.__new__(Node)
    vars(moved).update(vars(node), uptime_seconds=seconds)
    return moved


def _decode_scope(read: Any) -> dict[str, Any]:
    """The scope fields of a record's "read" (absent in older records: taken as full)."""
    if not isinstance(read, Mapping) or read.get("scope") not in (HEALTH_SCOPE, NODE_SCOPE):
        return {}
    rest = read.get("rest_taken_at")
    return {
        "scope": read["scope"],
        "scope_node": str(read.get("node") or ""),
        "full_taken_at": parse_ts(rest) if isinstance(rest, str) else None,
    }
