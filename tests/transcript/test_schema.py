"""Canonical form, hashing and line encoding."""

from __future__ import annotations

import hashlib
import json

import pytest

from tui.transcript import schema


def fields(**extra: object) -> dict:
    base = dict(seq=0, ts="2025-01-14T09:30:00.000Z", mono_ms=5, kind="start", op=None, node=None)
    base.update(data={"b": 1, "a": "é"}, prev=schema.GENESIS)
    base.update(extra)
    return base


def test_canonical_is_sorted_compact_utf8() -> None:
    assert schema.canonical({"b": [1, {"d": None, "c": True}], "a": "é"}) == (
        '{"a":"é","b":[1,{"c":true,"d":null}]}'.encode()
    )


@pytest.mark.parametrize("value", [1.5, float("nan"), float("inf"), {"x": [0.0]}])
def test_canonical_refuses_floats_and_nan(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        schema.canonical(value)


def test_hash_is_sha256_of_canonical_record_without_hash() -> None:
    line, digest = schema.encode_record(fields())
    record = json.loads(line)
    assert record.pop("hash") == digest
    assert hashlib.sha256(schema.canonical(record)).hexdigest() == digest
    assert line.endswith(b'"}\n') and line.count(b"\n") == 1


def test_decode_round_trip_and_rejections() -> None:
    line, _ = schema.encode_record(fields())
    assert schema.decode_line(line)["data"] == {"a": "é", "b": 1}
    with pytest.raises(schema.RecordError, match="newline"):
        schema.decode_line(line[:-1])
    with pytest.raises(schema.RecordError, match="hash"):
        schema.decode_line(line.replace(b'"b":1', b'"b":2'))
    with pytest.raises(schema.RecordError):
        schema.decode_line(b"{}\n")


def test_chain_links_each_record_to_the_previous_hash() -> None:
    first, h0 = schema.encode_record(fields())
    second, h1 = schema.encode_record(fields(seq=1, kind="note", prev=h0))
    assert json.loads(second)["prev"] == json.loads(first)["hash"] == h0
    assert h0 != h1


def test_timestamps_are_utc_iso_with_milliseconds() -> None:
    ts = schema.utc_now()
    assert ts.endswith("Z") and len(ts) == len("2025-01-14T09:30:00.000Z")
    assert schema.format_ts(schema.parse_ts(ts)) == ts


def standard_decode(line: bytes) -> dict:
    """decode_line as the standard parser alone reads a line: the reference the fast path keeps."""
    text = line.decode("utf-8")
    record, end = json.JSONDecoder().raw_decode(text)
    if end != len(text) - 1 or not isinstance(record, dict):
        raise ValueError("not a single JSON object")
    return record


def hashed(body: bytes) -> bytes:
    """A line of any body (JSON or not), with the hash member a writer would give it."""
    digest = hashlib.sha256(body).hexdigest().encode()
    return body[:-1] + b',"hash":"' + digest + b'"}\n'


_GOOD = schema.canonical(fields())


@pytest.mark.parametrize(
    "body",
    [
        _GOOD,
        _GOOD.replace(b'"b":1', b'"b":NaN'),
        _GOOD.replace(b'"b":1', b'"b":-Infinity'),
        _GOOD.replace(b'"b":1', b'"b":1e400'),
        _GOOD.replace(b'"b":1', b'"b":"\\ud800"'),
        _GOOD.replace(b'"seq":0', b'"seq":1180591620717411303424'),
        _GOOD.replace(b'"b":1', b'"b":18446744073709551615'),
        _GOOD.replace(b'"b":1', b'"b":"\xff"'),
        _GOOD.replace(b'"b":1', b'"b":1,"b":2'),
        _GOOD.replace(b'"b":1', b'"b":"tab\there"'),
        _GOOD.replace(b'"b":1', b'"b":[1,]'),
        b" " + _GOOD,
        b"\xef\xbb\xbf" + _GOOD,
        b'["a",{"b":1}]',
    ],
)
def test_decode_reads_a_line_as_the_standard_parser_does(body: bytes) -> None:
    line = hashed(body)
    try:
        expected: object = standard_decode(line)
    except ValueError:
        expected = ValueError
    try:
        got: object = schema.decode_line(line)
        assert schema.loads(line) == got
    except schema.RecordError:
        got = ValueError
    if isinstance(expected, dict) and type(expected["seq"]) is not int:
        expected = ValueError  # decode_line refuses a seq that is not an integer, as it did
    assert repr(got) == repr(expected)  # repr: NaN is not equal to itself


_TS = b'"ts":"2025-01-14T09:30:00.000Z"'


@pytest.mark.parametrize(
    "body",
    [
        _GOOD,
        _GOOD.replace(_TS, _TS + b',"uid":"u"'),  # ts not the last member: parse instead
        _GOOD.replace(_TS, b'"ts":"2025-01-14T09:30:00.00\\u0030"'),  # an escape: parse
        _GOOD.replace(_TS, b'"ts":"short"'),
        _GOOD.replace(_TS, b'"ts":"1999-01-14T09:30:00.000Z",' + _TS),  # the last ts counts
        _GOOD.replace(_TS, b'"ts":"1999-01-14T09:30:00.000Z","x":{' + _TS + b"}"),  # nested
        _GOOD.replace(_TS, b'"ts":"2025-01-14T09:30:00.\xc3\xa9Z"'),
    ],
)
def test_the_time_read_off_a_line_is_the_one_a_parser_reads(body: bytes) -> None:
    line = hashed(body)
    ts = schema.line_ts(line)
    assert ts is None or ts == json.loads(line)["ts"]
    if body == _GOOD:
        assert ts == "2025-01-14T09:30:00.000Z"
