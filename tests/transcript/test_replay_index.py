"""Replay's index against a plain read of the file: the same records, marks and verdicts for
intact, broken, torn and unsealed files; blocks bounded in bytes; a seek lands where playing
does."""

from __future__ import annotations

import dataclasses
import json
import random
import tracemalloc
from pathlib import Path

import pytest

from tui.sources.replay import ReplaySource
from tui.transcript.reader import BLOCK_BYTES, BROKEN, INTACT, TORN, verify_file
from tui.transcript.snapshot import encode_snapshot
from tui.transcript.timeline import is_finding
from tui.transcript.writer import TranscriptWriter

from .conftest import header
from .test_reader import synthetic
from .test_snapshot import sample

BIG = "x" * 90_000  # three of these fill a block's byte bound before its record bound


def session(path: Path, key=None, close: bool = True) -> Path:  # type: ignore[no-untyped-def]
    """A session of a few hundred records of mixed sizes, snapshots among them, written by the
    real writer (checkpoints and, when closed, the final seal)."""
    snap, findings = sample()
    writer = TranscriptWriter.create(header(), directory=path, key=key, checkpoint_every=50)
    rng = random.Random(5)
    for i in range(400):
        node = f"_FE_{i % 3}"
        roll = rng.random()
        if i % 25 == 0:
            status = ("Up", "Disabled", "Down")[i // 25 % 3]
            nodes = tuple(dataclasses.replace(n, status=status) for n in snap.nodes)
            writer.snapshot(encode_snapshot(dataclasses.replace(snap, nodes=nodes), findings))
        elif roll < 0.05:
            writer.note(BIG + str(i), node=node)
        elif roll < 0.25:
            writer.gate("cluster-healthy", roll < 0.15, why="", node=node)
        elif roll < 0.4:
            op = writer.new_op()
            writer.intent(op, "disable", node=node)
            writer.result(op, roll < 0.35, node=node)
        else:
            writer.note(f"note {i}", node=node)
    unsealed = writer.path.read_bytes()  # as a session still running has it: no end, no seal
    writer.close()
    if not close:
        writer.path.write_bytes(unsealed)
    return writer.path


def plain_lines(path: Path) -> list[bytes]:
    """The file's complete lines, read the simplest way."""
    data = path.read_bytes()
    return [line + b"\n" for line in data.split(b"\n")[:-1]]


def damaged(path: Path, how: str) -> Path:
    lines = plain_lines(path)
    if how == "broken":  # record 200, changed: its hash no longer matches
        lines[200] = lines[200].replace(b'"ts":"20', b'"ts":"19', 1)
        path.write_bytes(b"".join(lines))
    elif how == "torn":  # the last write cut short
        path.write_bytes(b"".join(lines)[:-40])
    return path


@pytest.mark.parametrize("how", ["intact", "broken", "torn", "unsealed"])
def test_the_index_finds_what_a_plain_read_finds(tmp_path, hmac_key, how):
    key = hmac_key if how == "unsealed" else None
    path = damaged(session(tmp_path, key=key, close=how != "unsealed"), how)
    lines = plain_lines(path)
    records = [json.loads(line) for line in lines]
    good = 200 if how == "broken" else len(lines)  # a torn line is not among the lines

    source = ReplaySource(path, key=key)
    result = verify_file(path, key)
    status = {"intact": INTACT, "broken": BROKEN, "torn": TORN, "unsealed": BROKEN}[how]
    assert result.status == status and source.count == result.records == good
    if how == "unsealed":
        assert source.verdict == "NOT SEALED" and result.bad_seq is None
    elif how != "intact":
        assert result.bad_seq == good and source.cut_short

    assert [source.record(n) for n in range(good)] == records[:good]
    timeline = source.timeline
    kinds = [r["kind"] for r in records[:good]]
    assert list(timeline.index.snapshots) == [n for n, k in enumerate(kinds) if k == "snapshot"]
    assert list(timeline.steps) == [n for n, k in enumerate(kinds) if k == "intent"]
    assert list(timeline.findings) == [n for n, r in enumerate(records[:good]) if is_finding(r)]

    # Each block starts on its first record's line, and holds at most BLOCK_BYTES before its
    # last record: reading a record never means reading many large ones.
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    index = timeline.index
    assert index.firsts[0] == 0 and len(index.firsts) > good // index.every + 1
    for b in range(len(index.firsts)):
        numbers = index.block_records(b)
        assert index.offsets[b] == starts[numbers.start]
        assert starts[numbers.stop - 1] - starts[numbers.start] < BLOCK_BYTES


def test_a_replay_of_large_records_reads_and_keeps_a_bounded_amount(tmp_path):
    path = tmp_path / "large.jsonl"
    synthetic(path, 100, text="y" * 120_000)
    tracemalloc.start()
    try:
        source = ReplaySource(path)
        for n in range(0, source.count, 3):
            source.seek(n)
            source.line(n)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The file is 11 MB; what is kept of it is bounded (4 MiB of blocks, plus the one in use).
    assert path.stat().st_size > 11_000_000
    assert peak < 6_000_000, peak


def test_a_seek_lands_on_the_state_playing_reaches(tmp_path):
    path = session(tmp_path)
    player = ReplaySource(path)
    played = []
    for _ in range(player.count):
        played.append(player.read())
        player.step(1)
    seeker = ReplaySource(path)
    order = list(range(seeker.count))
    random.Random(3).shuffle(order)
    for n in order[:150] + [0, seeker.count - 1]:
        assert seeker.seek(n) == n
        assert seeker.read() == played[n], n
        assert seeker.line(n) == player.line(n)


def test_each_move_lands_where_a_plain_search_does(tmp_path):
    path = session(tmp_path)
    source = ReplaySource(path)
    records = [json.loads(line) for line in plain_lines(path)]
    for n in random.Random(4).sample(range(source.count), 60):
        after = [m for m in range(n + 1, source.count)]
        source.seek(n)
        finding = next((m for m in after if is_finding(records[m])), None)
        assert source.next_finding() == finding and source.position == (finding or n)
        source.seek(n)
        step = next((m for m in after if records[m]["kind"] == "intent"), None)
        assert source.next_step() == step
        source.seek(n)
        before = [m for m in range(n) if records[m]["kind"] == "intent"]
        assert source.previous_step() == (before[-1] if before else None)
        moment = source.time_of(n)
        first = next(m for m in range(source.count) if source.time_of(m) >= moment)
        assert source.seek_time(moment) == first


def test_a_time_shared_by_records_either_side_of_a_block_lands_on_the_first(tmp_path, monkeypatch):
    # A fast machine writes many records in one millisecond; here every record has the same.
    from tui.transcript import schema

    monkeypatch.setattr(schema, "utc_now", lambda: "2026-12-02T07:13:22.772Z")
    writer = TranscriptWriter.create(header(), directory=tmp_path, checkpoint_every=50)
    for i in range(600):  # three blocks of 256 records
        writer.note(f"note {i}")
    writer.close()
    source = ReplaySource(writer.path)
    moment = source.time_of(source.count - 1)
    assert all(source.time_of(n) == moment for n in range(source.count))
    assert source.seek_time(moment) == 0
