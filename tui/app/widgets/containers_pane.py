"""The selected node's containers: image, tag, image OS, isolation, and the verdicts now and
after the node's patch target."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from tui.model import ClusterSnapshot
from tui.rules.compat import Verdict
from tui.rules.containers import container_verdicts
from tui.rules.images import parse_reference
from tui.winver import WindowsVersion

# The verdicts right after the name, so a narrow terminal still shows what will break.
COLUMNS = (
    ("container", "Container", 20),
    ("state", "State", 7),
    ("now", "Now", 7),
    ("after", "Patched", 7),
    ("image_os", "Image OS", 15),
    ("isolation", "Isol.", 7),
    ("image", "Image", 22),
    ("tag", "Tag", 11),
)


def verdict_text(verdict: Verdict | None, label_ok: str = "ok") -> Text:
    if verdict is None or not verdict.decided:
        return Text("?", style="yellow")
    if verdict.compatible:
        return Text(label_ok, style="green")
    return Text("BLOCKED", style="bold red")


class ContainersPane(DataTable):
    """Containers of one node; empty with a note when the engine could not be read."""

    def __init__(self) -> None:
        super().__init__(id="containers", cursor_type="row", zebra_stripes=True)
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)
        self.node: str | None = None

    def show(
        self, snapshot: ClusterSnapshot, node: str | None, target: WindowsVersion | None
    ) -> None:
        self.node = node
        self.clear()
        engine = snapshot.engines.get(node) if node else None
        if engine is None:
            return
        for container, image, now, after in container_verdicts(engine, target):
            ref = parse_reference(container.image)
            self.add_row(
                container.name,
                Text(
                    container.state or "?",
                    style="green" if container.state == "running" else "bold red",
                ),
                verdict_text(now),
                verdict_text(after) if target else Text("-", style="dim"),
                image.os_version if image else "?",
                container.isolation or engine.isolation,
                ref.repository,
                ref.tag or "(latest)",
                key=container.id,
            )
