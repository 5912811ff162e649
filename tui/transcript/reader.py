"""Reading transcripts in bounded memory: streaming lines and records, an offset index, verify_file.

Only complete newline-terminated lines are records; a final line without a newline is a torn
write from a crash and is reported, never parsed as a record.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tui.transcript import schema
from tui.transcript.chain import ChainError, ChainVerifier
from tui.transcript.errors import TranscriptUnreadable
from tui.transcript.keys import VerifyKey
from tui.userfile import TRANSCRIPT, open_user_file

_BUFFER = 1 << 20
INTACT, TORN, BROKEN, EMPTY = "intact", "torn", "broken", "empty"
# An empty file has no header to tell it from any other empty file: unreadable as a transcript.
EXIT_CODES = {INTACT: 0, BROKEN: 1, TORN: 3, EMPTY: 2}
# What every header line holds. One changed byte can spoil at most one of them, so a tampered
# header still shows the others and is reported as broken, not as a foreign file.
_HEADER_MARKS = (b'"format":"' + schema.FORMAT.encode() + b'"', b'"kind":"start"', b',"hash":"')
_RECORD_START = b'{"data":'  # canonical JSON sorts "data" first


def open_transcript(path: Path) -> IO[bytes]:
    """Open a transcript read-only for streaming; a file that is not a regular one, or cannot be
    opened, raises TranscriptUnreadable. Reads are bounded by the line cap (iter_lines)."""
    return open_user_file(Path(path), TRANSCRIPT, TranscriptUnreadable, buffering=_BUFFER)


def iter_lines(handle: IO[bytes], offset: int = 0) -> Iterator[tuple[int, bytes]]:
    """(offset, line) pairs from `offset` on; the last may lack its newline. Lines are bounded."""
    handle.seek(offset)
    while True:
        line = handle.readline(schema.MAX_LINE + 1)
        if not line:
            return
        yield offset, line
        offset += len(line)


def iter_records(
    path: Path, start: int = 0, index: TranscriptIndex | None = None
) -> Iterator[dict]:
    """Records from number `start` on, parsed but not chain-checked; stops before a torn line."""
    with open_transcript(path) as handle:
        offset, n = index.seek(start) if index else (0, 0)
        try:
            for _, line in iter_lines(handle, offset):
                if not line.endswith(b"\n"):
                    return
                if n >= start:
                    yield schema.loads(line)
                n += 1
        except OSError as exc:  # EIO from a failing disk, a file that is not what it says
            raise TranscriptUnreadable(f"cannot read {path}: {exc.strerror or exc}") from None


# A block ends after `every` records or once it holds this many bytes, whichever comes first, so
# that reading one record never means reading thousands of large snapshots before it.
BLOCK_BYTES = 256 * 1024


@dataclass
class TranscriptIndex:
    """Where each block of records starts (byte offset and record number) and the numbers of
    the snapshot records: arrays of numbers, a few bytes per record, never the records."""

    every: int = 256
    block_bytes: int = BLOCK_BYTES
    count: int = 0
    offsets: array = field(default_factory=lambda: array("q"))  # each block's first byte
    firsts: array = field(default_factory=lambda: array("q"))  # each block's first record
    snapshots: array = field(default_factory=lambda: array("q"))

    @classmethod
    def build(cls, path: Path, every: int = 256) -> TranscriptIndex:
        """Index a transcript in one streaming pass (complete lines only)."""
        index = cls(every=every)
        marker = b'"kind":"' + schema.SNAPSHOT.encode() + b'"'
        with open_transcript(path) as handle:
            for offset, line in iter_lines(handle):
                if not line.endswith(b"\n"):
                    break
                # data is serialised before kind, so only the top-level kind can follow "}".
                snapshot = (
                    b"}," + marker in line and schema.loads(line).get("kind") == schema.SNAPSHOT
                )
                index.add(offset, snapshot)
        return index

    def add(self, offset: int, snapshot: bool = False) -> bool:
        """Take the next record, at byte `offset`; True when it starts a new block."""
        n = self.count
        self.count = n + 1
        if snapshot:
            self.snapshots.append(n)
        offsets = self.offsets
        if offsets and n - self.firsts[-1] < self.every and offset - offsets[-1] < self.block_bytes:
            return False
        offsets.append(offset)
        self.firsts.append(n)
        return True

    def block_of(self, n: int) -> int:
        """The block that holds record n."""
        if n < 0 or n >= max(self.count, 1):
            raise IndexError(f"record {n} is out of range (0..{self.count - 1})")
        return max(bisect_right(self.firsts, n) - 1, 0)

    def block_records(self, b: int) -> range:
        """The numbers of the records in block b."""
        end = self.firsts[b + 1] if b + 1 < len(self.firsts) else self.count
        return range(self.firsts[b], end)

    def seek(self, n: int) -> tuple[int, int]:
        """(offset, record number) of the first record of the block that holds record n."""
        b = self.block_of(n)
        return (self.offsets[b], self.firsts[b]) if self.offsets else (0, 0)

    def snapshot_before(self, n: int) -> int | None:
        """Number of the last snapshot record at or before record n, if any."""
        pos = bisect_right(self.snapshots, n)
        return self.snapshots[pos - 1] if pos else None


class TranscriptReader:
    """Random access to a finished or growing transcript through a TranscriptIndex."""

    def __init__(self, path: Path, every: int = 256) -> None:
        self.path = Path(path)
        self.index = TranscriptIndex.build(self.path, every)

    def __len__(self) -> int:
        return self.index.count

    def __iter__(self) -> Iterator[dict]:
        return iter_records(self.path)

    def iter_from(self, n: int) -> Iterator[dict]:
        """Records from number n on, jumping there through the index."""
        return iter_records(self.path, n, self.index)

    def record(self, n: int) -> dict:
        """Record number n."""
        return next(self.iter_from(n))

    def snapshot_before(self, n: int) -> dict | None:
        """The last snapshot record at or before record n (what the screen showed then)."""
        found = self.index.snapshot_before(n)
        return None if found is None else self.record(found)


@dataclass(frozen=True)
class VerifyResult:
    """What verify_file found: the status, what the CLI prints, and the first bad record."""

    path: Path
    status: str
    records: int
    first_ts: str = ""
    last_ts: str = ""
    header: dict[str, Any] = field(default_factory=dict)
    checkpoints: int = 0
    signed_checkpoints: int = 0
    algs: tuple[str, ...] = ()
    key_kid: str | None = None
    sealed: bool = False
    closed: bool = False
    end_reason: str = ""
    resumes: int = 0
    bad_seq: int | None = None
    bad_offset: int | None = None
    reason: str = ""

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def ok(self) -> bool:
        return self.status == INTACT

    @property
    def operator(self) -> str:
        return str(self.header.get("operator", ""))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields, with the exit code."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out.update(path=str(self.path), algs=list(self.algs), exit_code=self.exit_code)
        return out

    def summary(self) -> str:
        """One line: the verdict and, if any, the first bad record."""
        if self.status == INTACT:
            return "INTACT"
        if self.status == EMPTY:
            return "EMPTY: no records"
        where = f"record {self.bad_seq} at byte {self.bad_offset}: {self.reason}"
        if self.status == TORN:
            return f"TORN: intact up to record {self.records - 1}; {where}"
        return f"BROKEN: {where}" if self.bad_seq is not None else f"BROKEN: {self.reason}"


def _is_foreign(first_line: bytes) -> bool:
    """True when the first line cannot be a transcript header, not even a damaged or torn one."""
    if not first_line.endswith(b"\n"):
        return not (first_line.startswith(_RECORD_START) or _RECORD_START.startswith(first_line))
    return not any(mark in first_line for mark in _HEADER_MARKS)


def check_transcript(path: Path) -> None:
    """Raise TranscriptUnreadable unless `path` can be read and starts like a transcript (an
    empty file may be one its session is about to write)."""
    with open_transcript(path) as handle:
        try:
            first = handle.readline(schema.MAX_LINE + 1)
        except OSError as exc:
            raise TranscriptUnreadable(f"cannot read {path}: {exc.strerror or exc}") from None
    if first and _is_foreign(first):
        raise TranscriptUnreadable(
            f"{path}: not an sfpatch transcript (its first line is not a transcript start record)"
        )


def verify_file(
    path: Path,
    key: VerifyKey | None = None,
    on_record: Callable[[int, dict[str, Any]], None] | None = None,
) -> VerifyResult:
    """Check sequence, chain, hashes and checkpoints (signatures too when key is given).

    `on_record(offset, record)` sees each record that checked out, in order, so a replay indexes
    the file in the same pass. A file that is not a transcript at all, or cannot be read, raises
    TranscriptUnreadable."""
    path = Path(path)
    chain = ChainVerifier(key)
    status, bad, reason = INTACT, None, ""
    feed, cap, offset = chain.feed, schema.MAX_LINE + 1, 0
    with open_transcript(path) as handle:
        readline = handle.readline  # a loop of its own, not iter_lines: this is the hot path
        try:
            while line := readline(cap):
                if offset == 0 and _is_foreign(line):
                    raise TranscriptUnreadable(
                        f"{path}: not an sfpatch transcript (its first line is not a transcript "
                        "start record)"
                    )
                if line[-1] != 10:  # no newline
                    torn = len(line) <= schema.MAX_LINE
                    status = TORN if torn else BROKEN
                    why = "final record has no newline (torn write)" if torn else "record too long"
                    bad, reason = ChainError(chain.count, offset, why), why
                    break
                record = feed(offset, line)
                if on_record is not None:
                    on_record(offset, record)
                offset += len(line)
        except ChainError as exc:
            status, bad, reason = BROKEN, exc, exc.reason
        except OSError as exc:
            raise TranscriptUnreadable(f"cannot read {path}: {exc.strerror or exc}") from None
    if status == INTACT and chain.count == 0:
        status, reason = EMPTY, "the file is empty (crashed before the header was written)"
    elif status == INTACT and key is not None and not chain.sealed:
        status = BROKEN
        reason = (
            f"not sealed: records from {chain.signed_count} on are not covered by a signed "
            "final checkpoint (the tail was cut off, or the session has not closed)"
        )
    return VerifyResult(
        path=path,
        status=status,
        records=chain.count,
        first_ts=chain.first_ts,
        last_ts=chain.last["ts"] if chain.last else "",
        header=dict(chain.header["data"]) if chain.header else {},
        checkpoints=chain.checkpoints,
        signed_checkpoints=chain.signed_checkpoints,
        algs=tuple(sorted(chain.algs)),
        key_kid=key.kid if key else None,
        sealed=chain.sealed,
        closed=chain.closed,
        end_reason=chain.end_reason,
        resumes=chain.resumes,
        bad_seq=bad.seq if bad else None,
        bad_offset=bad.offset if bad else None,
        reason=reason,
    )
