"""Streaming reads, the offset index and bounded memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from tui.transcript import schema
from tui.transcript.errors import TranscriptUnreadable
from tui.transcript.reader import TranscriptReader, iter_records, verify_file
from tui.transcript.writer import TranscriptWriter

from .conftest import header


def synthetic(path: Path, count: int, snapshot_every: int = 0, text: str = "") -> None:
    """A valid transcript of `count` records, encoded without fsync (fast)."""
    prev = schema.GENESIS
    with open(path, "wb") as out:
        for seq in range(count):
            kind = "start" if seq == 0 else "note"
            if snapshot_every and seq and seq % snapshot_every == 0:
                kind = "snapshot"
            data = {"format": schema.FORMAT, "version": 1, "operator": "alice", "session": "s"}
            if seq:
                data = {"text": f"record {seq}{text}", "kind": "snapshot"}
            line, prev = schema.encode_record(
                {
                    "seq": seq,
                    "ts": "2025-01-14T09:30:00.000Z",
                    "mono_ms": seq,
                    "kind": kind,
                    "op": None,
                    "node": None,
                    "data": data,
                    "prev": prev,
                }
            )
            out.write(line)


def test_index_jumps_to_any_record(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    synthetic(path, 1000, snapshot_every=100)
    reader = TranscriptReader(path, every=64)
    assert len(reader) == 1000 and len(reader.index.offsets) == 16
    for n in (0, 1, 63, 64, 65, 500, 999):
        assert reader.record(n)["seq"] == n
    assert [r["seq"] for r in reader.iter_from(997)] == [997, 998, 999]
    assert reader.index.snapshots.tolist() == list(range(100, 1000, 100))
    assert reader.snapshot_before(250)["seq"] == 200
    assert reader.snapshot_before(99) is None
    with pytest.raises(IndexError):
        reader.record(1000)


def test_records_stop_before_a_torn_line(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    writer.note("one")
    with open(writer.path, "ab") as handle:
        handle.write(b'{"data":{"te')
    assert [r["kind"] for r in iter_records(writer.path)] == ["start", "note"]
    assert TranscriptReader(writer.path).index.count == 2
    result = verify_file(writer.path)
    assert (result.exit_code, result.records, result.bad_seq) == (3, 2, 2)
    writer.close()


def test_verify_runs_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    synthetic(path, 20_000)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        result = verify_file(path)
        reader = TranscriptReader(path)
        last = reader.record(19_999)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0 and result.records == 20_000 and last["seq"] == 19_999
    assert peak < size / 4 and peak < 3_000_000, (peak, size)


def test_empty_and_foreign_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert (verify_file(empty).exit_code, verify_file(empty).summary()) == (2, "EMPTY: no records")
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_bytes(b'{"hello": "world"}\n')
    with pytest.raises(TranscriptUnreadable, match="not an sfpatch transcript"):
        verify_file(foreign)
