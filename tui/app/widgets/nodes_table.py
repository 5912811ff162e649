"""The nodes table, ordered by upgrade domain and diff-updated on every poll."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from tui.app.filter import node_matches
from tui.app.format import (
    containers_text,
    host_text,
    node_health_text,
    same_cell,
    status_text,
    uptime_text,
)
from tui.model import SEVERITY_RANK, ClusterSnapshot, Finding, Node

WARN_STYLE = {2: "bold red", 1: "yellow", 0: "dim"}

# What matters most during a change window first, so a narrow terminal scrolls the rest off.
COLUMNS = (
    ("node", "Node", 13),
    ("status", "Status", 9),
    ("health", "Health", 7),
    ("ud", "UD", 2),
    ("host", "Host OS", 11),
    ("containers", "Ctrs", 5),
    ("warnings", "Warn", 4),
    ("type", "Type", 9),
    ("seed", "Seed", 4),
    ("fd", "FD", 5),
    ("address", "Address", 11),
    ("version", "Code version", 14),
    ("uptime", "Uptime", 9),
)


def node_sort_key(node: Node) -> tuple:
    ud = int(node.upgrade_domain) if node.upgrade_domain.isdigit() else 1 << 30
    return (ud, node.upgrade_domain, node.node_type, node.instance_index or 0, node.name)


def findings_by_node(findings: tuple[Finding, ...]) -> dict[str, tuple[int, int]]:
    """node -> (how many findings, rank of the worst), in one pass over the findings."""
    result: dict[str, tuple[int, int]] = {}
    for f in findings:
        if f.node:
            count, worst = result.get(f.node, (0, -1))
            result[f.node] = (count + 1, max(worst, SEVERITY_RANK[f.severity]))
    return result


def node_row(node: Node, snapshot: ClusterSnapshot, counts: dict[str, tuple[int, int]]) -> tuple:
    engine = snapshot.engines.get(node.name)
    count, worst = counts.get(node.name, (0, -1))
    return (
        node.name,
        status_text(node.status),
        node_health_text(node.health_state, engine),
        node.upgrade_domain,
        host_text(engine),
        containers_text(engine),
        Text(str(count) if count else "", style=WARN_STYLE.get(worst, "")),
        node.node_type,
        "yes" if node.is_seed else "",
        node.fault_domain,
        node.ip_address,
        node.code_version,
        uptime_text(node.uptime_seconds, node.status),
    )


def fitted_widths(rows: list[tuple]) -> dict[str, int]:
    """Each column's width: its default, or its widest cell, so no name or version is cut."""
    widths = {key: width for key, _, width in COLUMNS}
    for row in rows:
        for (key, _, _), cell in zip(COLUMNS, row, strict=True):
            widths[key] = max(widths[key], len(str(cell)))
    return widths


class NodesTable(DataTable):
    """One row per node; the row key is the node name."""

    def __init__(self) -> None:
        super().__init__(id="nodes", cursor_type="row", zebra_stripes=True)
        self._widths = {key: width for key, _, width in COLUMNS}
        self._add_columns()
        self.query_text = ""  # the `/` filter
        self.shown: tuple[int, int] = (0, 0)  # (rows shown, nodes in the snapshot)

    def _add_columns(self) -> None:
        for key, label, _ in COLUMNS:
            self.add_column(label, key=key, width=self._widths[key])

    @property
    def selected_node(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def show(self, snapshot: ClusterSnapshot, findings: tuple[Finding, ...] = ()) -> None:
        """Bring the table in line with the snapshot, touching only cells that changed."""
        counts = findings_by_node(findings)
        nodes = sorted(
            (n for n in snapshot.nodes if node_matches(n, self.query_text, counts)),
            key=node_sort_key,
        )
        self.shown = (len(nodes), len(snapshot.nodes))
        wanted = [n.name for n in nodes]
        current = [key.value for key in self.rows]
        rows = [node_row(node, snapshot, counts) for node in nodes]
        widths = fitted_widths(rows)
        if current != wanted or any(widths[k] > self._widths[k] for k in widths):
            selected = self.selected_node
            self._widths = {k: max(w, self._widths[k]) for k, w in widths.items()}
            self.clear(columns=True)
            self._add_columns()
            for node, row in zip(nodes, rows, strict=True):
                self.add_row(*row, key=node.name)
            if selected in wanted:
                self.move_cursor(row=wanted.index(selected))
            return
        for node, row in zip(nodes, rows, strict=True):
            old = self.get_row(node.name)
            for (column, _, _), new, before in zip(COLUMNS, row, old, strict=True):
                if not same_cell(new, before):
                    self.update_cell(node.name, column, new)

    def select_node(self, name: str) -> None:
        for index, key in enumerate(self.rows):
            if key.value == name:
                self.move_cursor(row=index)
                return
