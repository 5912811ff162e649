"""The transcript writer: one durable, hash-chained, locked append per record.

Every record is one write on an O_APPEND descriptor followed by fsync (warnings shown together
are one write and one fsync for all of them: `append_many`). The first write or fsync
that fails poisons the writer: that append and every later one raise TranscriptError, so no
action can happen that is not recorded.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any, TypeVar

import platformdirs

from tui import __version__
from tui.errors import TranscriptError
from tui.transcript import schema
from tui.transcript.chain import ChainError, ChainVerifier, sign_checkpoint
from tui.transcript.errors import TranscriptBroken, TranscriptTampered
from tui.transcript.keys import SigningKey
from tui.transcript.lock import lock_exclusive, unlock
from tui.transcript.reader import iter_lines, open_transcript
from tui.transcript.redact import Redactor

T = TypeVar("T")
DEFAULT_CHECKPOINT_EVERY = 100
_WRITER_KINDS = frozenset({schema.START, schema.END, schema.RESUME, schema.CHECKPOINT})


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


@dataclass(frozen=True)
class SessionHeader:
    """What record 0 says about the session; who, where and when are filled in by default."""

    cluster: str
    endpoint: str
    server_cert_sha256: str = ""
    ticket: str = ""
    mode: str = "operate"  # "operate" or "read-only"
    operator: str = field(default_factory=_operator)
    host: str = field(default_factory=socket.gethostname)
    tool_version: str = __version__
    session: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: str = field(default_factory=schema.utc_now)
    extra: Mapping[str, Any] = field(default_factory=dict)


def default_transcript_dir() -> Path:
    """The platformdirs user data dir's `transcripts` folder."""
    return platformdirs.user_data_path("sfpatch", appauthor=False) / "transcripts"


def transcript_path(header: SessionHeader, root: Path | None = None) -> Path:
    """<root>/<cluster>/<UTC start>-<session id>.jsonl, the cluster made safe for a file name."""
    cluster = re.sub(r"[^A-Za-z0-9._-]", "_", header.cluster).strip(".") or "cluster"
    started = schema.parse_ts(header.started).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return (root or default_transcript_dir()) / cluster / f"{started}-{header.session}.jsonl"


