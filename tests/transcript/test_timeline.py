"""Replay's index and player logic without a screen: marks, seeking by time, idle gaps, verdicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tui.errors import UsageError
from tui.sources.replay import ReplaySource, clamp_speed, parse_moment
from tui.transcript import schema
from tui.transcript.timeline import Timeline, is_finding

T0 = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)


def write(path, kinds_and_gaps, close=True):
    """A valid transcript: (kind, data, seconds after the previous record) per record."""
    prev, seq, at = schema.GENESIS, 0, T0
    rows = [("start", {"format": schema.FORMAT, "version": 1, "session": "s"}, 0)]
    rows += kinds_and_gaps
    if close:
        rows += [("end", {"reason": "quit"}, 0), ("checkpoint", None, 0)]
    with open(path, "wb") as out:
        for kind, data, gap in rows:
            at += timedelta(seconds=gap)
            if kind == "checkpoint":
                data = {"count": seq, "head": prev, "final": True, "alg": "none"}
            fields = {"seq": seq, "ts": schema.format_ts(at), "mono_ms": 0, "kind": kind,
                      "op": None, "node": "n1", "data": data, "prev": prev}  # fmt: skip
            line, prev = schema.encode_record(fields)
            out.write(line)
            seq += 1
    return path


@pytest.mark.parametrize(
    ("kind", "data", "stop"),
    [
        ("gate", {"gate": "g", "passed": True}, True),
        ("warning", {"message": "m"}, True),
        ("confirm", {"what": "x", "typed_node_name": True}, True),
        ("confirm", {"what": "x", "overriding_gates": ["g"]}, True),
        ("confirm", {"what": "x", "typed_node_name": False}, False),
        ("result", {"outcome": "error"}, True),
        ("result", {"outcome": "ok"}, False),
        ("note", {"text": "t"}, False),
        ("intent", {"action": "disable"}, False),
    ],
)
def test_what_f_stops_at(kind, data, stop):
    assert is_finding({"kind": kind, "data": data}) is stop


def test_idle_gaps_are_capped_and_divided_by_the_speed(tmp_path):
    rows = [("note", {"text": "a"}, 1), ("note", {"text": "b"}, 3600), ("note", {"text": "c"}, 0)]
    source = ReplaySource(write(tmp_path / "t.jsonl", rows), speed=2, idle_limit=2)
    assert source.delay() == 0.5  # 1 s recorded, at 2x
    source.seek(1)
    assert source.delay() == 1.0  # an hour's idle gap cut to 2 s, at 2x
    source.seek(2)
    assert source.delay() == 0.02  # written in the same millisecond: still a timer, not 0 s
    source.seek(source.count - 1)
    assert source.delay() is None


def test_seeking_by_time_across_index_blocks(tmp_path):
    rows = [("note", {"text": str(i)}, 10) for i in range(1000)]
    source = ReplaySource(write(tmp_path / "t.jsonl", rows))
    assert len(source.timeline.block_ts_ms) == 4  # every 256th record's time only
    assert source.seek_time(T0 + timedelta(seconds=5000)) == 500
    assert source.seek_time(T0 + timedelta(seconds=5001)) == 501
    assert source.seek_time(T0 - timedelta(days=1)) == 0
    assert source.seek_time(T0 + timedelta(days=1)) == source.count - 1


def test_marks_of_node_steps_and_stops(tmp_path):
    rows = [("intent", {"action": "disable"}, 1), ("result", {"outcome": "error"}, 1),
            ("intent", {"action": "enable"}, 1), ("result", {"outcome": "ok"}, 1)]  # fmt: skip
    source = ReplaySource(write(tmp_path / "t.jsonl", rows))
    assert list(source.timeline.steps) == [1, 3] and list(source.timeline.findings) == [2]
    assert source.next_step() == 1 and source.next_step() == 3 and source.next_step() is None
    assert source.previous_step() == 1 and source.previous_step() is None
    source.seek(0)
    assert source.next_finding() == 2 and source.next_finding() is None


def test_verdicts(tmp_path):
    rows = [("note", {"text": "a"}, 1)]
    assert ReplaySource(write(tmp_path / "a.jsonl", rows)).verdict == "INTACT, unsigned"
    open_one = ReplaySource(write(tmp_path / "b.jsonl", rows, close=False))
    assert open_one.verdict.startswith("NOT SEALED")
    torn = write(tmp_path / "c.jsonl", rows)
    torn.write_bytes(torn.read_bytes()[:-10])
    source = ReplaySource(torn)
    assert source.verdict == "TORN tail after record 2" and source.count == 3 and source.cut_short


def test_parse_moment():
    first = T0 + timedelta(hours=1)
    assert parse_moment("22:15", first) == T0.replace(minute=15)
    assert parse_moment("22:15:07", first) == T0.replace(minute=15, second=7)
    assert parse_moment("2026-11-27T01:00:00", first) == T0 + timedelta(hours=3)
    assert parse_moment("2026-11-27T01:00:00Z", first) == T0 + timedelta(hours=3)
    for bad in ("soon", "25:00", "1", "22:15:07:01"):
        with pytest.raises(UsageError):
            parse_moment(bad, first)


def test_speeds_are_clamped():
    assert clamp_speed(100) == 16 and clamp_speed(0.01) == 0.25 and clamp_speed(3) in (2, 4)


def test_timeline_adds_in_order():
    timeline = Timeline()
    timeline.add(0, {"kind": "start", "ts": "2026-11-26T22:00:00.000Z", "data": {}})
    timeline.add(99, {"kind": "snapshot", "ts": "2026-11-26T22:00:01.000Z", "data": {}})
    assert timeline.count == 2 and list(timeline.index.snapshots) == [1]
    assert list(timeline.index.offsets) == [0]
