"""The selected node's containers: image, tag, image OS, isolation, and the verdicts now and
after the node's patch target."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from tui.app.format import same_cell
from tui.model import ClusterSnapshot
from tui.rules.compat import Verdict
from tui.rules.containers import container_verdicts
from tui.rules.images import parse_reference
from tui.winver import WindowsVersion

# The verdicts right after the name, then the versions, so a narrow pane cuts only the
# repository name at its right end.
COLUMNS = (
    ("container", "Container", 20),
    ("state", "State", 7),
    ("now", "Now", 7),
    ("after", "Patched", 7),
    ("image_os", "Image OS", 10),
    ("tag", "Tag", 11),
    ("isolation", "Isol.", 7),
    ("image", "Image", 22),
)
BLANK = ("",) * len(COLUMNS)


def image_os_text(os_version: str | None) -> str:
    """build.revision, as the nodes table shows the host's ("10.0." is every Windows Server's)."""
    return os_version.removeprefix("10.0.") if os_version else "?"


def verdict_text(verdict: Verdict | None, label_ok: str = "ok") -> Text:
    if verdict is None or not verdict.decided:
        return Text("?", style="yellow")
    if verdict.compatible:
        return Text(label_ok, style="green")
    return Text("BLOCKED", style="bold red")


def container_rows(
    snapshot: ClusterSnapshot, node: str | None, target: WindowsVersion | None
) -> list[tuple]:
    """One row of cells per container of `node` (none when its engine was not read)."""
    engine = snapshot.engines.get(node) if node else None
    if engine is None:
        return []
    rows = []
    for container, image, now, after in container_verdicts(engine, target):
        ref = parse_reference(container.image)
        rows.append(
            (
                container.name,
                Text(
                    container.state or "?",
                    style="green" if container.state == "running" else "bold red",
                ),
                verdict_text(now),
                verdict_text(after) if target else Text("-", style="dim"),
                image_os_text(image.os_version if image else None),
                ref.tag or "(latest)",
                container.isolation or engine.isolation,
                ref.repository,
            )
        )
    return rows


def fitted_widths(snapshot: ClusterSnapshot) -> dict[str, int]:
    """Each column's width: its default, or the widest value any engine of the cluster has."""
    widths = {key: width for key, _, width in COLUMNS}
    images: dict[str, str] = {}
    references: set[str] = set()  # a cluster runs a few images in thousands of containers
    for engine in snapshot.engines.values():
        for image in engine.images:
            images[image.id] = image.os_version
        for container in engine.containers:
            references.add(container.image)
            widths["container"] = max(widths["container"], len(container.name))
    for reference in references:
        ref = parse_reference(reference)
        widths["image"] = max(widths["image"], len(ref.repository))
        widths["tag"] = max(widths["tag"], len(ref.tag or "(latest)"))
    for os_version in images.values():
        widths["image_os"] = max(widths["image_os"], len(image_os_text(os_version)))
    return widths


class ContainersPane(DataTable):
    """Containers of one node; empty when the engine could not be read.

    Rows are keyed by position and updated in place, there are as many as the node with the
    most containers has, and the columns are fitted to the whole cluster: moving from node to
    node repaints cells without a new layout."""

    def __init__(self) -> None:
        super().__init__(id="containers", cursor_type="row")
        self._widths = {key: width for key, _, width in COLUMNS}
        self._add_columns()
        self.node: str | None = None
        self._engines: object = None  # the engines the columns and rows were fitted to

    def _add_columns(self) -> None:
        for key, label, _ in COLUMNS:
            self.add_column(label, key=key, width=self._widths[key])

    def show(
        self, snapshot: ClusterSnapshot, node: str | None, target: WindowsVersion | None
    ) -> None:
        self.node = node
        if snapshot.engines is not self._engines:  # a health poll keeps the last engines
            self._engines = snapshot.engines
            widths = fitted_widths(snapshot)
            if widths != self._widths:
                self._widths = widths
                self.clear(columns=True)
                self._add_columns()
            most = max((len(e.containers) for e in snapshot.engines.values()), default=0)
            while self.row_count > most:
                self.remove_row(str(self.row_count - 1))
            while self.row_count < most:
                self.add_row(*BLANK, key=str(self.row_count))
        rows = container_rows(snapshot, node, target)
        rows += [BLANK] * (self.row_count - len(rows))  # as many rows for every node
        for index, row in enumerate(rows):
            key = str(index)
            for (column, _, _), new, before in zip(COLUMNS, row, self.get_row(key), strict=True):
                if not same_cell(new, before):
                    self.update_cell(key, column, new)
