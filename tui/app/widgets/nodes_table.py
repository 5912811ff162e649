"""The nodes table, ordered by upgrade domain and diff-updated on every poll."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

from rich.style import Style
from rich.text import Text
from textual.coordinate import Coordinate
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from tui.app.filter import node_matches
from tui.app.format import (
    containers_text,
    duration_text_lasts,
    host_text,
    node_health_text,
    same_cell,
    status_text,
    uptime_text,
)
from tui.last_objects import LastObjects
from tui.model import SEVERITY_RANK, ClusterSnapshot, Engine, Finding, Node

WARN_STYLE = {2: "bold red", 1: "yellow", 0: "dim"}
ELSEWHERE = Coordinate(-2, 0)  # a cursor on no row, not even the header's (-1)

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


def row_inputs(
    node: Node, engine: Engine | None, warned: tuple[int, int] | None, at: datetime
) -> tuple:
    """Everything a node's row is drawn from at `at` (the snapshot's moment): an equal tuple
    draws the same row. The first six items are all that its place in the table (order and
    filter) depends on."""
    return (
        node.name,
        node.upgrade_domain,
        node.node_type,
        node.fault_domain,
        node.status,
        warned,
        node.health_state,
        node.is_seed,
        node.ip_address,
        node.code_version,
        uptime_text(node.uptime_as_of(at), node.status),  # the seconds move, the text less often
        engine,
    )


PLACE = 6  # row_inputs[:PLACE] place a row
UPTIME = 10  # row_inputs[UPTIME] is the uptime's text


def node_row(
    node: Node, engine: Engine | None, warned: tuple[int, int] | None, at: datetime
) -> tuple:
    count, worst = warned or (0, -1)
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
        uptime_text(node.uptime_as_of(at), node.status),
    )


def fitted_widths(rows: Iterable[tuple], widths: Mapping[str, int] | None = None) -> dict[str, int]:
    """Each column's width: at least `widths` (else its default), and its widest cell, so no
    name or version is cut."""
    fitted = dict(widths) if widths is not None else {key: width for key, _, width in COLUMNS}
    for row in rows:
        for (key, _, _), cell in zip(COLUMNS, row, strict=True):
            fitted[key] = max(fitted[key], len(str(cell)))
    return fitted


class NodesTable(DataTable):
    """One row per node; the row key is the node name.

    A poll redraws only the rows whose inputs changed (see `row_inputs`), and a cursor move
    redraws only the rows it leaves and enters (see `_render_line_in_row`).

    `on_highlight` is called as soon as the cursor is on another node, for the screen to show
    that node's detail in the same frame as the row; not while `show` moves it."""

    def __init__(self, on_highlight: Callable[[], None] | None = None) -> None:
        self._on_highlight = on_highlight
        self._showing = False  # `show` is under way: whoever called it shows the detail after
        super().__init__(id="nodes", cursor_type="row", zebra_stripes=True)
        self._widths = {key: width for key, _, width in COLUMNS}
        self._add_columns()
        self.query_text = ""  # the `/` filter
        self.shown: tuple[int, int] = (0, 0)  # (rows shown, nodes in the snapshot)
        self._inputs: dict[str, tuple] = {}  # node -> what its row on screen was drawn from
        self._placed: tuple = ()  # what the order on screen was made from
        self._order: list[str] = []  # the nodes to show, in order
        self._drawn: list[str] = []  # the rows on screen, in order
        self._drawn_from = LastObjects()
        self._node_of: dict[str, Node] = {}  # the nodes the rows on screen were drawn from
        # When each row's uptime text next moves on, soonest first: (moment, node name).
        self._aging: list[tuple[datetime, str]] = []

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
        at = snapshot.taken_at
        if not self._drawn_from.changed(
            snapshot.nodes, snapshot.engines, findings, self.query_text
        ):
            self._age(at)  # the same nodes, a poll later: only their uptimes move on
            return
        self._showing = True
        try:
            self._draw(snapshot, findings, at)
        finally:
            self._showing = False
        aging = (self._next_aging(name, at) for name in self._drawn)
        self._aging = [entry for entry in aging if entry is not None]
        heapq.heapify(self._aging)

    def _draw(self, snapshot: ClusterSnapshot, findings: tuple[Finding, ...], at: datetime) -> None:
        """The rows whose inputs changed, or every row when the order or widths did."""
        counts = findings_by_node(findings)
        engines = snapshot.engines
        nodes = {n.name: n for n in snapshot.nodes}
        self._node_of = nodes
        inputs = {
            name: row_inputs(node, engines.get(name), counts.get(name), at)
            for name, node in nodes.items()
        }
        placed = (self.query_text, tuple(i[:PLACE] for i in inputs.values()))
        if placed != self._placed:
            self._placed = placed
            shown = sorted(
                (n for n in snapshot.nodes if node_matches(n, self.query_text, counts)),
                key=node_sort_key,
            )
            self._order = [n.name for n in shown]
        self.shown = (len(self._order), len(nodes))
        changed = [name for name in self._order if inputs[name] != self._inputs.get(name)]
        self._inputs = inputs
        rows = {
            name: node_row(nodes[name], engines.get(name), counts.get(name), at) for name in changed
        }
        widths = fitted_widths(rows.values(), self._widths)
        if self._order != self._drawn or widths != self._widths:
            self._widths = widths
            self._rebuild(nodes, engines, counts, rows, at)
            return
        for name, row in rows.items():
            old = self.get_row(name)
            for (column, _, _), new, before in zip(COLUMNS, row, old, strict=True):
                if not same_cell(new, before):
                    self.update_cell(name, column, new)

    def _age(self, at: datetime) -> None:
        """The uptime cells whose text moved on by `at` (nodes kept since they were read); a
        node up for days changes its text once an hour, so most polls look at none."""
        due = self._aging
        while due and due[0][0] <= at:
            _, name = heapq.heappop(due)
            node, inputs = self._node_of.get(name), self._inputs.get(name)
            if node is None or inputs is None:
                continue
            text = uptime_text(node.uptime_as_of(at), node.status)
            if text != inputs[UPTIME]:
                self._inputs[name] = (*inputs[:UPTIME], text, *inputs[UPTIME + 1 :])
                self.update_cell(name, "uptime", text)
            entry = self._next_aging(name, at)
            if entry is not None:
                heapq.heappush(due, entry)

    def _next_aging(self, name: str, at: datetime) -> tuple[datetime, str] | None:
        """When the uptime text of `name`'s row moves on after `at`, if it ever does (its node
        kept since it was read, and up)."""
        node = self._node_of.get(name)
        if node is None or node.uptime_at is None or node.uptime_seconds <= 0:
            return None
        if node.status == "Down":
            return None
        return at + timedelta(seconds=duration_text_lasts(node.uptime_as_of(at))), name

    def _rebuild(self, nodes, engines, counts, rows, at) -> None:  # type: ignore[no-untyped-def]
        """Every row anew, in `_order`, with the cursor kept on the node it was on."""
        selected = self.selected_node
        for name in self._order:
            if name not in rows:
                rows[name] = node_row(nodes[name], engines.get(name), counts.get(name), at)
        self._widths = fitted_widths(rows.values(), self._widths)
        self.clear(columns=True)
        self._add_columns()
        for name in self._order:
            self.add_row(*rows[name], key=name)
        self._drawn = list(self._order)
        if selected in rows:
            self.move_cursor(row=self._order.index(selected))

    def select_node(self, name: str) -> None:
        if name in self._order:
            self.move_cursor(row=self._order.index(name))

    def _highlight_row(self, row_index: int) -> None:
        super()._highlight_row(row_index)
        # DataTable tells of the new row by a message (RowHighlighted), which reaches the
        # screen after the frame that draws the row has been drawn: the detail line came a
        # frame later, ~25 ms more a key press. Called here, both are in one frame.
        if self._on_highlight is not None and not self._showing and row_index < self.row_count:
            self._on_highlight()

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # DataTable measures every cell of every new row, for auto-width columns and
        # auto-height rows (seconds for a thousand rows); here every column has its width
        # and every row one line, so only the table's size is left to work out.
        super()._update_dimensions(())

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple:
        # DataTable caches a drawn row under the cursor's and the mouse's place, so a cursor
        # move draws every row on screen again. A row cursor changes only the row it is on:
        # elsewhere both places are told as "not this row", and the cached row is reused.
        row = self._row_locations.get(row_key) if row_key in self._row_locations else -1
        if cursor_location.row != row:
            cursor_location = ELSEWHERE
        if hover_location.row != row:
            hover_location = ELSEWHERE
        return super()._render_line_in_row(
            row_key, line_no, base_style, cursor_location, hover_location
        )

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        # As above for a line on screen: DataTable caches it under the cursor's place too.
        # The cursor's and the mouse's rows are drawn as DataTable draws them; any other
        # line is kept in DataTable's own line cache (so that whatever clears it clears
        # these too) under a key without them.
        try:
            row_key, _ = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        row = self._row_locations.get(row_key) if row_key in self._row_locations else -1
        if row in (self.cursor_coordinate.row, self.hover_coordinate.row):
            return super()._render_line(y, x1, x2, base_style)
        key = (
            ELSEWHERE,
            y,
            x1,
            x2,
            self.size.width,
            base_style,
            self.cursor_type,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        strip = self._line_cache.get(key)
        if strip is None:
            strip = super()._render_line(y, x1, x2, base_style)
            self._line_cache[key] = strip
        return strip
