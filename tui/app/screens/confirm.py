"""A question before anything that changes the cluster. Cancel is focused.

Risky steps (a seed node, a failed or UNKNOWN gate) need the node's name typed, not just `y`.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tui.runbook.gates import FAILED, PASSED, UNKNOWN, Gate

# A gate whose inputs were not read is shown as UNKNOWN, never as ok nor as a plain failure.
_LABELS = {
    PASSED: ("  ok      ", "green"),
    FAILED: ("  FAIL    ", "bold red"),
    UNKNOWN: ("  UNKNOWN ", "bold yellow"),
}


def gate_lines(gates: tuple[Gate, ...]) -> Text:
    """One line per gate: its state, its name and why."""
    text = Text()
    for gate in gates:
        if text:
            text.append("\n")
        text.append(*_LABELS[gate.state])
        text.append(f"{gate.name}: ", style="bold")
        text.append(gate.why)
    return text


class ConfirmScreen(ModalScreen[bool]):
    """Answers True only on an explicit yes: `y` (or the typed node name) or the button."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "Cancel", id="confirm.cancel"),
    ]
    AUTO_FOCUS = "#cancel"

    def __init__(
        self,
        title: str,
        details: str,
        confirm_label: str,
        gates: tuple[Gate, ...] = (),
        require_name: str | None = None,
    ) -> None:
        super().__init__()
        self._title = title
        self._details = details
        self._confirm_label = confirm_label
        self._gates = gates
        self._require_name = require_name

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Label(self._title, id="confirm-title")
            yield Label(self._details, id="confirm-details")
            if self._gates:
                yield Static(gate_lines(self._gates), id="confirm-gates")
            if self._require_name:
                yield Label(
                    f"Type {self._require_name} and press Enter to go on:", id="confirm-type-label"
                )
                yield Input(placeholder="type the node name here", id="confirm-name")
            with Horizontal(id="confirm-buttons"):
                cancel = "Cancel (Esc)" if self._require_name else "Cancel (n)"
                yield Button(cancel, id="cancel", variant="default")
                label = self._confirm_label if self._require_name else f"{self._confirm_label} (y)"
                yield Button(
                    label, id="confirm", variant="warning", disabled=bool(self._require_name)
                )

    def on_mount(self) -> None:
        if self._require_name:
            self.query_one("#confirm-name", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value.strip() != self._require_name

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self._require_name:
            self.dismiss(True)
        else:
            self.notify(f"That is not {self._require_name}.", severity="warning")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, answer: bool) -> None:
        if answer and self._require_name:
            return  # a risky step is confirmed by typing the node name, never by one key
        self.dismiss(answer)
