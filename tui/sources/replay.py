"""Replay: a finished (or crashed, or damaged) transcript, verified first, then stepped through
record by record on the same screens. It holds no client of any kind: only the file."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path

from tui.errors import UsageError
from tui.model import ClusterSnapshot, seconds_since
from tui.sources import REPLAY, HeaderInfo, ViewState
from tui.transcript.reader import (
    BROKEN,
    EMPTY,
    INTACT,
    TORN,
    VerifyResult,
    open_transcript,
    verify_file,
)
from tui.transcript.schema import MAX_LINE, line_ts, loads
from tui.transcript.snapshot import decode_snapshot, uptimes_moved
from tui.transcript.timeline import Timeline, next_mark, previous_mark, record_line, ts_ms

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
MIN_DELAY = (
    0.02  # records written in the same millisecond still play one by one (a timer of 0 s fails)
)
_CACHE_BYTES = 4 * 1024 * 1024  # of recent blocks' lines; the current block is always kept
_LINES_CACHED = 4096  # the pane's rendered lines, each cut to _LINE_CHARS
_LINE_CHARS = 1000  # the pane scrolls sideways over fewer columns than this
_SNAPSHOTS_DECODED = 4


def verdict(result: VerifyResult) -> str:
    """What the header says of the file: INTACT signed/unsigned, BROKEN at record N, TORN tail
    or NOT SEALED."""
    if result.status == INTACT:
        if not result.sealed:
            return "NOT SEALED (the session has not closed)"
        if result.key_kid is not None:
            return "INTACT, signed"
        if result.signed_checkpoints:
            return "INTACT (signed; no --key to check)"
        return "INTACT, unsigned"
    if result.status == TORN:
        return f"TORN tail after record {result.records - 1}"
    if result.bad_seq is None:  # intact as far as it goes, but not covered by a signature
        return "NOT SEALED"
    return f"BROKEN at record {result.bad_seq}"


def parse_moment(text: str, first: datetime) -> datetime:
    """`HH:MM[:SS]` on the day of `first` (UTC), or an ISO 8601 date and time (UTC if no zone)."""
    text = text.strip()
    try:
        if "T" in text or "-" in text:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        parts = [int(p) for p in text.split(":")]
        if not 2 <= len(parts) <= 3:
            raise ValueError(text)
        hour, minute, second = (*parts, 0)[:3]
        return first.astimezone(UTC).replace(hour=hour, minute=minute, second=second, microsecond=0)
    except ValueError:
        raise UsageError(f"not a time: {text!r} (HH:MM[:SS], or YYYY-MM-DDTHH:MM:SS)") from None


def clamp_speed(speed: float) -> float:
    """The nearest allowed speed (0.25x to 16x)."""
    return min(SPEEDS, key=lambda s: abs(s - speed))


class ReplaySource:
    """A transcript and a position in it; `read` gives what the screens showed at that record."""

    mode = REPLAY
    poll_seconds = 0.0  # moved by the viewer, not a timer

    def __init__(self, path: Path, key=None, speed: float = 1.0, idle_limit: float = 2.0) -> None:
        self.path = Path(path)
        self.timeline = Timeline()
        # One pass: verified and indexed together. A broken file replays up to its break (the
        # records before it are all that were fed); a torn tail is not a record.
        self.result = verify_file(self.path, key, on_record=self.timeline.add)
        if self.result.status == EMPTY:
            raise UsageError(f"{path}: the transcript is empty; nothing to replay")
        self.verdict = verdict(self.result)
        if self.timeline.count == 0:
            raise UsageError(f"{path}: no intact record to replay ({self.verdict})")
        self.speed = clamp_speed(speed)
        self.idle_limit = idle_limit
        self.position = 0
        self.playing = False
        self._blocks: OrderedDict[int, list[bytes]] = OrderedDict()
        self._cached_bytes = 0
        self._lines: dict[int, str] = {}
        self._decoded: OrderedDict[int, tuple] = OrderedDict()  # by snapshot record number
        self._moved: tuple[int, int, ClusterSnapshot] | None = None  # the last view's uptimes
        self.header_data = self.record(0).get("data", {})

    # ------------------------------------------------------------------ records

    @property
    def count(self) -> int:
        return self.timeline.count

    @property
    def cut_short(self) -> bool:
        """The file goes on past what is replayed (a break or a torn tail)."""
        return self.result.status in (BROKEN, TORN)

    def _block(self, b: int) -> list[bytes]:
        """The lines of block b, read through the index; the blocks read last are kept (up to
        a bound in bytes), so stepping and the pane's redraws do not read the file again."""
        if b in self._blocks:
            self._blocks.move_to_end(b)
            return self._blocks[b]
        records = self.timeline.index.block_records(b)
        with open_transcript(self.path) as handle:
            handle.seek(self.timeline.index.offsets[b])
            lines = [handle.readline(MAX_LINE + 1) for _ in records]
        self._blocks[b] = lines
        self._cached_bytes += sum(map(len, lines))
        while self._cached_bytes > _CACHE_BYTES and len(self._blocks) > 1:
            _, dropped = self._blocks.popitem(last=False)
            self._cached_bytes -= sum(map(len, dropped))
        return lines

    def _line_bytes(self, n: int) -> bytes:
        index = self.timeline.index
        b = index.block_of(n)
        return self._block(b)[n - index.firsts[b]]

    def record(self, n: int) -> dict:
        return loads(self._line_bytes(n))

    def line(self, n: int) -> str:
        """Record n as one line of text (the pane asks again on every redraw: kept)."""
        text = self._lines.get(n)
        if text is None:
            if len(self._lines) >= _LINES_CACHED:
                self._lines.clear()
            text = self._lines[n] = record_line(self.record(n))[:_LINE_CHARS]
        return text

    # ------------------------------------------------------------------ moving

    def seek(self, n: int) -> int:
        self.position = max(0, min(n, self.count - 1))
        return self.position

    def step(self, by: int) -> int:
        return self.seek(self.position + by)

    def next_step(self) -> int | None:
        found = next_mark(self.timeline.steps, self.position)
        return None if found is None else self.seek(found)

    def previous_step(self) -> int | None:
        found = previous_mark(self.timeline.steps, self.position)
        return None if found is None else self.seek(found)

    def next_finding(self) -> int | None:
        found = next_mark(self.timeline.findings, self.position)
        return None if found is None else self.seek(found)

    def ts_ms(self, n: int) -> int:
        """Record n's time; read off its line, not parsed (the header, g and play ask often)."""
        line = self._line_bytes(n)
        return ts_ms(line_ts(line) or loads(line)["ts"])

    def time_of(self, n: int) -> datetime:
        """When record n was written."""
        return datetime.fromtimestamp(self.ts_ms(n) / 1000, UTC)

    def seek_time(self, moment: datetime) -> int:
        ms = int(moment.timestamp() * 1000)
        return self.seek(self.timeline.at_time(ms, self.ts_ms))

    def faster(self, up: bool) -> float:
        i = SPEEDS.index(self.speed) + (1 if up else -1)
        self.speed = SPEEDS[max(0, min(i, len(SPEEDS) - 1))]
        return self.speed

    def delay(self) -> float | None:
        """Real seconds until playing moves on from the current record (None at the end):
        the recorded gap, capped at the idle limit, divided by the speed; never 0."""
        if self.position + 1 >= self.count:
            return None
        gap = max(0, self.ts_ms(self.position + 1) - self.ts_ms(self.position)) / 1000
        return max(min(gap, self.idle_limit) / self.speed, MIN_DELAY)

    # ------------------------------------------------------------------ the source

    def header(self) -> HeaderInfo:
        n = self.position
        at = self.time_of(n).strftime("%Y-%m-%d %H:%M:%SZ")
        play = f"{'playing' if self.playing else 'paused'} {self.speed:g}x"
        return HeaderInfo(
            mode=REPLAY,
            cluster=str(self.header_data.get("cluster", "?")),
            endpoint=str(self.header_data.get("endpoint", "")),
            holder=f"{self.header_data.get('operator', '?')}@{self.header_data.get('host', '?')}",
            ticket=str(self.header_data.get("ticket", "")),
            transcript=str(self.path),
            verdict=self.verdict,
            position=f"{n + 1}/{self.count} {at} {play}",
        )

    def initial(self) -> ViewState:
        return ViewState(self.header(), waiting="Reading the transcript ...")

    def read(self) -> ViewState:
        """The screens as of the current record: the last snapshot recorded at or before it."""
        n = self.position
        found = self.timeline.index.snapshot_before(n)
        header = self.header()
        record = self.record(n)
        node = record.get("node") or None
        if found is None:
            return ViewState(header, waiting="No snapshot recorded yet at this record.", node=node)
        decoded = self._decoded.get(found)
        if decoded is None:  # a few are kept: playing on, or back and forth, decodes none again
            data = (record if found == n else self.record(found))["data"]
            decoded = self._decoded[found] = decode_snapshot(data)
            if len(self._decoded) > _SNAPSHOTS_DECODED:
                self._decoded.popitem(last=False)
        else:
            self._decoded.move_to_end(found)
        snapshot, findings = decoded
        snapshot = self._uptimes_at(found, n, snapshot)
        return ViewState(header, snapshot, findings, node=node, engines_recorded=False)

    def _uptimes_at(self, found: int, n: int, snapshot: ClusterSnapshot) -> ClusterSnapshot:
        """Snapshot record `found`'s nodes with their uptimes as of record n; not past a resume,
        since nobody polled while the crashed session was down. The last view is kept: the
        records of one second show the very same nodes (and the table redraws none)."""
        resume = next_mark(self.timeline.resumes, found)
        last = n if resume is None or resume > n else resume - 1
        gap = seconds_since(self.time_of(found), self.time_of(last))
        if self._moved is not None and self._moved[:2] == (found, gap):
            return self._moved[2]
        moved = uptimes_moved(snapshot, gap)
        self._moved = (found, gap, moved)
        return moved

    def close(self, reason: str) -> None:
        self._blocks.clear()
        self._lines.clear()
        self._decoded.clear()
        self._moved = None
        self._cached_bytes = 0
