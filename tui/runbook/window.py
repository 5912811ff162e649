"""The change window and the time a node takes: pure arithmetic on cluster time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from tui.errors import UsageError


@dataclass(frozen=True)
class Window:
    """When changes may be made; `start` None means it is open already."""

    end: datetime
    start: datetime | None = None


def parse_moment(text: str, now: datetime) -> datetime:
    """An ISO time (UTC unless it says), or HH:MM meaning its next occurrence after `now`."""
    text = text.strip()
    try:
        clock = time.fromisoformat(text) if _is_clock_time(text) else None
    except ValueError:
        clock = None
    if clock is not None:
        moment = now.replace(
            hour=clock.hour, minute=clock.minute, second=clock.second, microsecond=0
        )
        return moment if moment > now else moment + timedelta(days=1)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"{text!r} is not a time: give HH:MM (UTC) or an ISO time like 2026-11-27T04:00Z"
        ) from None
    return moment.replace(tzinfo=now.tzinfo) if moment.tzinfo is None else moment


def _is_clock_time(text: str) -> bool:
    return len(text.strip()) <= 8 and ":" in text and "T" not in text


def parse_window(window: str | None, window_end: str | None, now: datetime) -> Window | None:
    """--window START/END or --window-end END as a Window; None when neither is given."""
    if window and window_end:
        raise UsageError("give --window START/END or --window-end END, not both")
    if window_end:
        return Window(parse_moment(window_end, now))
    if not window:
        return None
    start_text, sep, end_text = window.partition("/")
    if not sep or not start_text.strip() or not end_text.strip():
        raise UsageError(f"--window {window!r}: expected START/END, e.g. 01:00/04:00")
    end = parse_moment(end_text, now)
    start = parse_moment(start_text, now)
    if _is_clock_time(start_text):  # the START before that END: 01:00/04:00 at 02:00 is open
        start = end.replace(hour=start.hour, minute=start.minute, second=start.second)
        if start >= end:
            start -= timedelta(days=1)
    if end <= start:
        raise UsageError(f"--window {window!r}: it ends before it starts")
    if end <= now:
        raise UsageError(f"--window {window!r}: it ends before now ({now:%Y-%m-%d %H:%M}Z)")
    if start <= now:
        start = None  # already open
    return Window(end, start)


def estimate_per_node(done_seconds: Sequence[float], seed_seconds: float) -> float:
    """The time a node takes: the mean of those done in this session, else the seed figure."""
    return sum(done_seconds) / len(done_seconds) if done_seconds else seed_seconds


def eta(now: datetime, remaining_nodes: int, per_node: float, current_elapsed: float) -> datetime:
    """When the run should end: the current node's rest plus each node still to go."""
    left = max(0.0, per_node - current_elapsed) if remaining_nodes else 0.0
    more = max(0, remaining_nodes - 1) * per_node
    return now + timedelta(seconds=left + more)


def fits(now: datetime, per_node: float, window: Window | None) -> bool:
    """Whether a node started now ends inside the window."""
    return window is None or now + timedelta(seconds=per_node) <= window.end
