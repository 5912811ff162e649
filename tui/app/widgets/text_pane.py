"""A Static that a poll redraws only when its text changed, and lays out again only when the
shape of its text (the rows its lines take) changed."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static


def text_shape(text: Text, width: int = 0) -> tuple[int, ...]:
    """Text of the same shape is laid out the same way: a line that fits in `width` cells
    takes one row whatever its length; a longer one (or any, while the width is not known)
    counts by its length, since where it wraps depends on its words."""
    lines = (cell_len(line) for line in text.plain.split("\n"))
    return tuple(1 if width > 0 and cells <= width else -cells for cells in lines)


class TextPane(Static):
    """`show_text` instead of `update`: an unchanged text costs a comparison."""

    _shown: Text | None = None
    _shape: tuple[int, ...] = ()

    def show_text(self, text: Text) -> bool:
        """Draw `text` unless it is on screen already; whether it was drawn."""
        if self._shown is not None and text == self._shown:
            return False
        shape = text_shape(text, self.content_size.width)
        self.update(text, layout=shape != self._shape)
        self._shown, self._shape = text, shape
        return True
