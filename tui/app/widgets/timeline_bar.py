"""The replay's timeline: a marker per node step, the auditor's stops, and where replay is."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static


def timeline_text(
    count: int, steps: Sequence[int], findings: Sequence[int], position: int, width: int
) -> Text:
    """One line `width` wide: `|` per node step, `!` per gate, override or failure, and the
    current record as a block; record n sits at column n * (width - 1) // (count - 1)."""
    width = max(width, 10)
    span = max(count - 1, 1)

    def column(n: int) -> int:
        return n * (width - 1) // span

    cells = ["─"] * width
    styles = ["dim"] * width
    for n in findings:
        c = column(n)
        cells[c], styles[c] = "!", "bold red"
    for n in steps:
        c = column(n)
        cells[c], styles[c] = "|", "bold cyan"
    c = column(position)
    cells[c], styles[c] = "█", "bold yellow"
    text = Text()
    for cell, style in zip(cells, styles, strict=True):
        text.append(cell, style=style)
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
