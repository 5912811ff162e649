"""The sfpatch console: live nodes, upgrade domains and health; disable and enable with a confirm.

Blocking SDK calls run in thread workers and come back as messages. Polls never overlap: the
next one is scheduled only when the last has finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Label, Static

from tui.app.messages import ActionFinished, Alert, PollFailed, SnapshotReady
from tui.app.screens.confirm import ConfirmScreen
from tui.app.screens.help import HelpScreen
from tui.app.screens.note import NoteScreen
from tui.app.widgets.containers_pane import ContainersPane
from tui.app.widgets.header_bar import HeaderBar
from tui.app.widgets.health_pane import HealthPane
from tui.app.widgets.node_detail import NodeDetail
from tui.app.widgets.nodes_table import NodesTable
from tui.app.widgets.upgrade_domains import UpgradeDomainTable
from tui.app.widgets.warnings_pane import WarningsPane
from tui.errors import SfpatchError
from tui.model import ClusterSnapshot, Finding
from tui.runbook.steps import Question, Refusal, ask
from tui.session import Session

MUTATING_ACTIONS = {"disable", "patch", "enable"}


class SfpatchApp(App[None]):
    """One session against one cluster."""

    CSS_PATH = "sfpatch.tcss"
    TITLE = "sfpatch"
    BINDINGS = [
        Binding("d", "disable", "Disable", id="node.disable"),
        Binding("p", "patch", "Patch", id="node.patch"),
        Binding("e", "enable", "Enable", id="node.enable"),
        Binding("n", "note", "Note", id="app.note"),
        Binding("r", "refresh", "Refresh", id="app.refresh"),
        Binding("tab", "focus_next", "Next pane", show=False),
        Binding("question_mark", "help", "Keys", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, session: Session, handle_signals: bool = False) -> None:
        super().__init__()
        self.session = session
        self._handle_signals = handle_signals
        self.snapshot: ClusterSnapshot | None = None
        self.findings: tuple[Finding, ...] = ()
        self._polling = False
        self._poll_again = False
        self.busy: dict[str, str] = {}  # node -> the action still running on it (a patch)
        self.end_reason = "session ended"
        self._poll_timer = None
        self.polls_completed = 0

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        s = self.session
        yield HeaderBar(
            s.cluster_name,
            s.endpoint,
            "READ-ONLY" if s.read_only else "OPERATE",
            str(s.transcript_path or "none (read-only)"),
        )
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
            with Vertical(id="right"):
                yield Label("Upgrade domains", classes="pane-title")
                yield UpgradeDomainTable()
                yield Label("Health", classes="pane-title")
                yield HealthPane("Waiting for the first poll ...", id="health")
        with Vertical(id="bottom"):
            yield Label(
                "Warnings (most severe first; Enter selects the node)",
                classes="pane-title",
                id="warnings-title",
            )
            yield WarningsPane()
            yield Static("", id="finding-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(NodesTable).focus()
        if self._handle_signals:
            self._quit_on_signals()
        self.poll_now()

    def _quit_on_signals(self) -> None:
        """SIGTERM, or SIGHUP when the ssh session to the jump box drops: quit cleanly, so the
        transcript gets its end record and final checkpoint."""
        loop = asyncio.get_running_loop()
        reasons = {signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP (the terminal went away)"}
        for signum, reason in reasons.items():
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self._end, reason)

    def _end(self, reason: str) -> None:
        """Quit, saying why in the transcript's end record (with any node left out of service)."""
        out = self._out_of_service()
        self.end_reason = reason + (f"; nodes not Up: {', '.join(out)}" if out else "")
        self.exit()

    def _out_of_service(self) -> list[str]:
        nodes = self.snapshot.nodes if self.snapshot else ()
        out = [f"{n.name} ({n.status})" for n in nodes if n.status != "Up"]
        out += [f"{name} ({action} running)" for name, action in self.busy.items()]
        return out

    # ------------------------------------------------------------------ polling

    def poll_now(self) -> None:
        """Start a poll unless one is running; then one more runs right after it."""
        if self._polling:
            self._poll_again = True
            return
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        self._polling = True
        self._poll()

    @work(thread=True, group="poll")
    def _poll(self) -> None:
        try:
            snapshot = self.session.fetch_snapshot(self.snapshot)
            findings = self.session.evaluate(snapshot)
            self.session.record_snapshot(snapshot, findings)
            for message in self.session.reconcile(snapshot):
                self.post_message(Alert("Resumed session", message))
            lost = self.session.keep_lease()
            if lost:
                self.post_message(Alert("Cluster lease lost: no more actions", lost, "error"))
        except SfpatchError as exc:
            self.post_message(PollFailed(str(exc)))
            return
        except Exception as exc:  # a poll must never take the console down
            self.post_message(PollFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(SnapshotReady(snapshot, findings))

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        self.snapshot = message.snapshot
        self.findings = message.findings
        with self.batch_update():
            self.query_one(NodesTable).show(message.snapshot, message.findings)
            self.query_one(UpgradeDomainTable).show(message.snapshot)
            self.query_one(HealthPane).show(message.snapshot)
            self.query_one(WarningsPane).show(message.findings)
            self._show_selected()
        self._poll_finished()

    def _target_for(self, name: str | None):
        node = self.snapshot.node(name) if (self.snapshot and name) else None
        return self.session.patch_targets.get(node.node_type) if node else None

    def _show_selected(self) -> None:
        if self.snapshot is None:
            return
        name = self.query_one(NodesTable).selected_node
        target = self._target_for(name)
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
            self._show_selected()
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

    def on_alert(self, message: Alert) -> None:
        timeout = 4 if message.severity == "information" else 30
        self.notify(message.text, title=message.title, severity=message.severity, timeout=timeout)

    def on_poll_failed(self, message: PollFailed) -> None:
        self.notify(message.error, title="Refresh failed", severity="error", timeout=8)
        self._poll_finished()

    def _poll_finished(self) -> None:
        self._polling = False
        self.polls_completed += 1
        if self._poll_again:
            self._poll_again = False
            self.poll_now()
        else:
            self._poll_timer = self.set_timer(self.session.poll_seconds, self.poll_now)

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Hidden and blocked: a read-only session has no way to act.
        return not (action in MUTATING_ACTIONS and self.session.read_only)

    def action_refresh(self) -> None:
        for hook in self.session.after_action:  # r re-reads everything, engines and VMs too
            hook()
        self.poll_now()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.session.read_only))

    def action_note(self) -> None:
        node = self.query_one(NodesTable).selected_node
        self.push_screen(NoteScreen(node), callback=lambda text: self._note(text, node))

    @work(thread=True, group="action")
    def _note(self, text: str | None, node: str | None) -> None:
        if not text or self.session.operator is None:
            return
        try:
            self.session.operator.transcript.note(text, node=node)
        except SfpatchError as exc:
            self.post_message(Alert("The note was not saved", str(exc), "error"))
            return
        self.post_message(Alert("Note saved", "It is in the transcript.", "information"))

    def action_disable(self) -> None:
        self._ask("disable")

    def action_enable(self) -> None:
        self._ask("enable")

    def action_patch(self) -> None:
        self._ask("patch")

    def _ask(self, action: str) -> None:
        name = self.query_one(NodesTable).selected_node
        if self.snapshot is None or name is None:
            self.notify("Select a node first.", severity="warning")
            return
        if name in self.busy:
            self.notify(
                f"A {self.busy[name]} is still running on {name}; wait until it ends.",
                severity="warning",
            )
            return
        asked = ask(action, self.snapshot, name, self._target_for(name))
        if isinstance(asked, Refusal):
            self.notify(asked.message, severity="warning")
            return
        self.push_screen(
            ConfirmScreen(
                asked.title,
                asked.details,
                action.capitalize(),
                asked.gates,
                require_name=name if asked.risky else None,
            ),
            callback=lambda yes: self._start(asked) if yes else None,
        )

    def _start(self, asked: Question) -> None:
        if asked.action == "patch":
            self.busy[asked.node] = "patch"
            self._show_selected()
        self._act(asked.action, asked.node, asked.gates, asked.risky, asked.args)

    @work(thread=True, group="action")
    def _act(
        self, action: str, node: str, gates: tuple = (), typed: bool = False, extra: tuple = ()
    ) -> None:
        operator = self.session.operator
        try:
            if operator is None:
                raise SfpatchError("this session is read-only")
            if action == "patch":
                self.post_message(
                    Alert(f"Patching {node}", "Windows Update is running on its VM.", "information")
                )
            getattr(operator, action)(node, *extra, gates=gates, typed=typed)
        except SfpatchError as exc:
            self.post_message(ActionFinished(action, node, str(exc)))
            return
        except Exception as exc:
            self.post_message(ActionFinished(action, node, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(ActionFinished(action, node))

    def on_action_finished(self, message: ActionFinished) -> None:
        self.busy.pop(message.node, None)
        for hook in self.session.after_action:
            hook()
        if message.error:
            self.notify(
                message.error,
                title=f"{message.action} {message.node} failed",
                severity="error",
                timeout=12,
            )
        else:
            done = {
                "patch": "updates installed; check its containers before enabling it",
            }.get(message.action, "sent")
            self.notify(f"{message.action} {message.node}: {done}", timeout=8)
        self.poll_now()

    async def action_quit(self) -> None:
        out = self._out_of_service() if not self.session.read_only else []
        if not out:
            self._end("quit by the engineer")
            return
        self.push_screen(
            ConfirmScreen(
                "Quit with nodes out of service?",
                "Not Up: " + ", ".join(out) + ".\nThey stay as they are; the transcript's end "
                "record lists them. Re-open sfpatch to go on.",
                "Quit",
            ),
            callback=lambda yes: self._end("quit by the engineer") if yes else None,
        )
