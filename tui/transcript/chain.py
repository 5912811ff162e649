"""Incremental checking of a transcript: sequence, hash chain, header, checkpoints and signatures.

No I/O: the reader, the tailer and the writer's resume feed it one line at a time, so the rules
of a valid chain live here once.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from tui.transcript import schema
from tui.transcript.keys import VerifyKey

UNSIGNED = "none"
_KINDS_WITH_RULES = frozenset({schema.START, schema.CHECKPOINT, schema.END, schema.RESUME})


@dataclass(frozen=True)
class ChainError(Exception):
    """The first record that breaks the chain: where and why."""

    seq: int
    offset: int
    reason: str

    def __str__(self) -> str:
        return f"record {self.seq} at byte {self.offset}: {self.reason}"


class ChainVerifier:
    """Feed lines in order; each call checks one record against everything before it."""

    def __init__(self, key: VerifyKey | None = None) -> None:
        self.key = key
        self.header: dict[str, Any] | None = None
        self.count = 0
        self.head = schema.GENESIS
        self.last: dict[str, Any] | None = None
        self.first_ts = ""
        self.checkpoints = 0
        self.signed_checkpoints = 0
        self.signed_count = 0  # records covered by the latest good signed checkpoint
        self.sealed = False  # the last record so far is a final checkpoint
        self.closed = False  # an end record has been seen since the last resume
        self.end_reason = ""  # the reason that end record gives
        self.resumes = 0
        self.algs: set[str] = set()

    def feed(self, offset: int, line: bytes) -> dict[str, Any]:
        """Check one newline-terminated line and return its record; raises ChainError."""
        try:
            record = schema.decode_line(line)
        except schema.RecordError as exc:
            raise ChainError(self.count, offset, str(exc)) from None
        # The common record (next in sequence, linked, of no kind with rules of its own) costs
        # three comparisons: verify_file feeds every record of a file through here.
        kind = record["kind"]
        if (
            kind in _KINDS_WITH_RULES
            or record["seq"] != self.count
            or record["prev"] != self.head
            or not self.count
        ):
            self._check(record, offset)
            self._advance(record)
            return record
        self.count += 1
        self.head = record["hash"]
        self.last = record
        self.sealed = False
        return record

    def _fail(self, offset: int, reason: str) -> ChainError:
        return ChainError(self.count, offset, reason)

    def _check(self, record: dict[str, Any], offset: int) -> None:
        if record["seq"] != self.count:
            raise self._fail(offset, f"seq is {record['seq']}, expected {self.count}")
        if record["prev"] != self.head:
            raise self._fail(offset, "prev does not match the previous record's hash")
        kind = record["kind"]
        if self.count == 0:
            data = record["data"]
            if kind != schema.START or data.get("format") != schema.FORMAT:
                raise self._fail(offset, "record 0 is not an sfpatch transcript header")
            if not isinstance(data.get("version"), int) or data["version"] > schema.VERSION:
                raise self._fail(offset, f"unsupported format version {data.get('version')!r}")
        elif kind == schema.START:
            raise self._fail(offset, "a second start record")
        if kind == schema.CHECKPOINT:
            self._check_checkpoint(record, offset)

    def _check_checkpoint(self, record: dict[str, Any], offset: int) -> None:
        data = record["data"]
        if data.get("count") != record["seq"] or data.get("head") != record["prev"]:
            raise self._fail(offset, "checkpoint count or head does not match the chain")
        alg = data.get("alg", UNSIGNED)
        self.algs.add(alg)
        if self.key is None:
            return
        if alg == UNSIGNED:
            raise self._fail(offset, "checkpoint is unsigned, but a key was given")
        if alg != self.key.alg or data.get("kid") != self.key.kid:
            raise self._fail(
                offset,
                f"checkpoint signed with {alg} key {data.get('kid')}, "
                f"not the given {self.key.alg} key {self.key.kid}",
            )
        message = schema.checkpoint_message(
            self.header["data"]["session"] if self.header else "",
            record["seq"],
            record["prev"],
            bool(data.get("final")),
        )
        try:
            signature = base64.b64decode(data.get("sig", ""), validate=True)
        except ValueError:
            signature = b""
        if not self.key.verify(message, signature):
            raise self._fail(offset, "checkpoint signature does not verify")

    def _advance(self, record: dict[str, Any]) -> None:
        kind = record["kind"]
        if self.count == 0:
            self.header = record
            self.first_ts = record["ts"]
        self.count += 1
        self.head = record["hash"]
        self.last = record
        self.sealed = False
        if kind == schema.CHECKPOINT:
            self.checkpoints += 1
            if record["data"].get("alg", UNSIGNED) != UNSIGNED:
                self.signed_checkpoints += 1
                self.signed_count = record["seq"]
            self.sealed = bool(record["data"].get("final"))
        elif kind == schema.END:
            self.closed = True
            self.end_reason = str(record["data"].get("reason") or "")
        elif kind == schema.RESUME:
            self.resumes += 1
            self.closed = False


def sign_checkpoint(key: Any, session: str, count: int, head: str, final: bool) -> dict[str, Any]:
    """The data of a checkpoint record covering `count` records whose last hash is `head`."""
    data: dict[str, Any] = {"count": count, "head": head, "final": final}
    if key is None:
        data["alg"] = UNSIGNED
        return data
    message = schema.checkpoint_message(session, count, head, final)
    data.update(alg=key.alg, kid=key.kid, sig=base64.b64encode(key.sign(message)).decode("ascii"))
    return data
