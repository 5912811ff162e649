"""Replay on the console's screens, driven through Pilot (no clock, no sleeping)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.app.recorded import NODE, session_transcript
from tests.sources.test_uptimes import NODES, Clock, uptime_session
from tui.app.app import SfpatchApp
from tui.app.screens.replay import ReplayScreen
from tui.app.widgets.node_detail import NOT_RECORDED
from tui.app.widgets.nodes_table import NodesTable
from tui.app.widgets.timeline_bar import timeline_text
from tui.app.widgets.transcript_pane import TranscriptPane
from tui.sources.replay import ReplaySource
from tui.transcript import schema

SIZE = (160, 48)


@pytest.fixture
def transcript(sim, tmp_path):
    return session_transcript(sim, tmp_path / "transcripts")


@pytest.fixture
def minutes_apart(sim, tmp_path, monkeypatch):
    """The same session, its records written a minute apart (as a slow session writes them)."""
    start = datetime(2026, 1, 13, 9, 0, tzinfo=UTC)
    moments = (start + timedelta(minutes=i) for i in itertools.count())
    with monkeypatch.context() as patch:
        patch.setattr(schema, "utc_now", lambda: schema.format_ts(next(moments)))
        return session_transcript(sim, tmp_path / "transcripts")


async def until(pilot, done: Callable[[], bool], rounds: int = 100) -> bool:
    """Pause until `done()` holds: a key no priority binding takes bubbles up through several
    queues, which a loaded machine may not have worked through when `press` returns."""
    for _ in range(rounds):
        if done():
            return True
        await pilot.pause()
    return done()


async def settle(app: SfpatchApp, pilot) -> None:
    """Let the state worker finish and its message be drawn."""
    for _ in range(2):
        await app.workers.wait_for_complete()
        await pilot.pause()


def kinds(source: ReplaySource) -> list[str]:
    return [source.record(n)["kind"] for n in range(source.count)]


async def test_keys_walk_the_transcript_and_redraw_the_screens(transcript):
    source = ReplaySource(transcript)
    app = SfpatchApp(source=source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, ReplayScreen)
        header = app.main.state.header
        assert header.mode == "REPLAY" and header.verdict == "INTACT, unsigned"
        assert header.ticket == "CHG-77" and header.position.startswith(f"1/{source.count} ")
        assert app.snapshot is None  # record 0 is the header: nothing was on screen yet

        await pilot.press("right")
        await settle(app, pilot)
        assert source.position == 1 and app.query_one(NodesTable).row_count == 8
        # Hosts, VMs and containers are not in the transcript: said so, not shown as unread.
        detail = str(app.query_one("#node-detail").render())
        assert NOT_RECORDED in detail and "VM: not read" not in detail
        assert "not in the transcript" in str(app.query_one("#containers-title").render())
        assert "The run, as recorded" in str(app.query_one("#runbook-run").render())

        await pilot.press("right_square_bracket")  # the first node step: the disable intent
        await settle(app, pilot)
        record = source.record(source.position)
        assert (record["kind"], record["data"]["action"]) == ("intent", "disable")
        assert app.query_one(NodesTable).selected_node == NODE
        # Still the snapshot from before the disable: the screens as the engineer saw them.
        assert app.snapshot.node(NODE).status == "Up"

        await pilot.press("right", "right")  # the result, then the snapshot after it
        await settle(app, pilot)
        assert app.snapshot.node(NODE).status == "Disabled"
        pane = app.query_one(TranscriptPane)
        assert pane.current == source.position

        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert source.record(source.position)["data"]["action"] == "disable"

        await pilot.press("end")
        await settle(app, pilot)
        assert source.position == source.count - 1
        await pilot.press("home")
        await settle(app, pilot)
        assert source.position == 0


async def test_f_stops_at_each_gate_override_and_failure(transcript):
    source = ReplaySource(transcript)
    app = SfpatchApp(source=source)
    stops = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for _ in range(300):
            before = source.position
            await pilot.press("f")
            await settle(app, pilot)
            if source.position == before:
                break
            stops.append(source.record(source.position))
    shown = [(r["kind"], r["data"].get("gate") or r["data"].get("outcome")) for r in stops]
    warnings = [s for s in shown if s[0] == "warning"]
    assert shown[len(warnings) :] == [
        ("gate", "seed-quorum"),
        ("gate", "containers-survive-patch"),
        ("confirm", None),  # the typed override
        ("result", "error"),  # the failed enable; successes are not stops
    ]
    assert warnings  # the seed scenario's findings are among the stops


async def test_speed_and_play(minutes_apart):
    # A minute between records, 60 s idle limit: at 0.25x the first move would come 4 minutes
    # after play. Records written milliseconds apart played to the end (where play stops) while
    # a loaded machine stalled between the two spaces, and the second space played again.
    source = ReplaySource(minutes_apart, speed=1, idle_limit=60)
    app = SfpatchApp(source=source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("greater_than_sign", "greater_than_sign")
        assert await until(pilot, lambda: source.speed == 4), source.speed
        for _ in range(10):
            await pilot.press("less_than_sign")
        assert await until(pilot, lambda: source.speed == 0.25), source.speed
        await pilot.press("space")
        assert source.playing and source.delay() == 240
        await settle(app, pilot)
        assert "playing 0.25x" in app.main.state.header.position and source.position == 0
        await pilot.press("space")
        await settle(app, pilot)
        assert not source.playing and "paused 0.25x" in app.main.state.header.position


async def test_g_goes_to_a_time(transcript):
    source = ReplaySource(transcript)
    app = SfpatchApp(source=source)
    last = source.time_of(source.count - 1)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("g")
        await pilot.pause()
        app.screen.query_one("#goto-time").value = last.strftime("%Y-%m-%dT%H:%M:%S.%f")
        await pilot.press("enter")
        await settle(app, pilot)
        assert source.time_of(source.position) >= last.replace(microsecond=0)
        await pilot.press("g")
        await pilot.pause()
        app.screen.query_one("#goto-time").value = "not a time"
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ReplayScreen)  # refused with a toast, position kept


async def test_a_broken_file_replays_up_to_the_break_marked(transcript):
    lines = transcript.read_bytes().splitlines(keepends=True)
    lines[6] = lines[6].replace(b'"kind":"', b'"kind": "', 1)  # one byte more: its hash fails
    transcript.write_bytes(b"".join(lines))
    source = ReplaySource(transcript)
    assert source.verdict == "BROKEN at record 6" and source.count == 6
    app = SfpatchApp(source=source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.main.state.header.verdict == "BROKEN at record 6"
        pane = app.query_one(TranscriptPane)
        assert pane.marked == 6 and "BROKEN at record 6" in pane.mark_text
        await pilot.press("end")
        await settle(app, pilot)
        assert source.position == 5


async def test_the_nodes_table_shows_uptimes_as_of_the_record(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(schema, "utc_now", clock)
    path, at = uptime_session(tmp_path, clock)
    source = ReplaySource(path)
    app = SfpatchApp(source=source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for _ in range(at["note"]):
            await pilot.press("right")
        assert await until(pilot, lambda: source.position == at["note"]), source.position
        await settle(app, pilot)
        table = app.query_one(NodesTable)
        shown = {name: str(table.get_cell(name, "uptime")) for name in NODES}
        # 5 s up at the snapshot, the note 600 s on; Down, and not known, stay "-".
        assert shown == {"_FE_0": "10m 05s", "_FE_1": "1h 10m", "_FE_2": "-", "_FE_3": "-"}


def test_timeline_marks_each_node_step():
    # record n at column n * 10 // 100: steps at 0 and 5, a finding at 10, replay at 2
    assert timeline_text(101, [0, 50], [100], position=25, width=11).plain == "|─█──|────!"


async def test_the_palette_offers_the_player_and_runs_it(transcript):
    from tui.app.commands import SfpatchCommands

    source = ReplaySource(transcript)
    app = SfpatchApp(source=source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        commands = {title: run for title, run, _ in SfpatchCommands(app.screen).commands()}
        assert {"Replay: play / pause", "Replay: next gate, override or failure"} <= set(commands)
        assert not any(title.startswith("Runbook") for title in commands)  # nothing to act with
        await commands["Replay: go to the end"]()
        await settle(app, pilot)
        assert source.position == source.count - 1


async def test_the_replay_screen_shows_every_upgrade_domain_of_the_seed(transcript):
    """Its transcript pane leaves the middle row short: the upgrade-domain table's cap (a
    share of its column, for the health pane's sake) must still fit the seed's five."""
    from tui.app.widgets.upgrade_domains import UpgradeDomainTable

    app = SfpatchApp(source=ReplaySource(transcript))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("right")
        await settle(app, pilot)
        table = app.query_one(UpgradeDomainTable)
        assert table.row_count == 5
        assert table.region.height >= table.row_count + 1  # its header and every row
