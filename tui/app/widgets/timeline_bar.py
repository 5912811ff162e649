"""The replay's timeline: a marker per node step, the auditor's stops, and where replay is."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static


def timeline_text(
    count: int, steps: Sequence[int], findings: Sequence[int], position: int, width: int
) -> Text:
    """One line `width` wide: `|` per node step, `!` per gate, override or failure, and the
    current record as a block; record n sits at column n * (width - 1) // (count - 1).

    The marks are sorted record numbers; each column looks them up (bisect), so a file with
    tens of thousands of marks costs what its width costs, on every move."""
    width = max(width, 10)
    span = max(count - 1, 1)

    def first_record(c: int) -> int:  # the smallest n with n * (width - 1) // span >= c
        return -(-c * span // (width - 1))

    def marked(marks: Sequence[int], c: int) -> bool:
        return bisect_left(marks, first_record(c + 1)) > bisect_left(marks, first_record(c))

    current = position * (width - 1) // span
    text = Text()
    for c in range(width):
        if c == current:
            text.append("█", style="bold yellow")
        elif marked(steps, c):
            text.append("|", style="bold cyan")
        elif marked(findings, c):
            text.append("!", style="bold red")
        else:
            text.append("─", style="dim")
    return text


class TimelineBar(Static):
    """The whole file at a glance; redrawn on each move."""

    DEFAULT_CSS = "TimelineBar { height: 1; }"

    def __init__(self) -> None:
        super().__init__("", id="timeline")
        self._args: tuple | None = None

    def show(
        self, count: int, steps: Sequence[int], findings: Sequence[int], position: int
    ) -> None:
        self._args = (count, steps, findings, position)
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if self._args is not None:
            self.update(timeline_text(*self._args, width=self.size.width or 80))
