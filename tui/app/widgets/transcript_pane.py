"""The transcript as lines, one per record, with the current record highlighted.

Line API: only the rows on screen are asked for, so a 100,000-record file costs what a screen
of it costs."""

from __future__ import annotations

from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

CURRENT = Style(bold=True, color="black", bgcolor="yellow")
WIDTH = 400  # virtual width: long lines scroll sideways


class TranscriptPane(ScrollView, can_focus=True):
    """Records `first`..`count - 1` of a transcript; `line(n)` gives record n's text."""

    DEFAULT_CSS = "TranscriptPane { height: 1fr; }"

    def __init__(self, line: Callable[[int], str], id: str = "transcript") -> None:
        super().__init__(id=id)
        self._line = line
        self.first = 0
        self.count = 0
        self.current: int | None = None
        self.marked: int | None = None  # where the file breaks, shown after the last record
        self.mark_text = ""

    def show(self, first: int, count: int, current: int | None, follow: bool = False) -> None:
        """Show records first..count-1; keep `current` in view (or the end, when following)."""
        self.first, self.count, self.current = first, count, current
        rows = count - first + (1 if self.marked is not None else 0)
        self.virtual_size = Size(WIDTH, rows)
        target = (current - first) if current is not None else (rows - 1 if follow else None)
        if target is not None:
            height = max(self.size.height, 1)
            top = self.scroll_offset.y
            if not top <= target < top + height:
                self.scroll_to(y=max(0, target - height // 2), animate=False)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        n = self.first + scroll_y + y
        width = self.size.width
        if n >= self.count:
            if n == self.count and self.marked is not None:
                text, style = self.mark_text, Style(bold=True, color="white", bgcolor="red")
            else:
                return Strip.blank(width)
        else:
            text = self._line(n)
            style = CURRENT if n == self.current else Style()
        strip = Strip([Segment(text, style)])
        return strip.crop_extend(scroll_x, scroll_x + width, style)
