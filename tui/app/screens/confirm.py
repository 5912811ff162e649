"""A yes/no question before anything that changes the cluster. Cancel is focused."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class ConfirmScreen(ModalScreen[bool]):
    """Answers True only on an explicit yes: `y` or the confirm button."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "Cancel", id="confirm.cancel"),
    ]
    AUTO_FOCUS = "#cancel"

    def __init__(self, title: str, details: str, confirm_label: str) -> None:
        super().__init__()
        self._title = title
        self._details = details
        self._confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Label(self._title, id="confirm-title")
            yield Label(self._details, id="confirm-details")
            with Horizontal(id="confirm-buttons"):
                yield Button("Cancel (n)", id="cancel", variant="default")
                yield Button(f"{self._confirm_label} (y)", id="confirm", variant="warning")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
