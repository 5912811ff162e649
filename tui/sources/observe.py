"""Observe: follow a transcript another session is writing, on the same screens. Records are
chain-checked as they arrive; a file that is finished, truncated, replaced or stops verifying is
said so plainly. It holds no client of any kind: only the file."""

from __future__ import annotations

from collections import deque
from pathlib import Path

from tui.model import ClusterSnapshot, Finding, seconds_since
from tui.sources import OBSERVE, Alert, HeaderInfo, ViewState
from tui.transcript import schema
from tui.transcript.snapshot import decode_snapshot, uptimes_moved
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
        # The newest record's time the snapshot's uptimes are moved on to: held at a resume
        # (nobody polled while the crashed session was down) until its first snapshot.
        self._moment = ""
        self._snapshot_moment = ""  # when the snapshot record was written
        self._held = False
        self._decoded: tuple[dict, tuple] | None = None  # the snapshot data last decoded
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
            self._snapshot_moment = str(record.get("ts", ""))
            self._held = False
        elif kind == schema.END:
            self.end_reason = str(record["data"].get("reason", ""))
        elif kind == schema.RESUME:
            self.end_reason = None
            self._held = True
        if not self._held:
            self._moment = str(record.get("ts", ""))
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
        snapshot, findings = self._snapshot()
        return ViewState(
            self.header(), snapshot, findings, alerts=tuple(alerts), engines_recorded=False
        )

    def _snapshot(self) -> tuple[ClusterSnapshot, tuple[Finding, ...]]:
        """The last snapshot recorded (decoded once), its uptimes as of the newest record."""
        data = self.snapshot_data
        if self._decoded is None or self._decoded[0] is not data:
            self._decoded = (data, decode_snapshot(data))
        snapshot, findings = self._decoded[1]
        try:
            gap = seconds_since(
                schema.parse_ts(self._snapshot_moment), schema.parse_ts(self._moment)
            )
        except ValueError:  # a record without a time moves nothing on
            gap = 0
        return uptimes_moved(snapshot, gap), findings

    def close(self, reason: str) -> None:
        """Only the decoded snapshot is held between reads (the file is opened per read)."""
        self._decoded = None
