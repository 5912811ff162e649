"""Summarise a transcript's records into what an auditor reads: steps per node, gates, warnings.

Pure: takes records (dicts) in order and returns an Audit; rendering is in report.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tui.transcript import schema


@dataclass
class Step:
    """One intended action and how it ended (outcome "pending" if no result was recorded)."""

    op: str
    node: str
    action: str
    params: dict[str, Any]
    started: str
    ended: str = ""
    outcome: str = "pending"
    message: str = ""

    @property
    def seconds(self) -> int | None:
        if not self.ended:
            return None
        delta = schema.parse_ts(self.ended) - schema.parse_ts(self.started)
        return int(delta.total_seconds())


@dataclass(frozen=True)
class Event:
    """A gate, warning, confirmation, note, lease or resume, as one line of text."""

    seq: int
    ts: str
    kind: str
    node: str
    text: str
    failed: bool = False


@dataclass
class Audit:
    """Everything a report shows, gathered in one pass over the records."""

    header: dict[str, Any] = field(default_factory=dict)
    records: int = 0
    first_ts: str = ""
    last_ts: str = ""
    end_reason: str | None = None
    steps: list[Step] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    snapshots: int = 0

    def nodes(self) -> list[str]:
        """Nodes that any step or event names, in order of first appearance."""
        seen: dict[str, None] = {}
        for item in [*self.steps, *self.events]:
            if item.node:
                seen.setdefault(item.node, None)
        return list(seen)

    def timeline(self, node: str) -> list[Step | Event]:
        """A node's steps and events, in time order."""
        items: list[Step | Event] = [s for s in self.steps if s.node == node]
        items += [e for e in self.events if e.node == node]
        return sorted(items, key=lambda i: i.started if isinstance(i, Step) else i.ts)

    def of_kind(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    def pending(self) -> list[Step]:
        """Intents without a result: the cluster must be checked for these."""
        return [s for s in self.steps if s.outcome == "pending"]


def summarize(records: Iterable[dict[str, Any]]) -> Audit:
    """Build an Audit from records in file order."""
    audit = Audit()
    open_ops: dict[str, Step] = {}
    for rec in records:
        audit.records += 1
        kind, data, node = rec["kind"], rec.get("data") or {}, rec.get("node") or ""
        audit.first_ts = audit.first_ts or rec["ts"]
        audit.last_ts = rec["ts"]
        if kind == schema.START:
            audit.header = dict(data)
        elif kind == schema.END:
            audit.end_reason = str(data.get("reason", ""))
        elif kind == schema.SNAPSHOT:
            audit.snapshots += 1
        elif kind == schema.INTENT:
            params = {k: v for k, v in data.items() if k != "action"}
            step = Step(rec.get("op") or "", node, str(data.get("action", "?")), params, rec["ts"])
            audit.steps.append(step)
            open_ops[step.op] = step
        elif kind == schema.RESULT and rec.get("op") in open_ops:
            step = open_ops.pop(rec["op"])
            step.ended, step.outcome = rec["ts"], str(data.get("outcome", "?"))
            step.message = str(data.get("message", ""))
        elif kind in _DESCRIBE:
            text, failed = _DESCRIBE[kind](data)
            audit.events.append(Event(rec["seq"], rec["ts"], kind, node, text, failed))
    return audit


def _gate(d: dict) -> tuple[str, bool]:
    passed = bool(d.get("passed"))
    why = f": {d['why']}" if d.get("why") else ""
    return f"gate {d.get('gate', '?')} {'passed' if passed else 'FAILED'}{why}", not passed


def _warning(d: dict) -> tuple[str, bool]:
    rule = f"[{d['rule']}] " if d.get("rule") else ""
    return f"{d.get('severity', 'warning')}: {rule}{d.get('message', '')}", False


def _resume(d: dict) -> tuple[str, bool]:
    torn = d.get("torn")
    extra = f"; torn tail of {torn['bytes']} bytes set aside in {torn['file']}" if torn else ""
    who = f"{d.get('operator', '?')}@{d.get('host', '?')}"
    return f"session resumed by {who} after record {d.get('after_seq')}{extra}", bool(torn)


def _others(d: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(d.items()) if k != "action")


_DESCRIBE = {
    schema.GATE: _gate,
    schema.WARNING: _warning,
    schema.CONFIRM: lambda d: (str(d.get("what", "")), False),
    schema.NOTE: lambda d: (str(d.get("text", "")), False),
    schema.LEASE: lambda d: (f"lease {d.get('action', '?')} {_others(d)}".rstrip(), False),
    schema.RESUME: _resume,
}
