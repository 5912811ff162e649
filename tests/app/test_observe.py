"""Observe: a transcript followed as it is written, and --profile finding it from the lease."""

from __future__ import annotations

import os

import pytest

from tests.app.recorded import NODE, disable_steps, start
from tui.app.app import SfpatchApp
from tui.app.screens.replay import ObserveScreen
from tui.app.widgets.nodes_table import NodesTable
from tui.app.widgets.transcript_pane import TranscriptPane
from tui.commands.demo import build_session
from tui.config import load_profile
from tui.session import find_observed, observer_source
from tui.sources import OBSERVE
from tui.sources.observe import ObserveSource

SIZE = (160, 48)


async def read_now(app: SfpatchApp, pilot) -> None:
    """One read of the source, drawn; never timed."""
    before = app.polls_completed
    app.poll_now()
    for _ in range(100):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if app.polls_completed > before:
            return
    raise AssertionError("the read did not finish")


@pytest.fixture
def growing(sim, tmp_path):
    writer, snapshot, findings = start(sim, tmp_path / "transcripts")
    yield writer, snapshot, findings
    writer.close("test over")


async def test_follows_the_session_as_it_writes_until_it_finishes(growing):
    writer, snapshot, findings = growing
    source = ObserveSource(writer.path, poll_seconds=3600)
    app = SfpatchApp(source=source)
    async with app.run_test(size=SIZE) as pilot:
        await read_now(app, pilot)
        assert isinstance(app.screen, ObserveScreen)
        header = app.main.state.header
        assert (header.mode, header.ticket, header.holder) == (OBSERVE, "CHG-77", "alice@vm")
        assert header.verdict == "FOLLOWING, INTACT so far"
        assert app.query_one(NodesTable).row_count == 8
        seen = source.count

        disable_steps(writer, snapshot, findings)
        await read_now(app, pilot)
        assert app.snapshot.node(NODE).status == "Disabled"
        pane = app.query_one(TranscriptPane)
        assert pane.count == source.count > seen
        assert "patching by hand" in source.line(source.count - 1)

        writer.close("quit by the engineer")
        await read_now(app, pilot)
        assert app.main.state.header.verdict == "FINISHED, INTACT"
        assert source.status == "FINISHED"


async def test_the_header_takes_one_line_when_its_fitted_text_does(growing):
    """The header is first drawn before it has a width, with the whole transcript path, which
    needs two lines; fitted to the width it needs one, and the panes are not pushed down."""
    from tui.app.widgets.header_bar import HeaderBar, header_text

    writer, _, _ = growing
    app = SfpatchApp(source=ObserveSource(writer.path, poll_seconds=3600))
    async with app.run_test(size=SIZE) as pilot:
        await read_now(app, pilot)
        header = app.screen.query_one(HeaderBar)
        assert header_text(header.info).cell_len > SIZE[0]
        assert header_text(header.info, SIZE[0]).cell_len <= SIZE[0]
        assert header.size.height == 1


@pytest.mark.parametrize("damage", ["truncated", "replaced", "broken"])
async def test_says_when_the_file_stops_being_the_session(growing, damage):
    writer, snapshot, findings = growing
    source = ObserveSource(writer.path, poll_seconds=3600)
    app = SfpatchApp(source=source)
    path = writer.path
    async with app.run_test(size=SIZE) as pilot:
        await read_now(app, pilot)
        data = path.read_bytes()
        if damage == "truncated":
            os.truncate(path, len(data) // 2)
        elif damage == "replaced":
            other = path.with_suffix(".new")
            other.write_bytes(data)
            os.replace(other, path)
        else:
            with open(path, "ab") as out:
                out.write(b'{"data":{},"kind":"note","seq":999}\n')
        await read_now(app, pilot)
        header = app.main.state.header
        assert header.verdict == f"{damage.upper()}: stopped following"
        assert source.status == "STOPPED"
        writer.note("after the damage")
        await read_now(app, pilot)
        assert app.main.state.header.verdict.startswith(damage.upper())  # stays stopped


def test_profile_finds_the_operating_sessions_transcript(sim, tmp_path):
    transcripts = tmp_path / "transcripts"
    operating = build_session(sim, transcripts, "CHG-1", poll=3600)
    try:
        found = find_observed(load_profile("contoso-prod", sim.profile_path), transcripts)
        assert found.transcript == operating.transcript_path
        assert operating.lease_holder().split(" ")[0] in found.holder
    finally:
        operating.close()
    found = find_observed(load_profile("contoso-prod", sim.profile_path), transcripts)
    assert (found.transcript, found.holder) == (None, "nobody")


async def test_profile_without_a_transcript_here_watches_the_cluster(sim, tmp_path):
    operating = build_session(sim, tmp_path / "elsewhere", "CHG-1", poll=3600)
    profile = load_profile("contoso-prod", sim.profile_path)
    found = find_observed(profile, tmp_path / "here")
    assert found.transcript is None and "not on this host" in found.why
    source = observer_source(profile, poll_seconds=3600)
    app = SfpatchApp(source=source)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await read_now(app, pilot)
            header = app.main.state.header
            assert header.mode == OBSERVE and header.holder == found.holder
            assert app.query_one(NodesTable).row_count == 8
            assert not app.can_act and app.session is None
    finally:
        source.close("test over")
        operating.close()
