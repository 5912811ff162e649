"""The header's mode badge and particulars, as a pure function of HeaderInfo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tui.app.widgets.header_bar import header_text, window_left
from tui.sources import MODES, HeaderInfo

NOW = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize("mode", MODES)
def test_the_badge_names_the_mode(mode):
    text = header_text(HeaderInfo(mode=mode, cluster="contoso-prod", ticket="CHG-9"))
    assert f" {mode} " in text.plain
    assert "contoso-prod" in text.plain and "ticket: CHG-9" in text.plain


def test_replay_shows_verdict_and_position():
    info = HeaderInfo(
        mode="REPLAY",
        cluster="c",
        holder="ops@jump1",
        transcript="/t/x.jsonl",
        verdict="BROKEN at record 7",
        position="record 3/7",
    )
    plain = header_text(info).plain
    assert "BROKEN at record 7" in plain and "record 3/7" in plain
    assert "lease: ops@jump1" in plain and "/t/x.jsonl" in plain


@pytest.mark.parametrize(
    ("left", "shown"),
    [
        (timedelta(hours=1, minutes=5), "window 1h05m left"),
        (timedelta(minutes=4, seconds=9), "window 4m09s left"),
        (timedelta(seconds=0), "window CLOSED"),
        (timedelta(minutes=-3), "window CLOSED"),
    ],
)
def test_window_countdown(left, shown):
    assert window_left(NOW + left, NOW) == shown
    info = HeaderInfo(mode="OPERATE", cluster="c", window_end=NOW + left, now=NOW)
    assert shown in header_text(info).plain


def test_no_window_no_countdown():
    assert "window" not in header_text(HeaderInfo(mode="OPERATE", cluster="c")).plain


def test_a_long_transcript_path_is_elided_from_its_start_to_fit_one_line():
    path = "/var/lib/sfpatch/transcripts/contoso-prod/20261201T134234Z-f7d11068b8f8407.jsonl"
    info = HeaderInfo(mode="OPERATE", cluster="contoso-prod", holder="ops@jump1", transcript=path)
    text = header_text(info, width=120)
    assert text.cell_len <= 120
    assert "…" in text.plain and text.plain.endswith("/20261201T134234Z-f7d11068b8f8407.jsonl")
    narrow = header_text(info, width=60).plain  # the file's name stays whole, whatever the room
    assert narrow.endswith("…/20261201T134234Z-f7d11068b8f8407.jsonl")
    assert header_text(info, width=300).plain.endswith(path)  # room enough: whole


def test_a_full_header_fits_one_line_by_giving_up_the_label_then_the_endpoint():
    # A real session id is 32 hex digits; with the lease holder shown, the header of a
    # 160-column terminal used to wrap the file's name onto a second line.
    name = "20261201T181102Z-73d89ae863fe44769d6fac381609673d.jsonl"
    info = HeaderInfo(
        mode="OPERATE",
        cluster="fabrikam-large",
        endpoint="https://127.0.0.1:44041",
        holder="root@vm (this session)",
        transcript=f"/tmp/demo-t/fabrikam-large/{name}",
    )
    text = header_text(info, width=160).plain
    assert len(text) <= 160 and text.endswith(f"/{name}") and "…" in text
    assert "lease: root@vm (this session)" in text and "https://127.0.0.1:44041" in text
    assert "transcript:" not in text  # the label went first
    assert text.endswith(f"  …/{name}")  # no folder is cut in two
    tight = header_text(info, width=140).plain
    assert len(tight) <= 140 and tight.endswith(f"/{name}")
    assert "https://" not in tight and "lease: root@vm" in tight  # then the endpoint
    roomy = header_text(info, width=200).plain
    assert "transcript: /tmp/demo-t/" in roomy and "https://127.0.0.1:44041" in roomy


def test_a_replay_header_fits_one_line_by_giving_up_the_programs_name_last():
    # Replay has no endpoint to give up; its position and verdict made the line 165 long.
    name = "20261201T183808Z-e236c63b3df54fcfb000538e81292eaf.jsonl"
    info = HeaderInfo(
        mode="REPLAY",
        cluster="contoso-prod",
        holder="root@vm",
        verdict="INTACT, unsigned",
        position="74/74 2026-12-01 18:38:16Z paused 1x",
        transcript=f"/tmp/hl/contoso-prod/{name}",
    )
    text = header_text(info, width=160).plain
    assert len(text) <= 160 and text.endswith(f"/{name}")
    assert "74/74 2026-12-01 18:38:16Z paused 1x" in text and "INTACT, unsigned" in text
    assert "lease: root@vm" in text and "sfpatch" not in text.removesuffix(name)
    assert header_text(info, width=200).plain.startswith(" sfpatch ")  # room: all of it
