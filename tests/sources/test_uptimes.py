"""Replay and observe show a node's uptime as of the record shown, worked out from the last
snapshot record: a snapshot is recorded only when more than the uptimes changed."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.transcript.conftest import header
from tui.model import ClusterSnapshot, Node
from tui.sources.observe import ObserveSource
from tui.sources.replay import ReplaySource
from tui.transcript import schema
from tui.transcript.snapshot import encode_snapshot, uptimes_moved
from tui.transcript.writer import TranscriptWriter

T = datetime(2026, 1, 13, 9, 0, tzinfo=UTC)
# name -> (status, recorded uptime): a Down node and one without an uptime are not moved on.
NODES = {
    "_FE_0": ("Up", 5),
    "_FE_1": ("Disabled", 3600),
    "_FE_2": ("Down", 100),
    "_FE_3": ("Up", 0),
}


class Clock:
    """The writer's clock: records are stamped with `now`, moved by the test."""

    def __init__(self) -> None:
        self.now = T

    def at(self, seconds: float) -> None:
        self.now = T + timedelta(seconds=seconds)

    def __call__(self) -> str:
        return schema.format_ts(self.now)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(schema, "utc_now", clock)
    return clock


def node(i: int, name: str, status: str, uptime: int) -> Node:
    place = (f"10.0.0.{i}", str(i), f"fd:/{i}")  # address, upgrade and fault domain
    return Node(name, "FE", *place, status, "Ok", False, "10.1", "1", f"id{i}", uptime)


def snapshot(taken_at: datetime, **uptimes: int) -> ClusterSnapshot:
    """NODES read at `taken_at`; `uptimes` overrides a node's recorded uptime."""
    nodes = tuple(
        node(i, name, status, uptimes.get(name, uptime))
        for i, (name, (status, uptime)) in enumerate(NODES.items())
    )
    return ClusterSnapshot(taken_at, "contoso-prod", "https://e", nodes=nodes)


def uptimes(view) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {n.name: n.uptime_seconds for n in view.snapshot.nodes}


def moved(seconds: int, **uptimes: int) -> dict[str, int]:
    """NODES' uptimes `seconds` after the read, as replay and observe should show them."""
    recorded = {name: uptimes.get(name, up) for name, (_, up) in NODES.items()}
    return {
        name: up + seconds if up > 0 and NODES[name][0] != "Down" else up
        for name, up in recorded.items()
    }


def uptime_session(directory: Path, clock: Clock) -> tuple[Path, dict[str, int]]:
    """A snapshot at T, a note 600 s on, a lease renewal at 900 s, the next snapshot at 1,000 s
    (_FE_0 restarted: 7 s up), a note at 1,600 s; closed. Returns the file and each record's
    number by name."""
    writer = TranscriptWriter.create(header(), directory=directory)
    at = {"snapshot": writer.snapshot(encode_snapshot(snapshot(T)))["seq"]}
    clock.at(600)
    at["note"] = writer.note("patching _FE_1 by hand")["seq"]
    clock.at(900)
    at["renew"] = writer.lease("renew", name="sfpatch-lease")["seq"]
    clock.at(1000)
    later = snapshot(T + timedelta(seconds=1000), _FE_0=7)
    at["next snapshot"] = writer.snapshot(encode_snapshot(later))["seq"]
    clock.at(1600)
    at["last note"] = writer.note("done")["seq"]
    writer.close("quit by the engineer")
    return writer.path, at


def test_replay_moves_uptimes_on_to_the_record_shown(tmp_path, clock):
    path, at = uptime_session(tmp_path, clock)
    source = ReplaySource(path)

    def at_record(name: str) -> dict[str, int]:
        source.seek(at[name])
        return uptimes(source.read())

    assert at_record("snapshot") == moved(0)
    assert at_record("note") == moved(600)  # _FE_0: 605 s, "10m 05s"
    assert at_record("renew") == moved(900)
    assert at_record("next snapshot") == moved(0, _FE_0=7)  # the next record replaces it
    assert at_record("last note") == moved(600, _FE_0=7)
    assert at_record("note") == moved(600)  # back again: the same


def test_replay_keeps_one_view_per_second_so_nothing_is_redrawn(tmp_path, clock):
    path, at = uptime_session(tmp_path, clock)
    source = ReplaySource(path)
    source.seek(at["note"])
    first = source.read().snapshot
    assert source.read().snapshot is first
    source.seek(at["snapshot"])
    assert source.read().snapshot is not first


