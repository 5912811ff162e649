"""Ask for a moment to go to in a replay."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class GotoScreen(ModalScreen[str | None]):
    """Returns what was typed on Enter, None on Escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, first: datetime) -> None:
        super().__init__()
        self._first = first

    def compose(self) -> ComposeResult:
        with Vertical(id="goto-dialog"):
            yield Label("Go to a time (UTC)", id="goto-title")
            yield Input(
                placeholder=self._first.strftime("%H:%M:%S or %Y-%m-%dT%H:%M:%S"), id="goto-time"
            )
            yield Label(
                "HH:MM[:SS] on the session's first day, or a full date and time.", classes="dim"
            )

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
