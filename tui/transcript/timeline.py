"""What a replay needs of a transcript, gathered while it is verified: an offset index, each
record's time, and the records an auditor jumps to (node steps; gates, overrides, failures).

Memory grows by a few bytes per record (arrays of numbers), never by the records themselves.
Pure: no I/O, no Textual.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tui.transcript import schema
from tui.transcript.reader import TranscriptIndex

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ts_ms(ts: str) -> int:
    """A record's `ts` in ms since the epoch (0 if it is not a time)."""
    try:
        return int((schema.parse_ts(ts) - _EPOCH).total_seconds() * 1000)
    except ValueError:
        return 0


def is_finding(record: dict) -> bool:
    """A record an auditor pauses on: a gate, a warning, a typed or overriding confirmation,
    an action that did not succeed, a resume after a crash."""
    kind, data = record["kind"], record["data"]
    if kind in (schema.GATE, schema.WARNING, schema.RESUME):
        return True
    if kind == schema.CONFIRM:
        return bool(data.get("typed_node_name") or data.get("overriding_gates"))
    return kind == schema.RESULT and data.get("outcome") != "ok"


@dataclass
class Timeline:
    """Marks of a transcript's records, added in order as they are verified: the offset index,
    the time of each indexed record, node steps and the auditor's stops."""

    index: TranscriptIndex = field(default_factory=TranscriptIndex)
    block_ts_ms: array = field(default_factory=lambda: array("q"))  # each block's first time
    steps: array = field(default_factory=lambda: array("q"))  # record numbers of node steps
    findings: array = field(default_factory=lambda: array("q"))
    resumes: array = field(default_factory=lambda: array("q"))  # where a crashed run went on

    @property
    def count(self) -> int:
        return self.index.count

    def add(self, offset: int, record: dict) -> None:
        """Take the next record (the `on_record` of verify_file)."""
        n = self.index.count
        kind = record["kind"]
        if self.index.add(offset, kind == schema.SNAPSHOT):
            self.block_ts_ms.append(ts_ms(record["ts"]))
        if kind == schema.INTENT:
            self.steps.append(n)
        elif kind in _MAYBE_FINDING and is_finding(record):
            self.findings.append(n)
        if kind == schema.RESUME:
            self.resumes.append(n)

    def at_time(self, ms: int, ts_of: Callable[[int], int]) -> int:
        """The first record at or after `ms` (the last if none is); `ts_of(n)` is record n's
        time, read for the one block the index points to."""
        # The last block that starts before `ms`: a block starting at `ms` exactly may have
        # records of that same millisecond before it, at the end of the block before.
        block = max(bisect_left(self.block_ts_ms, ms) - 1, 0)
        records = self.index.block_records(block)
        for n in records:
            if ts_of(n) >= ms:
                return n
        return min(records.stop, self.count - 1)


_MAYBE_FINDING = frozenset(
    {schema.GATE, schema.WARNING, schema.RESUME, schema.CONFIRM, schema.RESULT}
)


def next_mark(marks: array, n: int) -> int | None:
    """The first mark after record n."""
    pos = bisect_right(marks, n)
    return marks[pos] if pos < len(marks) else None


def previous_mark(marks: array, n: int) -> int | None:
    """The last mark before record n."""
    pos = bisect_left(marks, n)
    return marks[pos - 1] if pos else None


def record_line(record: dict) -> str:
    """A record as one line of the replay's transcript pane."""
    from tui.transcript.audit import describe

    kind, data = record.get("kind", "?"), record.get("data") or {}
    text = describe(kind, data)
    if text is None:
        text = _OTHER_LINES.get(kind, _params)(data)
    ts = str(record.get("ts", ""))[11:19]
    node = record.get("node") or ""
    return f"{record.get('seq', '?'):>6} {ts} {kind:<10} {node:<14} {text}"


def _params(data: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(data.items()))


def _snapshot_line(d: dict) -> str:
    health = (d.get("health") or {}).get("aggregated", "?")
    line = (
        f"{len(d.get('nodes', []))} nodes, cluster {health}, {len(d.get('findings', []))} findings"
    )
    return line + _read_scope_text(d.get("read"))


def _read_scope_text(read: object) -> str:
    """How much of the cluster the snapshot's read covered, when it was not all of it."""
    if not isinstance(read, dict) or read.get("scope") in (None, "full"):
        return ""
    node = f" and {read['node']}'s VM and engine" if read.get("node") else ""
    return f" (partial read: nodes, health{node}; the rest from {read.get('rest_taken_at', '?')})"


def _checkpoint_line(d: dict) -> str:
    signed = "unsigned" if d.get("alg", "none") == "none" else f"signed {d.get('alg')}"
    return f"{'final ' if d.get('final') else ''}checkpoint of {d.get('count')} records, {signed}"


_OTHER_LINES = {
    schema.START: lambda d: (
        f"session {d.get('session', '?')} by {d.get('operator', '?')}@{d.get('host', '?')}, "
        f"{d.get('mode', '?')}, ticket {d.get('ticket') or '-'}"
    ),
    schema.END: lambda d: f"session ended: {d.get('reason', '')}",
    schema.SNAPSHOT: _snapshot_line,
    schema.CHECKPOINT: _checkpoint_line,
    schema.INTENT: lambda d: (
        f"{d.get('action', '?')} " + _params({k: v for k, v in d.items() if k != "action"})
    ),
    schema.RESULT: lambda d: f"{d.get('outcome', '?')} {d.get('message', '')}".rstrip(),
}
