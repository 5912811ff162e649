"""The main screen: header, nodes, containers, upgrade domains, health and warnings, drawn from
a ViewState. It does not know which source (live, observe, replay) made the state."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

from tui.app.filter import HELP as FILTER_HELP
from tui.app.widgets.containers_pane import ContainersPane
from tui.app.widgets.header_bar import HeaderBar
from tui.app.widgets.health_pane import HealthPane
from tui.app.widgets.node_detail import NodeDetail
from tui.app.widgets.nodes_table import NodesTable
from tui.app.widgets.runbook_pane import FROM_TRANSCRIPT, NO_PLAN, RunbookPane
from tui.app.widgets.status_line import StatusLine
from tui.app.widgets.ud_map import UdMap
from tui.app.widgets.upgrade_domains import UpgradeDomainTable
from tui.app.widgets.warnings_pane import WarningsPane
from tui.model import ClusterSnapshot, Finding
from tui.sources import OPERATE, ViewState
from tui.winver import WindowsVersion

NODES_TITLE = "Nodes (by upgrade domain; / filters)"


MIN_NODE_ROWS = 5


def nodes_max_height(screen_rows: int) -> int:
    """The nodes table's most rows: 40% of the screen, the rest for the other panes. In cells,
    not as a 40vh cap in the stylesheet: Textual (8.2) sizes an auto-height pane from its
    children as if a vh cap were not there, and the nodes pane grew by every row of a
    thousand nodes, pushing every other pane off the screen."""
    return max(MIN_NODE_ROWS, screen_rows * 2 // 5)


class MainScreen(Screen):
    """The panes every mode shows; `show` redraws them from a state."""

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="nodes.filter"),
        Binding("m", "toggle_map", "UD map", id="app.map"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="nodes.clear-filter"),
    ]

    def __init__(
        self,
        state: ViewState,
        patch_targets: Mapping[str, WindowsVersion] | None = None,
        busy: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.state = state
        self.patch_targets = patch_targets or {}
        self.busy = busy if busy is not None else {}  # node -> the action running on it
        self.waits: Mapping[str, str] = {}  # node -> what it waits for, with elapsed time

    @property
    def snapshot(self) -> ClusterSnapshot | None:
        return self.state.snapshot

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.state.findings

    def compose(self) -> ComposeResult:
        yield HeaderBar(self.state.header)
        yield StatusLine(id="status-line")
        yield from self.compose_panes()
        yield Footer()

    def compose_panes(self) -> ComposeResult:
        """The cluster's panes; replay adds its own around them."""
        with Vertical(id="top", classes="pane"):
            yield Label(NODES_TITLE, classes="pane-title", id="nodes-title")
            yield Input(placeholder=f"filter: {FILTER_HELP}", id="node-filter")
            yield NodesTable(on_highlight=self.show_selected)
            yield NodeDetail("", id="node-detail")
        with Horizontal(id="middle"):
            with Vertical(id="left", classes="pane"):
                yield Label(
                    "Containers on the selected node", classes="pane-title", id="containers-title"
                )
                yield ContainersPane()
            with Vertical(id="runbook-column"):
                yield Label("Runbook", classes="pane-title", id="runbook-title")
                yield RunbookPane(id="runbook")
            with Vertical(id="right"):
                yield Label("Upgrade domains (m: UD x FD map)", classes="pane-title", id="ud-title")
                yield UpgradeDomainTable()
                yield UdMap(id="ud-map")
                yield Label("Health", classes="pane-title")
                yield HealthPane(self.state.waiting, id="health")
        with Vertical(id="bottom", classes="pane"):
            yield Label(
                "Warnings (most severe first; Enter selects the node)",
                classes="pane-title",
                id="warnings-title",
            )
            yield WarningsPane()
            yield Static("", id="finding-detail")

    def on_resize(self, event: events.Resize) -> None:
        self.query_one(NodesTable).styles.max_height = nodes_max_height(event.size.height)

    def on_mount(self) -> None:
        self.query_one(NodesTable).focus()
        if self.state.snapshot is not None:  # it came before the panes were there
            self._draw(self.state)

    def on_descendant_focus(self, event) -> None:
        # A class, not :focus-within, since Textual does not restyle the focused widget's
        # siblings (the pane's title) when focus moves.
        for pane in self.query(".pane"):
            pane.set_class(pane in event.widget.ancestors, "focused-pane")

    def show(self, state: ViewState) -> None:
        """Redraw everything from `state` (the tables diff-update); a partial state is told
        (`state.drawn`) once it is on screen."""
        self.state = state
        if self.is_mounted:  # else drawn on mount (is_mounted is set after on_mount)
            self._draw(state)

    def _draw(self, state: ViewState) -> None:
        if state.drawn is not None:
            self.call_after_refresh(state.drawn)
        self.query_one(HeaderBar).show(state.header)
        snapshot = state.snapshot
        with self.app.batch_update():
            read_only = state.header.mode != OPERATE
            no_plan = NO_PLAN if state.engines_recorded else FROM_TRANSCRIPT  # fed by a file
            self.query_one(RunbookPane).show(state.runbook, state.run_started, read_only, no_plan)
            if snapshot is None:
                self.query_one(HealthPane).show_text(Text(state.waiting))
                return
            table = self.query_one(NodesTable)
            table.show(snapshot, state.findings)
            if state.node and snapshot.node(state.node) and table.selected_node != state.node:
                table.select_node(state.node)
            self._show_nodes_title()
            self.query_one(UpgradeDomainTable).show(snapshot)
            self.query_one(UdMap).show(snapshot, self.patch_targets)
            self.query_one(HealthPane).show(snapshot)
            self.query_one(WarningsPane).show(state.findings)
            self.show_selected()

    def action_toggle_map(self) -> None:
        """m: the UD x FD map with each UD's progress, in place of the upgrade-domain table."""
        table, ud_map = self.query_one(UpgradeDomainTable), self.query_one(UdMap)
        ud_map.display = not ud_map.display
        table.display = not ud_map.display
        title = "UD x FD map (m: table)" if ud_map.display else "Upgrade domains (m: UD x FD map)"
        self.query_one("#ud-title", Label).update(title)

    def action_filter(self) -> None:
        """`/`: type to filter the nodes; Enter goes back to the table, Escape clears."""
        box = self.query_one("#node-filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#node-filter", Input)
        if not box.display and not box.value:
            return
        box.value = ""
        box.display = False
        self._filter("")
        self.query_one(NodesTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "node-filter":
            self._filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "node-filter":
            self.query_one(NodesTable).focus()

    def _filter(self, text: str) -> None:
        table = self.query_one(NodesTable)
        table.query_text = text
        if self.snapshot is not None:
            table.show(self.snapshot, self.findings)
            self._show_nodes_title()
            self.show_selected()

    def _show_nodes_title(self) -> None:
        table = self.query_one(NodesTable)
        title = NODES_TITLE
        if table.query_text:
            shown, total = table.shown
            title += f"  filter {table.query_text!r}: {shown} of {total} (Escape clears)"
        self._title("#nodes-title", title)

    def target_for(self, name: str | None) -> WindowsVersion | None:
        node = self.snapshot.node(name) if (self.snapshot and name) else None
        return self.patch_targets.get(node.node_type) if node else None

    def show_selected(self) -> None:
        """The selected node's detail line and containers."""
        if self.snapshot is None:
            return
        name = self.query_one(NodesTable).selected_node
        target = self.target_for(name)
        wait = self.waits.get(name) or self.busy.get(name)
        recorded = self.state.engines_recorded
        self.query_one(NodeDetail).show(self.snapshot, name, target, wait, recorded)
        pane = self.query_one(ContainersPane)
        pane.show(self.snapshot, name, target)
        title = f"Containers on {name}" if name else "Containers"
        if not recorded:
            title += " (not in the transcript)"
        elif name and name not in self.snapshot.engines:
            title += " (engine not read)"
        elif target is not None:
            title += f"; Patched = after patching to {target}"
        self._title("#containers-title", title)

    def _title(self, selector: str, title: str) -> None:
        """A pane's title, redrawn when it changed; one line always, so never laid out."""
        label = self.query_one(selector, Label)
        if label.content != title:
            label.update(title, layout=False)

    def on_data_table_row_highlighted(self, event) -> None:
        # The nodes table's moves are shown through its on_highlight, in the frame of the move.
        if event.data_table.id == "warnings":
            pane = self.query_one(WarningsPane)
            finding = pane.findings[int(event.row_key.value)] if pane.findings else None
            detail = (
                ""
                if finding is None
                else (f"[{finding.rule_id}, from {finding.source}] {finding.message}")
            )
            self.query_one("#finding-detail", Static).update(detail)

    def on_warnings_pane_node_chosen(self, message: WarningsPane.NodeChosen) -> None:
        table = self.query_one(NodesTable)
        table.select_node(message.node)
        table.focus()
