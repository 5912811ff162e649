"""Findings for a snapshot as the engineer sees them: the rules plus what could not be read.

Shared by `sfpatch check` and the console so both judge a snapshot the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

from tui.model import ClusterSnapshot, Finding
from tui.winver import WindowsVersion

UNAVAILABLE = "inventory.source-unavailable"


def findings_for(
    snapshot: ClusterSnapshot, targets: Mapping[str, WindowsVersion] | None = None
) -> tuple[Finding, ...]:
    """Every finding, most severe first; `targets` are patch targets by node type."""
    from tui.cluster.inventory import node_patch_targets
    from tui.rules import evaluate, sort_findings

    by_node = node_patch_targets(snapshot.nodes, targets) if targets else None
    # The snapshot's own date, so a simulated cluster's staleness does not drift with real time.
    findings = evaluate(snapshot, patch_targets=by_node, today=snapshot.taken_at.date())
    return sort_findings(list(findings) + unavailable_findings(snapshot))


def unavailable_findings(snapshot: ClusterSnapshot) -> list[Finding]:
    """Each part of the snapshot that could not be read, as a warning: the rules did not see it."""
    return [
        Finding(
            rule_id=UNAVAILABLE,
            severity="warning",
            subject=e.subject or e.source,
            message=f"{e.source}: {e.message}",
            source=e.source,
            node=e.subject if e.subject.startswith("_") else None,
        )
        for e in snapshot.errors
    ]
