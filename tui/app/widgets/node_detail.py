"""Two lines about the selected node: its deactivation state and its VM."""

from __future__ import annotations

from rich.text import Text

from tui.app.format import status_text
from tui.app.widgets.text_pane import TextPane
from tui.model import ClusterSnapshot
from tui.winver import WindowsVersion

NOT_RECORDED = "host, VM and containers: not in the transcript (it records nodes, health, findings)"


def node_detail(
    snapshot: ClusterSnapshot,
    name: str | None,
    target: WindowsVersion | None,
    running: str | None = None,
    engines_recorded: bool = True,
) -> Text:
    """What the engineer needs before acting on a node, from all three sources."""
    node = snapshot.node(name) if name else None
    if node is None:
        return Text("No node selected.", style="dim")
    d = node.deactivation
    text = Text.assemble((node.name, "bold"), "  ", status_text(node.status))
    if running:  # what the node waits for (a patch running, safety checks)
        text.append(f"  {running}", style="bold black on yellow")
    if d.intent != "Invalid":
        text.append(f"  intent {d.intent}, {d.status}")
    if d.pending_safety_checks:
        counts: dict[str, int] = {}
        for check in d.pending_safety_checks:
            counts[check] = counts.get(check, 0) + 1
        pending = ", ".join(f"{k} x{v}" if v > 1 else k for k, v in counts.items())
        text.append(f"  pending: {pending}", style="yellow")
    text.append(f"  instance {node.instance_id}", style="dim")
    instance = next((i for i in snapshot.instances if i.node_name == node.name), None)
    engine = snapshot.engines.get(node.name)
    # Versions first on the second line: a narrow terminal cuts the end of a line, never them.
    text.append("\n")
    if engine is not None and engine.os_version:
        text.append(f"host {engine.os_version}  ")
    if target is not None:
        text.append(f"patch target {target}  ", style="bold")
    if not engines_recorded:
        text.append(NOT_RECORDED, style="dim")
        return text
    if engine is not None:
        stopped = sum(c.state != "running" for c in engine.containers)
        if stopped:
            text.append(
                f"{stopped} of {len(engine.containers)} containers NOT RUNNING "
                f"(Service Fabric says {node.health_state})  ",
                style="bold red",
            )
    if instance is not None:
        latest = {True: "yes", False: "NO", None: "?"}[instance.latest_model_applied]
        text.append(
            f"VM {instance.scale_set}/{instance.instance_id}: {instance.power_state}, "
            f"latest model {latest}"
        )
        if instance.operation:
            text.append(f"  {instance.operation} in progress", style="bold black on yellow")
    else:
        text.append("VM: not read", style="dim")
    if engine is not None and engine.operating_system:
        text.append(f"  ({engine.operating_system})", style="dim")
    return text


class NodeDetail(TextPane):
    """A fixed height (see sfpatch.tcss), so a new node repaints it without a layout."""

    def show(
        self, snapshot: ClusterSnapshot, name: str | None, target, running=None, recorded=True
    ) -> None:
        text = node_detail(snapshot, name, target, running, recorded)
        if text != self._shown:
            self.update(text, layout=False)
            self._shown = text
