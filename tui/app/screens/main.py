"""The main screen: header, nodes, containers, upgrade domains, health and warnings, drawn from
a ViewState. It does not know which source (live, observe, replay) made the state."""

from __future__ import annotations

from collections.abc import Mapping

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from tui.app.widgets.containers_pane import ContainersPane
from tui.app.widgets.header_bar import HeaderBar
from tui.app.widgets.health_pane import HealthPane
from tui.app.widgets.node_detail import NodeDetail
from tui.app.widgets.nodes_table import NodesTable
from tui.app.widgets.runbook_pane import RunbookPane
from tui.app.widgets.upgrade_domains import UpgradeDomainTable
from tui.app.widgets.warnings_pane import WarningsPane
from tui.model import ClusterSnapshot, Finding
from tui.sources import OPERATE, ViewState
from tui.winver import WindowsVersion


class MainScreen(Screen):
    """The panes every mode shows; `show` redraws them from a state."""

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

    @property
    def snapshot(self) -> ClusterSnapshot | None:
        return self.state.snapshot

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.state.findings

    def compose(self) -> ComposeResult:
        yield HeaderBar(self.state.header)
        yield from self.compose_panes()
        yield Footer()

    def compose_panes(self) -> ComposeResult:
        """The cluster's panes; replay adds its own around them."""
        with Vertical(id="top"):
            yield Label("Nodes (by upgrade domain)", classes="pane-title")
            yield NodesTable()
            yield NodeDetail("", id="node-detail")
        with Horizontal(id="middle"):
            with Vertical(id="left"):
                yield Label(
                    "Containers on the selected node", classes="pane-title", id="containers-title"
                )
                yield ContainersPane()
            with Vertical(id="runbook-column"):
                yield Label("Runbook", classes="pane-title", id="runbook-title")
                yield RunbookPane("", id="runbook")
            with Vertical(id="right"):
                yield Label("Upgrade domains", classes="pane-title")
                yield UpgradeDomainTable()
                yield Label("Health", classes="pane-title")
                yield HealthPane(self.state.waiting, id="health")
        with Vertical(id="bottom"):
            yield Label(
                "Warnings (most severe first; Enter selects the node)",
                classes="pane-title",
                id="warnings-title",
            )
            yield WarningsPane()
            yield Static("", id="finding-detail")

    def on_mount(self) -> None:
        self.query_one(NodesTable).focus()
        if self.state.snapshot is not None:  # it came before the panes were there
            self.show(self.state)

    def show(self, state: ViewState) -> None:
        """Redraw everything from `state` (the tables diff-update)."""
        self.state = state
        if not self.is_mounted:
            return  # drawn on mount
        self.query_one(HeaderBar).show(state.header)
        snapshot = state.snapshot
        with self.app.batch_update():
            read_only = state.header.mode != OPERATE
            self.query_one(RunbookPane).show(state.runbook, state.run_started, read_only)
            if snapshot is None:
                self.query_one(HealthPane).update(state.waiting)
                return
            table = self.query_one(NodesTable)
            table.show(snapshot, state.findings)
            if state.node and snapshot.node(state.node) and table.selected_node != state.node:
                table.select_node(state.node)
            self.query_one(UpgradeDomainTable).show(snapshot)
            self.query_one(HealthPane).show(snapshot)
            self.query_one(WarningsPane).show(state.findings)
            self.show_selected()

    def target_for(self, name: str | None) -> WindowsVersion | None:
        node = self.snapshot.node(name) if (self.snapshot and name) else None
        return self.patch_targets.get(node.node_type) if node else None

    def show_selected(self) -> None:
        """The selected node's detail line and containers."""
        if self.snapshot is None:
            return
        name = self.query_one(NodesTable).selected_node
        target = self.target_for(name)
        self.query_one(NodeDetail).show(self.snapshot, name, target, self.busy.get(name))
        pane = self.query_one(ContainersPane)
        pane.show(self.snapshot, name, target)
        title = f"Containers on {name}" if name else "Containers"
        if name and name not in self.snapshot.engines:
            title += " (engine not read)"
        elif target is not None:
            title += f"; Patched = after patching to {target}"
        self.query_one("#containers-title", Label).update(title)

    def on_data_table_row_highlighted(self, event) -> None:
        if event.data_table.id == "nodes":
            self.show_selected()
        elif event.data_table.id == "warnings":
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
