"""Clocks for the engine: the wall clock, or a simulator's clock it may move itself."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime


class WallClock:
    """Real time, for a real cluster."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class ScaledClock:
    """A simulated cluster's time: `now` reads it; `sleep` waits the real share of the seconds,
    or, when the clock is frozen, moves it forward itself (a run as fast as the machine goes)."""

    def __init__(
        self,
        now: Callable[[], datetime],
        speed: float,
        advance: Callable[[float], None],
        real_sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._now = now
        self._speed = speed
        self._advance = advance
        self._real_sleep = real_sleep

    def now(self) -> datetime:
        return self._now()

    def sleep(self, seconds: float) -> None:
        if self._speed == 0:
            self._advance(seconds)
        else:
            self._real_sleep(seconds / self._speed)
