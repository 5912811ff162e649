"""The wire schema of a transcript record: kinds, canonical bytes, hashing, line encoding.

Pure functions only. A line is the canonical JSON of the record without `hash` (sorted keys,
compact separators, UTF-8, no floats), with `,"hash":"<sha256 hex of those bytes>"` inserted
before the closing brace, then a newline.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import orjson

FORMAT = "sfpatch-transcript"
VERSION = 1
GENESIS = "0" * 64

START = "start"
END = "end"
RESUME = "resume"
CHECKPOINT = "checkpoint"
SNAPSHOT = "snapshot"
INTENT = "intent"
RESULT = "result"
GATE = "gate"
WARNING = "warning"
CONFIRM = "confirm"
NOTE = "note"
LEASE = "lease"
KINDS = frozenset(
    {START, END, RESUME, CHECKPOINT, SNAPSHOT, INTENT, RESULT, GATE, WARNING, CONFIRM, NOTE, LEASE}
)

RECORD_FIELDS = ("seq", "ts", "mono_ms", "kind", "op", "node", "data", "prev")
_MARK = b',"hash":"'
_HASH_SUFFIX_LEN = len(_MARK) + 64 + len(b'"}\n')
_FIELD_SET = frozenset(RECORD_FIELDS)
_RAW_DECODE = json.JSONDecoder().raw_decode
_END = b'"}\n'
MAX_LINE = 16 * 1024 * 1024  # a record longer than this is refused by the writer and the reader


class RecordError(ValueError):
    """A line is not a well-formed record (bad JSON, missing field, hash mismatch)."""


def canonical(obj: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, compact, UTF-8; floats and NaN are refused."""
    _refuse_floats(obj)
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _refuse_floats(obj: Any) -> None:
    if isinstance(obj, float):
        raise TypeError(f"floats are not allowed in a transcript record: {obj!r}")
    if isinstance(obj, dict):
        for value in obj.values():
            _refuse_floats(value)
    elif isinstance(obj, list | tuple):
        for value in obj:
            _refuse_floats(value)


def utc_now() -> str:
    """The current UTC time as ISO 8601 with milliseconds and a Z suffix."""
    return format_ts(datetime.now(UTC))


def format_ts(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds, e.g. 2025-01-14T09:30:00.123Z."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def parse_ts(text: str) -> datetime:
    """The inverse of format_ts (accepts any ISO 8601 with offset or Z)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def encode_record(fields: dict[str, Any]) -> tuple[bytes, str]:
    """(line bytes ending in newline, hash hex) for a record given without its hash."""
    body = canonical(fields)
    digest = hashlib.sha256(body).hexdigest()
    line = body[:-1] + _MARK + digest.encode("ascii") + b'"}\n'
    if len(line) > MAX_LINE:
        raise ValueError(f"record of {len(line)} bytes exceeds the {MAX_LINE}-byte limit")
    return line, digest


def _fast_loads(line: bytes) -> Any:
    """orjson's reading of a line shaped as our writer makes them, or None to leave the line to
    the standard parser: whatever orjson refuses (NaN, a lone surrogate, bad JSON) or whatever
    is not shaped like our lines is read by that parser, so the values accepted and the errors
    given stay the standard parser's. One difference is left: orjson reads an integer beyond
    64 bits as a float, and no number sfpatch records comes near 2**63 (a `seq` that does is
    read again by the standard parser, so its error is the usual one)."""
    if line[:1] == b"{" and line.endswith(_END):
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
    return None


def loads(line: bytes) -> Any:
    """The JSON value of a record's line, as json.loads reads it (only faster)."""
    value = _fast_loads(line)
    return json.loads(line) if value is None else value


def decode_line(line: bytes) -> dict[str, Any]:
    """Parse one newline-terminated line and check its hash; raises RecordError."""
    if not line.endswith(b"\n"):
        raise RecordError("no newline at end of record (torn write)")
    if len(line) < _HASH_SUFFIX_LEN + 2 or line[-_HASH_SUFFIX_LEN : 9 - _HASH_SUFFIX_LEN] != _MARK:
        raise RecordError("no hash member at end of record")
    record = _fast_loads(line)
    if record is None or type(record.get("seq")) is float:  # the exact error, in its words
        try:
            text = line.decode("utf-8")
            record, end = _RAW_DECODE(text)
        except (UnicodeDecodeError, ValueError) as exc:
            raise RecordError(f"not valid JSON: {exc}") from None
        if end != len(text) - 1:
            raise RecordError("not a single JSON object")
    if not isinstance(record, dict):
        raise RecordError("not a single JSON object")
    body = line[:-_HASH_SUFFIX_LEN] + b"}"
    if hashlib.sha256(body).hexdigest() != record.get("hash"):
        raise RecordError("hash does not match the record's content")
    if not record.keys() >= _FIELD_SET:
        missing = sorted(_FIELD_SET - record.keys())
        raise RecordError(f"missing field(s) {', '.join(missing)}")
    if type(record["seq"]) is not int or type(record["data"]) is not dict:
        raise RecordError("seq must be an integer and data an object")
    return record


_TS_KEY = b',"ts":"'
_TS_LEN = len("2025-01-14T09:30:00.000Z")


def line_ts(line: bytes) -> str | None:
    """A verified line's `ts`, read without parsing the line, when it ends as the writer ends
    one (`,"ts":"<time>","hash":"<hex>"}` and the newline); else None (parse it).

    Exact: a `"` after a comma cannot be inside a string, so these are the last two members of
    the outermost object, and the last `ts` is the one a parser keeps."""
    end = len(line) - _HASH_SUFFIX_LEN
    start = end - len(_TS_KEY) - _TS_LEN - 1
    if start < 1 or line[start : start + len(_TS_KEY)] != _TS_KEY or line[end - 1] != 34:
        return None
    ts = line[end - 1 - _TS_LEN : end - 1]
    if b'"' in ts or b"\\" in ts or not ts.isascii():
        return None
    return ts.decode("ascii")


def checkpoint_message(session: str, count: int, head: str, final: bool) -> bytes:
    """The bytes a checkpoint signs: session, records covered, head hash, and whether it seals."""
    lines = [f"{FORMAT}/{VERSION}", session, str(count), head, "final" if final else "open"]
    return ("\n".join(lines) + "\n").encode("utf-8")