def claim_transcript(path: Path) -> int:
    """Open a transcript to append to and lock it: TranscriptLocked while its session runs.

    A resume claims it before it touches the cluster; the descriptor goes to
    TranscriptWriter.resume(claimed=...), or is closed by the caller if the resume never comes."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise TranscriptError(f"cannot reopen transcript {path}: {exc.strerror or exc}") from None
    try:
        lock_exclusive(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class TranscriptWriter:
    """Appends records to one transcript file that this process alone holds locked."""

    # Indirections so that tests can inject a failing os call; nothing else changes them.
    _os_write = staticmethod(os.write)
    _os_fsync = staticmethod(os.fsync)

    def __init__(
        self,
        path: Path,
        fd: int,
        session: str,
        key: SigningKey | None,
        checkpoint_every: int,
        seq: int = 0,
        head: str = schema.GENESIS,
    ) -> None:
        self.path = path
        self.session = session
        self._fd = fd
        self._key = key
        self._every = max(1, checkpoint_every)
        self._seq = seq
        self._head = head
        self._since_checkpoint = 0
        self._failure: TranscriptError | None = None
        self._closed = False
        self._mutex = threading.Lock()
        self._redactor = Redactor()
        self.torn: dict[str, Any] | None = None  # after resume: the torn tail it set aside

    # ------------------------------------------------------------------ opening

    @classmethod
    def create(
        cls,
        header: SessionHeader,
        directory: Path | None = None,
        key: SigningKey | None = None,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
        secrets: Iterable[str] = (),
    ) -> TranscriptWriter:
        """Start a new transcript under directory (default: default_transcript_dir())."""
        path = transcript_path(header, directory)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
            fd = os.open(path, flags, 0o600)
        except OSError as exc:
            raise TranscriptError(
                f"cannot create transcript {path}: {exc.strerror or exc}"
            ) from None
        writer = cls(path, fd, header.session, key, checkpoint_every)
        writer.add_secrets(*secrets)
        try:
            lock_exclusive(fd, path)
            data = {k: v for k, v in asdict(header).items() if k != "extra"}
            data.update(
                format=schema.FORMAT,
                version=schema.VERSION,
                hash="sha256",
                checkpoint_every=writer._every,
                key_alg=key.alg if key else None,
                key_kid=key.kid if key else None,
                extra=dict(header.extra),
            )
            writer._append(schema.START, None, None, data)
            _fsync_dir(path.parent)
            _fsync_dir(path.parent.parent)
        except BaseException:
            os.close(fd)
            raise
        return writer

    @classmethod
    def resume(
        cls,
        path: Path,
        key: SigningKey | None = None,
        checkpoint_every: int | None = None,
        secrets: Iterable[str] = (),
        claimed: int | None = None,
        details: Mapping[str, Any] | None = None,
        scan: ResumeScan | None = None,
    ) -> TranscriptWriter:
        """Reopen a transcript after a crash: set a torn tail aside, append `resume`, go on.

        `claimed` is the descriptor claim_transcript returned for it, if it was claimed first;
        `details` are added to the resume record (e.g. the gateway it resumed against); `scan`
        is scan_for_resume's finding for the file as it is now, if the caller made one."""
        path = Path(path)
        fd = claim_transcript(path) if claimed is None else claimed
        try:
            scan = scan or scan_for_resume(path, key)
            chain, header = scan.chain, scan.header
            every = checkpoint_every or header.get("checkpoint_every") or DEFAULT_CHECKPOINT_EVERY
            writer = cls(path, fd, header["session"], key, every, chain.count, chain.head)
            writer.add_secrets(*secrets)
            writer.torn = writer._set_aside(scan.good_end, scan.torn) if scan.torn else None
            writer._append(
                schema.RESUME,
                None,
                None,
                {
                    "after_seq": chain.count - 1,
                    "was_closed": chain.closed,
                    "torn": writer.torn,
                    "operator": _operator(),
                    "host": socket.gethostname(),
                    "pid": os.getpid(),
                    "tool_version": __version__,
                    **(details or {}),
                },
            )
        except BaseException:
            os.close(fd)
            raise
        return writer

    def _set_aside(self, good_end: int, reason: str) -> dict[str, Any]:
        """Copy the bytes after good_end to a new .torn file, then cut them from the transcript."""
        with open(self.path, "rb") as handle:
            handle.seek(good_end)
            torn = handle.read()
        aside = _free_torn_path(self.path)
        try:
            fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                view = memoryview(torn)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            _fsync_dir(self.path.parent)
            os.ftruncate(self._fd, good_end)
            os.fsync(self._fd)
        except OSError as exc:
            raise TranscriptError(
                f"cannot set the torn tail of {self.path} aside: {exc.strerror or exc}"
            ) from None
        return {
            "file": aside.name,
            "offset": good_end,
            "bytes": len(torn),
            "sha256": hashlib.sha256(torn).hexdigest(),
            "reason": reason,
        }

    # ------------------------------------------------------------------ writing

    @property
    def failure(self) -> TranscriptError | None:
        """The error that poisoned this writer, or None while it can still write."""
        return self._failure

    @property
    def seq(self) -> int:
        """The seq the next record will get."""
        return self._seq

    @property
    def head(self) -> str:
        """The hash of the last record written."""
        return self._head

    def add_secrets(self, *secrets: str) -> None:
        """Mask these exact strings (a profile's passwords, tokens, keys) in every later record."""
        self._redactor.add(*secrets)

    @staticmethod
    def new_op() -> str:
        """A fresh id that ties an intent to its result."""
        return uuid.uuid4().hex[:16]

    def append(
        self,
        kind: str,
        *,
        op: str | None = None,
        node: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write one record durably and return it; raises TranscriptError if it is not on disk."""
        _callers_kind(kind)
        return self._append(kind, op, node, data)

    def append_many(
        self,
        kind: str,
        entries: Iterable[tuple[str | None, Mapping[str, Any]]],
    ) -> list[dict[str, Any]]:
        """Write records of one kind, each (node, data), in one write and one fsync; returns
        them once all are on disk. A crash part way leaves the first of them whole and the
        next one torn, as separate appends would; a record too long for a line writes none."""
        _callers_kind(kind)
        with self._mutex:
            self._usable()
            seq, head, since = self._seq, self._head, self._since_checkpoint
            lines: list[bytes] = []
            records: list[dict[str, Any]] = []
            for node, data in entries:
                fields, line = self._encode(kind, None, node, data, seq, head)
                records.append(fields)
                lines.append(line)
                seq, head, since = seq + 1, fields["hash"], since + 1
                if since >= self._every:
                    fields, line = self._checkpoint(seq, head, final=False)
                    lines.append(line)
                    seq, head, since = seq + 1, fields["hash"], 0
            if lines:
                self._commit(b"".join(lines), seq, head)
            self._since_checkpoint = since
            return records

    def _append(
        self, kind: str, op: str | None, node: str | None, data: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        with self._mutex:
            record = self._write(kind, op, node, data)
            self._since_checkpoint += 1
            if self._since_checkpoint >= self._every:
                self._write_checkpoint(final=False)
            return record

    def _write(
        self,
        kind: str,
        op: str | None,
        node: str | None,
        data: Mapping[str, Any] | None,
        redact: bool = True,
    ) -> dict[str, Any]:
        self._usable()
        fields, line = self._encode(kind, op, node, data, self._seq, self._head, redact)
        self._commit(line, self._seq + 1, fields["hash"])
        return fields

    def _usable(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._closed:
            raise TranscriptError(f"transcript {self.path} is closed; nothing more can be recorded")

    def _encode(
        self,
        kind: str,
        op: str | None,
        node: str | None,
        data: Mapping[str, Any] | None,
        seq: int,
        head: str,
        redact: bool = True,
    ) -> tuple[dict[str, Any], bytes]:
        """A record's fields (with its hash) and its line, as record `seq` after `head`."""
        # Node and data in one pass: a secret found in the data is masked in the node too.
        node = None if node is None else str(node)
        data = data or {}
        if redact:
            node, data = self._redactor.clean([node, data])
        fields = {
            "seq": seq,
            "ts": schema.utc_now(),
            "mono_ms": time.monotonic_ns() // 1_000_000,
            "kind": kind,
            "op": None if op is None else str(op),
            "node": node,
            "data": data,
            "prev": head,
        }
        line, digest = schema.encode_record(fields)
        fields["hash"] = digest
        return fields, line

    def _commit(self, lines: bytes, seq: int, head: str) -> None:
        """Write `lines` whole and fsync them, then go on from record `seq` after `head`; the
        first failure poisons the writer and moves nothing on."""
        try:
            view = memoryview(lines)
            while view:
                written = self._os_write(self._fd, view)
                if written <= 0:
                    raise OSError(0, "write returned no progress")
                view = view[written:]
            self._os_fsync(self._fd)
        except OSError as exc:
            self._failure = TranscriptError(
                f"transcript {self.path} could not be written ({exc.strerror or exc}); "
                "no further actions will be taken in this session. "
                "Fix the disk, then resume the session."
            )
            raise self._failure from None
        self._seq, self._head = seq, head

    def _checkpoint(self, seq: int, head: str, final: bool) -> tuple[dict[str, Any], bytes]:
        data = sign_checkpoint(self._key, self.session, seq, head, final)
        # Only counts, hashes and a signature, all the writer's own: a base64 signature must
        # reach the file as signed, not masked as key material.
        return self._encode(schema.CHECKPOINT, None, None, data, seq, head, redact=False)

    def _write_checkpoint(self, final: bool) -> None:
        self._usable()
        fields, line = self._checkpoint(self._seq, self._head, final)
        self._commit(line, self._seq + 1, fields["hash"])
        self._since_checkpoint = 0

    # ------------------------------------------------------------------ kinds with a shape

    def intent(self, op: str, action: str, node: str | None = None, **params: Any) -> dict:
        """Record what is about to be done (durably, before doing it)."""
        return self.append(schema.INTENT, op=op, node=node, data={"action": action, **params})

    def result(
        self, op: str, ok: bool, message: str = "", node: str | None = None, **details: Any
    ) -> dict:
        """Record how an intended action ended."""
        data = {"outcome": "ok" if ok else "error", "message": message, **details}
        return self.append(schema.RESULT, op=op, node=node, data=data)

    def gate(
        self,
        name: str,
        passed: bool,
        why: str = "",
        node: str | None = None,
        state: str | None = None,
    ) -> dict:
        """Record a gate check: passed, failed or unknown (inputs not read), and why."""
        state = state or ("passed" if passed else "failed")
        data = {"gate": name, "passed": passed and state == "passed", "state": state, "why": why}
        return self.append(schema.GATE, node=node, data=data)

    def warning(
        self, message: str, rule: str = "", severity: str = "warning", node: str | None = None
    ) -> dict:
        """Record a warning shown to the engineer."""
        data = {"rule": rule, "severity": severity, "message": message}
        return self.append(schema.WARNING, node=node, data=data)

    def warnings(self, shown: Iterable[tuple[str, str, str, str | None]]) -> list[dict]:
        """Record warnings shown together, each (message, rule, severity, node), in one write."""
        entries = [
            (node, {"rule": rule, "severity": severity, "message": message})
            for message, rule, severity, node in shown
        ]
        return self.append_many(schema.WARNING, entries)

    def confirm(self, what: str, node: str | None = None, **details: Any) -> dict:
        """Record what the engineer agreed to."""
        return self.append(schema.CONFIRM, node=node, data={"what": what, **details})

    def note(self, text: str, node: str | None = None) -> dict:
        """Record free text from the engineer."""
        return self.append(schema.NOTE, node=node, data={"text": text})

    def lease(self, action: str, **details: Any) -> dict:
        """Record taking, renewing or releasing the session lease."""
        return self.append(schema.LEASE, data={"action": action, **details})

    def snapshot(self, data: Mapping[str, Any]) -> dict:
        """Record the state seen (see tui.transcript.snapshot.encode_snapshot)."""
        return self.append(schema.SNAPSHOT, data=data)

    def perform(
        self, action: str, fn: Callable[[], T], node: str | None = None, **params: Any
    ) -> T:
        """Write the intent, run fn, write the result; fn runs only once the intent is on disk."""
        op = self.new_op()
        self.intent(op, action, node=node, **params)
        try:
            value = fn()
        except Exception as exc:
            self.result(op, False, f"{type(exc).__name__}: {exc}", node=node)
            raise
        self.result(op, True, node=node)
        return value

    # ------------------------------------------------------------------ closing

    def close(self, reason: str = "") -> None:
        """Write the end record and the final checkpoint, then release the lock."""
        if self._closed:
            return
        try:
            if self._failure is None:
                with self._mutex:
                    self._write(schema.END, None, None, {"reason": reason})
                    self._write_checkpoint(final=True)
        finally:
            self._closed = True
            try:
                unlock(self._fd)
            finally:
                os.close(self._fd)

    def __enter__(self) -> TranscriptWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close("error" if exc[0] else "")


def _callers_kind(kind: str) -> None:
    if kind not in schema.KINDS or kind in _WRITER_KINDS:
        raise ValueError(f"{kind!r} is not a kind a caller may append")


def _free_torn_path(path: Path) -> Path:
    candidate = path.with_name(path.name + ".torn")
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.torn.{n}")
        n += 1
    return candidate


@dataclass(frozen=True)
class ResumeScan:
    """What a transcript holds for a resume: its good records and where they end."""

    chain: ChainVerifier
    good_end: int  # byte offset just after the last good record
    torn: str = ""  # why the bytes after good_end are a torn write ("" when there are none)

    @property
    def header(self) -> dict[str, Any]:
        return self.chain.header["data"] if self.chain.header else {}


def _is_torn(line: bytes) -> bool:
    """A crash leaves a prefix of one write: no newline, or bytes that do not parse as JSON.

    A complete line that parses but does not fit the chain was written by someone else."""
    if not line.endswith(b"\n"):
        return True
    try:
        return not isinstance(json.loads(line), dict)
    except ValueError:
        return True


def scan_for_resume(path: Path, key: SigningKey | None) -> ResumeScan:
    """Check a transcript for resuming without changing it; TranscriptError says why not.

    Only a torn final line is tolerated; a complete record that fails the chain is tampering."""
    path = Path(path)
    size = path.stat().st_size
    with open_transcript(path) as handle:
        first = handle.readline(schema.MAX_LINE + 1)
    try:
        header_kid = schema.decode_line(first)["data"].get("key_kid")
    except schema.RecordError:
        header_kid = key.kid if key else None  # no header: reported below as such
    if (key.kid if key else None) != header_kid:
        raise TranscriptError(
            f"{path} was signed with key {header_kid or '(none)'}; "
            f"resume it with the same key, not {key.kid if key else '(none)'}"
        )
    chain = ChainVerifier(key)
    good_end = 0
    with open_transcript(path) as handle:
        for offset, line in iter_lines(handle):
            try:
                if not line.endswith(b"\n"):
                    raise ChainError(chain.count, offset, "no newline at end of record")
                chain.feed(offset, line)
            except ChainError as exc:
                if offset + len(line) < size:
                    raise TranscriptBroken(
                        f"{path} is damaged before its end ({exc}); it will not be resumed. "
                        "Run `sfpatch verify` on it and start a new session."
                    ) from None
                if not _is_torn(line):
                    raise TranscriptTampered(
                        f"{path}: record {exc.seq} is complete but {exc.reason}: it was changed "
                        "after it was written (tampering, not a crash); it will not be resumed. "
                        "Run `sfpatch verify` on it and start a new session."
                    ) from None
                if chain.count == 0:
                    raise TranscriptBroken(
                        f"{path} has no complete header; start a new session instead"
                    ) from None
                return ResumeScan(chain, good_end, exc.reason)
            good_end = offset + len(line)
    if chain.count == 0:
        raise TranscriptBroken(f"{path} is empty; start a new session instead")
    return ResumeScan(chain, good_end)
