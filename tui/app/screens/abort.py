"""Aborting with a node out of service: enable it first, or leave it as it is. Cancel is focused.

Either choice is recorded in the transcript by the engine; Cancel keeps the run.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class AbortScreen(ModalScreen[str | None]):
    """Answers "enable", "leave", or None (cancel)."""

    BINDINGS = [Binding("escape,n", "cancel", "Cancel", id="abort.cancel")]
    AUTO_FOCUS = "#cancel"

    def __init__(self, node: str) -> None:
        super().__init__()
        self._node = node

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Label(f"Abort the run with {self._node} out of service?", id="confirm-title")
            yield Label(
                f"{self._node} is not Up because of this run. Enable it before the run ends, "
                "or leave it as it is (you then enable it yourself). Your choice is recorded.",
                id="confirm-details",
            )
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel (Esc)", id="cancel", variant="default")
                yield Button(f"Enable {self._node}, abort", id="enable", variant="warning")
                yield Button("Abort, leave it", id="leave", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id if event.button.id in ("enable", "leave") else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
