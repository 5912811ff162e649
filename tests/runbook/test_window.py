"""The change window and the per-node estimate: pure arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tui.errors import UsageError
from tui.runbook.window import Window, estimate_per_node, eta, fits, parse_window

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("window", "end", "start"),
    [
        ("01:00/04:00", datetime(2026, 11, 26, 4, 0, tzinfo=UTC), None),  # open now
        (
            "03:00/05:00",
            datetime(2026, 11, 26, 5, 0, tzinfo=UTC),
            datetime(2026, 11, 26, 3, 0, tzinfo=UTC),
        ),
        (
            "23:00/01:00",
            datetime(2026, 11, 27, 1, 0, tzinfo=UTC),
            datetime(2026, 11, 26, 23, 0, tzinfo=UTC),
        ),
        ("2026-11-26T01:00Z/2026-11-26T06:00Z", datetime(2026, 11, 26, 6, 0, tzinfo=UTC), None),
    ],
)
def test_window_start_and_end(window, end, start):
    assert parse_window(window, None, NOW) == Window(end, start)


def test_window_end_alone_is_the_next_occurrence():
    assert parse_window(None, "01:30", NOW).end == datetime(2026, 11, 27, 1, 30, tzinfo=UTC)
    assert parse_window(None, None, NOW) is None


@pytest.mark.parametrize(
    "window",
    ["04:00", "x/y", "2026-11-25T01:00Z/2026-11-25T02:00Z", "2026-11-26T06:00Z/2026-11-26T05:00Z"],
)
def test_bad_windows_are_usage_errors(window):
    with pytest.raises(UsageError):
        parse_window(window, None, NOW)


def test_estimate_from_done_nodes_else_the_seed():
    assert estimate_per_node([], 900) == 900
    assert estimate_per_node([600, 800], 900) == 700


def test_eta_and_fit():
    assert eta(NOW, 3, 600, 100) == NOW + timedelta(seconds=500 + 1200)
    assert eta(NOW, 0, 600, 0) == NOW
    assert fits(NOW, 3600, Window(NOW + timedelta(hours=1)))
    assert not fits(NOW, 3601, Window(NOW + timedelta(hours=1)))
    assert fits(NOW, 10**9, None)
