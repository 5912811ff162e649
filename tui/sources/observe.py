"""Observe: follow a transcript another session is writing, on the same screens. Records are
chain-checked as they arrive; a file that is finished, truncated, replaced or stops verifying is
said so plainly. It holds no client of any kind: only the file."""

from __future__ import annotations

from collections import deque
from pathlib import Path

from tui.sources import OBSERVE, Alert, HeaderInfo, ViewState
from tui.transcript import schema
from tui.transcript.snapshot import decode_snapshot
from tui.transcript.tail import Tailer
from tui.transcript.timeline import record_line

KEEP_LINES = 2000  # the transcript pane's scroll-back
MAX_POLLS_PER_READ = 64  # a long backlog is caught up in 4 MiB pieces, this many per read

FOLLOWING, FINISHED, STOPPED = "FOLLOWING", "FINISHED", "STOPPED"


def alarm_word(alarm: str) -> str:
    """The header's one word for why following stopped."""
    for word in ("truncated", "replaced", "removed", "broken", "rewritten"):
        if word in alarm:
            return word.upper()
    return "UNREADABLE"


class ObserveSource:
    """States of a session as its transcript grows; never more than the tail kept in memory."""

    mode = OBSERVE

    def __init__(self, path: Path, key=None, poll_seconds: float = 1.0, holder: str = "") -> None:
        self.path = Path(path)
        self.tailer = Tailer(self.path, key)
        self.poll_seconds = poll_seconds
        self.holder = holder
        self.lines: deque[str] = deque(maxlen=KEEP_LINES)
        self.header_data: dict = {}
        self.snapshot_data: dict | None = None
        self.end_reason: str | None = None
        self.status = FOLLOWING
        self._told: set[str] = set()

    @property
    def count(self) -> int:
        return self.tailer.records

    def line(self, n: int) -> str:
        """Record n's line, if it is still in the scroll-back ("" otherwise)."""
        first = self.count - len(self.lines)
        return self.lines[n - first] if n >= first else ""

    def _take(self, record: dict) -> None:
        kind = record["kind"]
        if kind == schema.START:
            self.header_data = dict(record["data"])
        elif kind == schema.SNAPSHOT:
            self.snapshot_data = record["data"]
        elif kind == schema.END:
            self.end_reason = str(record["data"].get("reason", ""))
        elif kind == schema.RESUME:
            self.end_reason = None
        self.lines.append(record_line(record))

    def verdict(self) -> str:
        if self.tailer.alarm:
            return f"{alarm_word(self.tailer.alarm)}: stopped following"
        if self.tailer.sealed:
            return "FINISHED, INTACT"
        if self.end_reason is not None:
            return "ENDED (final checkpoint not yet written)"
        return "FOLLOWING, INTACT so far"

    def header(self) -> HeaderInfo:
        d = self.header_data
        return HeaderInfo(
            mode=OBSERVE,
            cluster=str(d.get("cluster", "?")),
            endpoint=str(d.get("endpoint", "")),
            holder=self.holder or (f"{d['operator']}@{d.get('host', '?')}" if d else ""),
            ticket=str(d.get("ticket", "")),
            transcript=str(self.path),
            verdict=self.verdict(),
            position=f"{self.count} records",
        )

    def initial(self) -> ViewState:
        return ViewState(self.header(), waiting="Reading the transcript ...")

    def read(self) -> ViewState:
        """Take what was appended since the last read; say once when the file finished or broke."""
        for _ in range(MAX_POLLS_PER_READ):
            records = self.tailer.poll()
            for record in records:
                self._take(record)
            if not records:
                break
        alerts = []
        if self.tailer.alarm and "alarm" not in self._told:
            self._told.add("alarm")
            self.status = STOPPED
            alerts.append(Alert("Stopped following the transcript", self.tailer.alarm, "error"))
        elif self.tailer.sealed and "sealed" not in self._told:
            self._told.add("sealed")
            self.status = FINISHED
            why = f" ({self.end_reason})" if self.end_reason else ""
            alerts.append(
                Alert("The session has finished", f"Its transcript is closed{why}.", "information")
            )
        if self.snapshot_data is None:
            waiting = "No snapshot recorded yet: waiting for the session's first poll ..."
            return ViewState(self.header(), waiting=waiting, alerts=tuple(alerts))
        snapshot, findings = decode_snapshot(self.snapshot_data)
        return ViewState(
            self.header(), snapshot, findings, alerts=tuple(alerts), engines_recorded=False
        )

    def close(self, reason: str) -> None:
        """Nothing is held between reads."""
