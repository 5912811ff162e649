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
    seq: int = 0  # the intent's record number
    ended: str = ""
    outcome: str = "pending"
    message: str = ""
    stdout: str = ""  # the tail of what the action printed (a patch's Windows Update output)
    stderr: str = ""

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
    op: str = ""  # the step a gate or confirmation belongs to
    gate: str = ""  # a gate's name
    state: str = ""  # a gate's state: passed, failed or unknown (its inputs were not read)
    severity: str = ""  # a warning's severity


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
        """A node's steps and events except warnings, in record order: a step's gates and
        confirmation come before it, as they were written."""
        items: list[Step | Event] = [s for s in self.steps if s.node == node]
        items += [e for e in self.events if e.node == node and e.kind != schema.WARNING]
        return sorted(items, key=lambda i: i.seq)

    def of_kind(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    def step(self, op: str) -> Step | None:
        """The step an op id belongs to, if its intent was recorded."""
        return next((s for s in self.steps if op and s.op == op), None)

    def acted_on(self) -> list[str]:
        """Nodes with at least one step, in order of their first step."""
        return list(dict.fromkeys(s.node for s in self.steps if s.node))

    def actions(self, node: str) -> str:
        """A node's steps in order with outcomes, one line, e.g. `disable ok (over UNKNOWN gate
        containers-survive-patch), patch ok, enable ok (over failed gate containers-running)`."""
        parts = []
        for step in (s for s in self.steps if s.node == node):
            gates = [e for e in self.of_kind(schema.GATE) if e.op == step.op and e.failed]
            failed = [e.gate for e in gates if e.state != "unknown"]
            unknown = [e.gate for e in gates if e.state == "unknown"]
            overs = [
                f"over {label} gate{'s' if len(names) > 1 else ''} {', '.join(names)}"
                for label, names in (("failed", failed), ("UNKNOWN", unknown))
                if names
            ]
            over = f" ({'; '.join(overs)})" if overs else ""
            parts.append(f"{step.action} {step.outcome}{over}")
        return ", ".join(parts)

    def warnings_by_severity(self) -> list[tuple[str, list[Event]]]:
        """Each distinct warning once, grouped by severity, most severe first."""
        distinct: dict[tuple[str, str, str], Event] = {}
        for e in self.of_kind(schema.WARNING):
            distinct.setdefault((e.severity, e.node, e.text), e)
        groups: dict[str, list[Event]] = {}
        for e in distinct.values():
            groups.setdefault(e.severity, []).append(e)
        return sorted(groups.items(), key=lambda g: (_SEVERITY_RANK.get(g[0], 99), g[0]))

    def pending(self) -> list[Step]:
        """Intents without a result: the cluster must be checked for these."""
        return [s for s in self.steps if s.outcome == "pending"]


_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


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
            step = Step(
                rec.get("op") or "",
                node,
                str(data.get("action", "?")),
                params,
                rec["ts"],
                seq=rec["seq"],
            )
            audit.steps.append(step)
            open_ops[step.op] = step
        elif kind == schema.RESULT and rec.get("op") in open_ops:
            step = open_ops.pop(rec["op"])
            step.ended, step.outcome = rec["ts"], str(data.get("outcome", "?"))
            step.message = str(data.get("message", ""))
            step.stdout, step.stderr = str(data.get("stdout", "")), str(data.get("stderr", ""))
        elif kind in _DESCRIBE:
            text, failed = _DESCRIBE[kind](data)
            audit.events.append(
                Event(
                    rec["seq"],
                    rec["ts"],
                    kind,
                    node,
                    text,
                    failed,
                    op=rec.get("op") or "",
                    gate=str(data.get("gate", "")) if kind == schema.GATE else "",
                    state=gate_state(data) if kind == schema.GATE else "",
                    severity=str(data.get("severity") or "warning")
                    if kind == schema.WARNING
                    else "",
                )
            )
    return audit


def describe(kind: str, data: dict) -> str | None:
    """One line of text for a gate, warning, confirmation, note, lease or resume record."""
    fn = _DESCRIBE.get(kind)
    return fn(data)[0] if fn else None


def gate_state(d: dict) -> str:
    """A gate record's state; records from before UNKNOWN existed have only `passed`."""
    state = d.get("state")
    if state in ("failed", "unknown"):
        return str(state)
    return "passed" if d.get("passed") is True and state in (None, "passed") else "failed"


_GATE_LABELS = {"passed": "passed", "failed": "FAILED", "unknown": "UNKNOWN"}


def _gate(d: dict) -> tuple[str, bool]:
    state = gate_state(d)
    why = f": {d['why']}" if d.get("why") else ""
    return f"gate {d.get('gate', '?')} {_GATE_LABELS[state]}{why}", state != "passed"


def _warning(d: dict) -> tuple[str, bool]:
    rule = f"[{d['rule']}] " if d.get("rule") else ""
    return f"{rule}{d.get('message', '')}", False


def _confirm(d: dict) -> tuple[str, bool]:
    """What was agreed to, and how: the typed node name and the gates it went over."""
    how = []
    if "typed_node_name" in d:
        how.append("typed the node name" if d["typed_node_name"] else "did not type the node name")
    if d.get("overriding_gates"):
        how.append(f"overrode {', '.join(map(str, d['overriding_gates']))}")
    return str(d.get("what", "")) + (f" ({'; '.join(how)})" if how else ""), False


def _resume(d: dict) -> tuple[str, bool]:
    torn = d.get("torn")
    extra = f"; torn tail of {torn['bytes']} bytes set aside in {torn['file']}" if torn else ""
    moved, now = d.get("resumed_elsewhere"), d.get("gateway")
    if isinstance(moved, dict) and isinstance(now, dict):
        extra += f"; resumed elsewhere: gateway {_gateway(moved)} -> {_gateway(now)}"
    who = f"{d.get('operator', '?')}@{d.get('host', '?')}"
    text = f"session resumed by {who} after record {d.get('after_seq')}{extra}"
    return text, bool(torn) or isinstance(moved, dict)


def _gateway(g: dict) -> str:
    return f"{g.get('endpoint', '?')} (certificate {str(g.get('server_cert_sha256', ''))[:16]})"


def _others(d: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(d.items()) if k != "action")


_DESCRIBE = {
    schema.GATE: _gate,
    schema.WARNING: _warning,
    schema.CONFIRM: _confirm,
    schema.NOTE: lambda d: (str(d.get("text", "")), False),
    schema.LEASE: lambda d: (f"lease {d.get('action', '?')} {_others(d)}".rstrip(), False),
    schema.RESUME: _resume,
}
