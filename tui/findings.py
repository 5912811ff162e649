"""Findings for a snapshot as the engineer sees them: the rules plus what could not be read.

Shared by `sfpatch check` and the console so both judge a snapshot the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, MutableMapping
from dataclasses import fields

from tui.model import ClusterSnapshot, Finding, Node
from tui.winver import WindowsVersion

UNAVAILABLE = "inventory.source-unavailable"


def findings_for(
    snapshot: ClusterSnapshot,
    targets: Mapping[str, WindowsVersion] | None = None,
    by_engine: MutableMapping | None = None,
) -> tuple[Finding, ...]:
    """Every finding, most severe first; `targets` are patch targets by node type.
    `by_engine` keeps each engine's findings for the next call (see tui.rules.evaluate)."""
    from tui.cluster.inventory import node_patch_targets
    from tui.rules import evaluate, sort_findings

    by_node = node_patch_targets(snapshot.nodes, targets) if targets else None
    # The snapshot's own date, so a simulated cluster's staleness does not drift with real time.
    findings = evaluate(
        snapshot, patch_targets=by_node, today=snapshot.taken_at.date(), by_engine=by_engine
    )
    return sort_findings(list(findings) + unavailable_findings(snapshot))


class CachedFindings:
    """`findings_for` with fixed targets, run again only when the rules' inputs changed: a
    health poll that finds the cluster as it was (the usual idle case) costs a comparison.

    The inputs are every field of the snapshot but the moment it was taken, of which only the
    date counts (staleness is judged by the day), and the nodes' uptimes, which move at every
    poll and which no rule reads. A part carried over unchanged from the last
    snapshot (an engine map, the scale sets) is the same object, so comparing it is free.
    When they did change, only the engines that changed are judged again: a read of one
    node costs that node's rules, not every engine's."""

    def __init__(self, targets: Mapping[str, WindowsVersion] | None = None) -> None:
        self._targets = targets
        self._lock = threading.Lock()
        self._last: tuple[ClusterSnapshot, tuple[Finding, ...]] | None = None
        self._by_engine: dict = {}
        self.evaluations = 0

    def __call__(self, snapshot: ClusterSnapshot) -> tuple[Finding, ...]:
        with self._lock:
            last = self._last
        if last is not None and same_rule_inputs(last[0], snapshot):
            with self._lock:
                # Compared with this one next: a warm full read brings equal engines in new
                # objects, which would be compared value by value at every poll after it.
                if self._last is last:
                    self._last = (snapshot, last[1])
            return last[1]
        with self._lock:  # one evaluation at a time: they share the per-engine findings
            findings = findings_for(snapshot, self._targets, self._by_engine)
            self._last = (snapshot, findings)
            self.evaluations += 1
        return findings


def same_rule_inputs(a: ClusterSnapshot, b: ClusterSnapshot) -> bool:
    """Whether the rules would see the same inputs in `a` and `b` (see CachedFindings)."""
    if a is b:
        return True
    if a.taken_at.date() != b.taken_at.date():
        return False
    for f in fields(ClusterSnapshot):
        if f.name in _NOT_RULE_INPUTS:
            continue
        left, right = getattr(a, f.name), getattr(b, f.name)
        if left is right:
            continue
        if f.name == "nodes":
            if not _same_nodes_but_uptimes(left, right):
                return False
        elif left != right:
            return False
    return True


# When and how much was read: the rules judge what was read, not that.
_NOT_RULE_INPUTS = frozenset({"taken_at", "scope", "scope_node", "full_taken_at"})


def _same_nodes_but_uptimes(a: tuple[Node, ...], b: tuple[Node, ...]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x is y or x == y:
            continue
        if (x.uptime_seconds, x.uptime_at) == (y.uptime_seconds, y.uptime_at):
            return False  # something else differs
        # Field by field, without building a Node for each (replace() costs far more).
        aside = {"uptime_seconds": 0, "uptime_at": None}
        if {**vars(x), **aside} != {**vars(y), **aside}:
            return False
    return True


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
