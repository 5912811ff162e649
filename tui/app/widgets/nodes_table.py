"""The nodes table, ordered by upgrade domain and diff-updated on every poll."""

from __future__ import annotations

from textual.widgets import DataTable

from tui.app.format import health_text, status_text, uptime_text
from tui.model import ClusterSnapshot, Node

COLUMNS = (
    ("node", "Node", 14),
    ("type", "Type", 9),
    ("ud", "UD", 3),
    ("fd", "FD", 6),
    ("status", "Status", 9),
    ("health", "Health", 7),
    ("seed", "Seed", 4),
    ("address", "Address", 13),
    ("version", "Code version", 14),
    ("uptime", "Uptime", 12),
)


def node_sort_key(node: Node) -> tuple:
    ud = int(node.upgrade_domain) if node.upgrade_domain.isdigit() else 1 << 30
    return (ud, node.upgrade_domain, node.node_type, node.instance_index or 0, node.name)


def node_row(node: Node) -> tuple:
    return (
        node.name,
        node.node_type,
        node.upgrade_domain,
        node.fault_domain,
        status_text(node.status),
        health_text(node.health_state),
        "yes" if node.is_seed else "",
        node.ip_address,
        node.code_version,
        uptime_text(node.uptime_seconds, node.status),
    )


class NodesTable(DataTable):
    """One row per node; the row key is the node name."""

    def __init__(self) -> None:
        super().__init__(id="nodes", cursor_type="row", zebra_stripes=True)
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    @property
    def selected_node(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def show(self, snapshot: ClusterSnapshot) -> None:
        """Bring the table in line with the snapshot, touching only cells that changed."""
        nodes = sorted(snapshot.nodes, key=node_sort_key)
        wanted = [n.name for n in nodes]
        current = [key.value for key in self.rows]
        if current != wanted:
            selected = self.selected_node
            self.clear()
            for node in nodes:
                self.add_row(*node_row(node), key=node.name)
            if selected in wanted:
                self.move_cursor(row=wanted.index(selected))
            return
        for node in nodes:
            old = self.get_row(node.name)
            for (column, _, _), new, before in zip(COLUMNS, node_row(node), old, strict=True):
                if str(new) != str(before) or getattr(new, "style", None) != getattr(
                    before, "style", None
                ):
                    self.update_cell(node.name, column, new)

    def select_node(self, name: str) -> None:
        for index, key in enumerate(self.rows):
            if key.value == name:
                self.move_cursor(row=index)
                return