def crashed_and_resumed(directory: Path, clock: Clock, observe=None):  # type: ignore[no-untyped-def]
    """A snapshot at T and a note 60 s on; a crash; resumed two hours later, a note after it,
    then the resumed session's first snapshot (_FE_0 up 3 s) and a note 100 s on. `observe`
    is called after each step with the step's name."""
    step = observe or (lambda name: None)
    writer = TranscriptWriter.create(header(), directory=directory)
    writer.snapshot(encode_snapshot(snapshot(T)))
    clock.at(60)
    writer.note("disabling _FE_1")
    step("before the crash")
    os.close(writer._fd)  # a crash: no end record, the lock gone with the descriptor
    clock.at(7200)
    resumed = TranscriptWriter.resume(writer.path)
    clock.at(7300)
    resumed.note("back after the crash")
    step("resumed")
    resumed.snapshot(encode_snapshot(snapshot(T + timedelta(seconds=7300), _FE_0=3)))
    clock.at(7400)
    resumed.note("going on")
    step("polled again")
    resumed.close()
    return writer.path


def test_replay_does_not_move_uptimes_across_a_resume(tmp_path, clock):
    source = ReplaySource(crashed_and_resumed(tmp_path, clock))
    kinds = [source.record(n)["kind"] for n in range(source.count)]
    resume = kinds.index("resume")
    for n in (resume - 1, resume, resume + 1):  # nobody polled while the session was down
        source.seek(n)
        assert uptimes(source.read()) == moved(60), n
    source.seek(kinds.index("snapshot", resume) + 1)
    assert uptimes(source.read()) == moved(100, _FE_0=3)


def test_observe_moves_uptimes_on_to_the_newest_record(tmp_path, clock):
    writer = TranscriptWriter.create(header(), directory=tmp_path)
    writer.snapshot(encode_snapshot(snapshot(T)))
    source = ObserveSource(writer.path, poll_seconds=3600)
    assert uptimes(source.read()) == moved(0)
    clock.at(600)
    writer.note("patching _FE_1 by hand")
    clock.at(840)  # the wall clock moves on; what observe shows does not
    assert uptimes(source.read()) == moved(600)
    clock.at(900)
    writer.lease("renew", name="sfpatch-lease")
    assert uptimes(source.read()) == moved(900)
    clock.at(1000)
    writer.snapshot(encode_snapshot(snapshot(T + timedelta(seconds=1000), _FE_0=7)))
    assert uptimes(source.read()) == moved(0, _FE_0=7)
    writer.close("quit by the engineer")
    assert uptimes(source.read())["_FE_0"] == 7  # the end record, written at the same second


def test_observe_does_not_move_uptimes_across_a_resume(tmp_path, clock):
    seen: dict[str, dict[str, int]] = {}
    holder: list[ObserveSource] = []

    def observe(step: str) -> None:
        if not holder:
            holder.append(ObserveSource(next(tmp_path.rglob("*.jsonl")), poll_seconds=3600))
        seen[step] = uptimes(holder[0].read())

    crashed_and_resumed(tmp_path, clock, observe)
    assert seen == {
        "before the crash": moved(60),
        "resumed": moved(60),
        "polled again": moved(100, _FE_0=3),
    }


def test_uptimes_move_by_the_records_times_not_the_clusters_clock(tmp_path, clock):
    """A demo's simulator keeps its own clock (five days behind here, standing still): the
    uptimes move on by the time between the records, which the writer stamps, as they do on a
    live cluster; not by the records' time less the cluster's."""
    writer = TranscriptWriter.create(header(), directory=tmp_path)
    read = snapshot(T - timedelta(days=5))
    writer.snapshot(encode_snapshot(read))
    observed = ObserveSource(writer.path, poll_seconds=3600)
    clock.at(600)
    note = writer.note("patching _FE_1 by hand")["seq"]
    writer.close("quit by the engineer")
    assert uptimes(observed.read()) == moved(600)
    replayed = ReplaySource(writer.path)
    replayed.seek(note)
    assert uptimes(replayed.read()) == moved(600)


def test_no_gap_is_the_same_snapshot_and_down_or_unknown_uptimes_stay():
    read = snapshot(T)
    assert uptimes_moved(read, 0) is read
    later = uptimes_moved(read, 30)
    assert {n.name: n.uptime_seconds for n in later.nodes} == moved(30)
    assert later.taken_at == read.taken_at  # when it was read stays what the status line says
    assert [(n.name, n.status, n.instance_id) for n in later.nodes] == [
        (n.name, n.status, n.instance_id) for n in read.nodes
    ]
