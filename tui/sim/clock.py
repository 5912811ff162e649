"""The simulator's clock: real time scaled by a speed factor, or frozen and advanced by hand.

Every duration in a scenario is in simulated seconds. At `--speed 60` a 60 s restart takes one
real second; at speed 0 the clock stands still until `advance()` moves it, which is how tests
stay deterministic without sleeping.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tui.errors import UsageError
from tui.inputs import Range, check_number

# A fixed start for tests and `check --scenario`, so that staleness is judged on a known date.
DEFAULT_START = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)

# The latest time a datetime can hold; the clock must never be asked to pass it.
LATEST = datetime.max.replace(tzinfo=UTC)
# A clock must be able to run at least this long from its start, and one advance through the
# control endpoint may move it at most this far: anything beyond is a typo, not a rehearsal.
RUN_SPAN = timedelta(days=3650)
# A day in under 9 s; faster, even RUN_SPAN would pass in a few hours of real time.
MAX_SPEED = 10_000.0


def real_now() -> datetime:
    """The current UTC time to the second: where `sfpatch sim` and `demo` start their clock, so
    that simulated timestamps sit next to real ones (docker ps, the transcript) plausibly."""
    return datetime.now(UTC).replace(microsecond=0)


def parse_start(text: str) -> datetime:
    """`--start` as an aware UTC datetime; a time without offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--start {text!r}: not an ISO 8601 time, e.g. 2026-11-26T22:00:00Z"
        ) from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment > LATEST - RUN_SPAN:
        raise UsageError(
            f"--start {text!r}: the clock could not run {RUN_SPAN.days // 365} years from there; "
            f"give one no later than {(LATEST - RUN_SPAN):%Y-%m-%d}"
        )
    return moment


def check_speed(speed: float, option: str = "--speed", running: bool = False) -> float:
    """The speed if it is from 0 (frozen; not when the clock must be `running`) to MAX_SPEED;
    a one-line UsageError with the range otherwise."""
    return check_number(speed, Range(0, MAX_SPEED, low_open=running), option)


class SimClock:
    """Simulated time since start, in seconds, and the simulated wall-clock time."""

    def __init__(
        self,
        speed: float = 1.0,
        start: datetime = DEFAULT_START,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not math.isfinite(speed) or speed < 0:
            raise ValueError(f"speed must be a finite number >= 0 (got {speed})")
        self._speed = speed
        self._start = start
        self._monotonic = monotonic
        self._real_origin = monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def speed(self) -> float:
        return self._speed

    def elapsed(self) -> float:
        """Simulated seconds since the clock started."""
        with self._lock:
            return (self._monotonic() - self._real_origin) * self._speed + self._offset

    def now(self) -> datetime:
        """Simulated UTC wall-clock time."""
        return self._start + timedelta(seconds=self.elapsed())

    def at(self, elapsed: float) -> datetime:
        """The wall-clock time of a given simulated elapsed second."""
        return self._start + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> None:
        """Jump simulated time forward (tests and the control endpoint); ValueError for a
        non-finite or negative jump, or one past the latest time a datetime can hold."""
        if not math.isfinite(seconds):
            raise ValueError(f"seconds must be a finite number (got {seconds})")
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            elapsed = (self._monotonic() - self._real_origin) * self._speed + self._offset
            if elapsed + seconds > (LATEST - self._start).total_seconds():
                raise ValueError(f"advancing {seconds:g} s would pass {LATEST:%Y-%m-%d}")
            self._offset += seconds

    def real_seconds(self, simulated: float) -> float:
        """How long `simulated` seconds take in real time (inf when frozen)."""
        return float("inf") if self._speed == 0 else simulated / self._speed
