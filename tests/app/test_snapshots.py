"""SVG snapshots of the console's key screens (pytest-textual-snapshot), on the seed scenario
with its clock frozen. Update them with `pytest tests/app/test_snapshots.py --snapshot-update`
and look at the report before committing."""

from __future__ import annotations

import getpass
import socket
from pathlib import Path

import pytest
from textual.widgets import Input

from tests.app.test_app import SIZE, refresh
from tui.app.app import SfpatchApp
from tui.commands.demo import build_session


@pytest.fixture
def app(sim, tmp_path, monkeypatch):
    # What differs from one machine or run to the next: who holds the lease, the file's name.
    monkeypatch.setattr(socket, "gethostname", lambda: "jumpbox")
    monkeypatch.setattr(getpass, "getuser", lambda: "oncall")
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)  # no blink
    session = build_session(sim, tmp_path / "transcripts", "CHG-2026-1126", poll=3600)
    session.transcript_path = Path("~/transcripts/contoso-prod/session.jsonl")
    session.endpoint = "https://contoso-prod.example:19080"
    session.engine._fetch._inventory.now = sim.clock.now  # "read at" on the frozen clock
    made = SfpatchApp(session)
    made.clock = lambda: 0.0
    yield made
    session.close()


def settled(*keys: str):
    async def run_before(pilot) -> None:
        app = pilot.app
        await refresh(app, pilot)
        await pilot.press(*keys)
        for _ in range(5):
            await pilot.pause()

    return run_before


def test_main_screen(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, run_before=settled("down"))


def test_help(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, run_before=settled("question_mark"))


def test_filtered_nodes(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, run_before=settled("slash", *"legacy", "enter"))


def test_ud_map(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, run_before=settled("m"))
