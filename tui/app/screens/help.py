"""The keys, on `?`."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

KEYS = (
    ("up/down", "move in the focused pane (its title is highlighted)"),
    ("tab", "next pane: nodes, containers, warnings"),
    ("enter", "in warnings: select that finding's node"),
    ("d", "disable the selected node (intent Restart)"),
    ("p", "patch the selected Disabled node (Windows Update, Run Command)"),
    ("e", "enable the selected node"),
    ("space", "runbook: start the run; pause; resume; confirm the step it waits for"),
    ("a", "runbook: auto-advance on/off (off: step mode, each step confirmed)"),
    ("s", "runbook: skip the current node (not while it is out of service)"),
    ("x", "runbook: abort (offers to enable a node left out of service)"),
    ("R", "runbook: retry the paused step"),
    ("o", "runbook: override the step's failed gates for this node (typed name)"),
    ("n", "write a note to the transcript (about the selected node)"),
    ("r", "re-read everything now (health, VMs, engines)"),
    ("/", "filter the nodes: name, type, status, ud:N, fd:X, warn, !word; Escape clears"),
    ("m", "UD x FD map: each node done, out of service or pending; each UD's progress"),
    ("ctrl+p", "the palette: every action here by name (type to find it)"),
    ("?", "this help"),
    ("q", "quit; the transcript gets its end record"),
)
PLAYER_KEYS = (
    ("space", "play or pause"),
    ("< >", "slower, faster (0.25x to 16x); idle gaps are cut to --idle-limit"),
    ("left/right", "one record back or on"),
    ("[ ]", "previous or next node step"),
    ("f", "next gate, typed override, failure or warning"),
    ("g", "go to a time"),
    ("home/end", "first or last record"),
)
VIEWER_ONLY = ("d", "p", "e", "n")  # what observe and replay do not have: no session of theirs
CONFIRMING = (
    "d, p and e ask first, with the gates sfpatch checked. Cancel is focused:",
    "Enter, n or Escape cancel; y confirms. For a seed node, or a gate that",
    "FAILED or is UNKNOWN (its inputs were not read), type the node's name instead of y.",
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def __init__(self, read_only: bool, mode: str = "") -> None:
        super().__init__()
        self._read_only = read_only
        self._mode = mode

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Label("sfpatch keys", id="help-title")
            viewer = self._mode in ("OBSERVE", "REPLAY")
            lines = []
            for key, what in KEYS:
                hidden = ("d", "p", "e", "space", "a", "s", "x", "R", "o")
                if (self._read_only and key in hidden) or (viewer and key in VIEWER_ONLY):
                    continue
                lines.append(f"  {key:<10} {what}")
            for key, what in PLAYER_KEYS if self._mode == "REPLAY" else ():
                lines.append(f"  {key:<10} {what}")
            lines.append("")
            if viewer:
                lines.append(
                    f"  {self._mode.capitalize()}: nothing here can change the cluster; "
                    "this view holds no client that could."
                )
            elif self._read_only:
                lines.append("  Read-only session: nothing here can change the cluster.")
            else:
                lines += [f"  {line}" for line in CONFIRMING]
            yield Static("\n".join(lines))
            yield Label("Escape or ? closes", classes="dim")
