"""A free-text note from the engineer for the transcript, about the selected node if any."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class NoteScreen(ModalScreen[str | None]):
    """Returns the note's text on Enter, None on Escape."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, node: str | None) -> None:
        super().__init__()
        self._node = node

    def compose(self) -> ComposeResult:
        about = f" about {self._node}" if self._node else ""
        with Vertical(id="note-dialog"):
            yield Label(f"Note for the transcript{about}", id="note-title")
            yield Input(
                placeholder="e.g. KB5041578 installed by hand, reboot took 4 min", id="note-text"
            )
            yield Label("Enter saves it; Escape cancels. Never paste secrets here.", classes="dim")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
