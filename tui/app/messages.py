"""Messages the app's workers post back to the UI thread."""

from __future__ import annotations

from textual.message import Message

from tui.sources import ViewState


class StateReady(Message):
    """A source produced a new state for the screens."""

    def __init__(self, state: ViewState) -> None:
        super().__init__()
        self.state = state


class PollFailed(Message):
    """A poll failed as a whole; the last snapshot stays on screen."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class ActionFinished(Message):
    """A node action (disable, enable) ended; error is "" on success."""

    def __init__(self, action: str, node: str, error: str = "") -> None:
        super().__init__()
        self.action = action
        self.node = node
        self.error = error


class Alert(Message):
    """Something the engineer must see now (a resumed session's loose ends, a lost lease)."""

    def __init__(self, title: str, text: str, severity: str = "warning") -> None:
        super().__init__()
        self.title = title
        self.text = text
        self.severity = severity


class RunControlled(Message):
    """A runbook control (start, pause, skip, abort ...) was applied; error says why not."""

    def __init__(self, control: str, error: str = "") -> None:
        super().__init__()
        self.name = control
        self.error = error
