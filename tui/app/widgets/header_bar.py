"""The top line: the mode badge, cluster, lease holder, window, ticket and transcript."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from tui.sources import OBSERVE, OPERATE, READ_ONLY, REPLAY, HeaderInfo

BADGE_STYLES = {
    OPERATE: "bold black on yellow",
    READ_ONLY: "bold black on cyan",
    OBSERVE: "bold white on magenta",
    REPLAY: "bold black on green",
}


def window_left(end: datetime, now: datetime) -> str:
    """`window 1h05m left`, or that it has closed."""
    seconds = int((end - now).total_seconds())
    if seconds <= 0:
        return "window CLOSED"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    left = f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
    return f"window {left} left"


def _home(path: str) -> str:
    home = str(Path.home())
    return "~" + path[len(home) :] if path.startswith(home + "/") else path


def fitted_path(path: str, room: int) -> str:
    """`path` in `room` characters, its folders elided from the start; the file's name (the
    session's time and id) is always whole, even when that needs more room."""
    if len(path) <= room:
        return path
    name = path.rsplit("/", 1)[-1]
    tail = path[len(path) - max(room - 1, len(name) + 1) :]
    return "…" + tail[tail.index("/") :]  # "…" then the tail from a "/" on: no folder cut


def header_text(info: HeaderInfo, width: int | None = None) -> Text:
    """The header's content in one line of `width`; fields the mode does not have are left
    out. To fit, the transcript's folders are elided first, then its label, then the
    endpoint, then the program's name: the file's name (the session's time and id) is always
    whole, and goes whole to a second line when even that is not enough (a replay with a
    ticket, at 160 columns)."""
    path = _home(info.transcript) if info.transcript else "none"
    name = path.rsplit("/", 1)[-1]
    least = len(name) if name == path else len(name) + 2  # "…/" then the name
    text = _head(info, endpoint=True, brand=True)
    label = "  transcript: "
    if width and text.cell_len + len(label) + least > width:
        label = "  "
        for endpoint, brand in ((False, True), (False, False)):
            if text.cell_len + len(label) + least <= width:
                break
            text = _head(info, endpoint=endpoint, brand=brand)
    text.append(label, style="dim")
    room = width - text.cell_len if width else len(path)
    text.append(fitted_path(path, room))
    return text


def _head(info: HeaderInfo, endpoint: bool, brand: bool) -> Text:
    """Everything on the header before the transcript."""
    text = Text.assemble(
        (" sfpatch " if brand else "", "bold"),
        (f" {info.mode} ", BADGE_STYLES.get(info.mode, "bold reverse")),
        " ",
        (f" {info.cluster} ", "bold reverse"),
    )
    if info.endpoint and endpoint:
        text.append(f"  {info.endpoint}")
    if info.holder:
        text.append("  lease: ", style="dim")
        text.append(info.holder)
    if info.window_end is not None and info.now is not None:
        left = window_left(info.window_end, info.now)
        text.append(f"  {left}", style="bold red" if "CLOSED" in left else "bold")
    if info.ticket:
        text.append("  ticket: ", style="dim")
        text.append(info.ticket)
    if info.verdict:
        bad = "INTACT" not in info.verdict
        text.append("  ")
        text.append(f" {info.verdict} ", style="bold white on red" if bad else "bold green")
    if info.position:
        text.append(f"  {info.position}")
    return text


class HeaderBar(Static):
    """Who is looking and at what: never scrolled away."""

    DEFAULT_CSS = "HeaderBar { height: auto; }"

    def __init__(self, info: HeaderInfo) -> None:
        super().__init__(header_text(info), id="header-bar")
        self.info = info

    def show(self, info: HeaderInfo) -> None:
        if info != self.info:
            self.info = info
            self._fit()

    def on_resize(self) -> None:
        # After the refresh: a text updated during the resize is not laid out again, so a
        # header first fitted with no width kept the two lines that text needed.
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        self.update(header_text(self.info, self.size.width or None))
