"""When the data was read, whether a refresh runs, and every wait: its time, what it awaits."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from tui.app.format import duration_text
from tui.app.widgets.text_pane import TextPane
from tui.model import ClusterSnapshot, Node


def node_waits(
    snapshot: ClusterSnapshot | None,
    busy: Mapping[str, str],
    started: Mapping[str, float],
    now: float,
) -> dict[str, str]:
    """node -> what it waits for: the stage, for how long (when this session started it), and
    what ends the wait."""
    waits: dict[str, str] = {}

    def since(name: str) -> str:
        return f" {duration_text(now - started[name])}" if name in started else ""

    for name, action in busy.items():
        if action == "patch":
            waits[name] = (
                f"PATCH RUNNING{since(name)}: Windows Update through ARM Run Command; "
                f"waiting for the command to end (the VM restarts after it)"
            )
        else:
            waits[name] = f"{action.upper()} RUNNING{since(name)}"
    for node in _in_transition(snapshot):
        if node.name in waits:
            continue
        if node.status == "Disabling":
            pending = ", ".join(sorted(set(node.deactivation.pending_safety_checks))) or "none"
            waits[node.name] = (
                f"DISABLING{since(node.name)}: waiting for Service Fabric's safety checks "
                f"(pending: {pending})"
            )
        elif node.status == "Enabling":
            waits[node.name] = f"ENABLING{since(node.name)}: waiting for the node to be Up"
    return waits


_TRANSITIONS = ("Disabling", "Enabling")
_last_transitions: tuple[ClusterSnapshot | None, tuple[Node, ...]] = (None, ())


def _in_transition(snapshot: ClusterSnapshot | None) -> tuple[Node, ...]:
    """The snapshot's nodes disabling or enabling, worked out once per snapshot: the waits are
    shown every second, and a snapshot holds up to 1,000 nodes."""
    global _last_transitions
    if snapshot is None:
        return ()
    if _last_transitions[0] is not snapshot:
        found = tuple(n for n in snapshot.nodes if n.status in _TRANSITIONS)
        _last_transitions = (snapshot, found)
    return _last_transitions[1]


def status_text(
    snapshot: ClusterSnapshot | None,
    refreshing_for: float | None,
    waits: Mapping[str, str],
    progress: str = "",
) -> Text:
    """The line under the header, and one line per wait."""
    text = Text()
    if snapshot is None:
        text.append("Reading the cluster for the first time", style="bold")
    else:
        text.append(read_times(snapshot), style="dim")
    if refreshing_for is not None:
        text.append(f"  refreshing {duration_text(refreshing_for)}", style="bold yellow")
    if progress:
        text.append(f"  {progress}", style="yellow")
    for name, wait in waits.items():
        text.append(f"\n{name} ", style="bold")
        text.append(wait, style="black on yellow")
    return text


def read_times(snapshot: ClusterSnapshot) -> str:
    """When the nodes and health were read and, when it was earlier, the VMs and engines."""
    read, full = (f"{at:%H:%M:%S} UTC" for at in (snapshot.taken_at, snapshot.full_read_at))
    if full == read:
        return f"read {read}"
    # A node read has that node's VM and engine from now: only the others are older.
    which = "other VMs, engines" if snapshot.scope_node else "VMs, engines"
    return f"read {read} · {which} {full}"


class StatusLine(TextPane):
    """Refreshed each second while something runs; an unchanged line is not redrawn."""

    def show(self, text: Text) -> None:
        self.show_text(text)
