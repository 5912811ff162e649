"""The top line: cluster, endpoint, mode and the transcript being written."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static


class HeaderBar(Static):
    """Who and where this session is: never scrolled away."""

    DEFAULT_CSS = "HeaderBar { height: auto; }"

    def __init__(self, cluster: str, endpoint: str, mode: str, transcript: str) -> None:
        super().__init__(id="header-bar")
        self._parts = (cluster, endpoint, mode, transcript)

    def on_mount(self) -> None:
        cluster, endpoint, mode, transcript = self._parts
        home = str(Path.home())
        if transcript.startswith(home + "/"):
            transcript = "~" + transcript[len(home) :]
        mode_style = "bold black on yellow" if mode == "OPERATE" else "bold black on cyan"
        text = Text.assemble(
            (" sfpatch ", "bold"),
            (f" {cluster} ", "bold reverse"),
            f"  {endpoint}  ",
            (f" {mode} ", mode_style),
            ("  transcript: ", "dim"),
            transcript,
        )
        self.update(text)
