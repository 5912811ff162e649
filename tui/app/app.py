"""The sfpatch console: the main screen fed by a source of states (the live session, a transcript
being written, a finished one); disable, patch and enable with a confirm when the session may act.

Blocking calls (the SDKs, the transcript) run in thread workers and come back as messages. Polls
never overlap: the next one is scheduled only when the last has finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import time

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen

from tui.app.commands import SfpatchCommands
from tui.app.messages import ActionFinished, Alert, PollFailed, RunControlled, StateReady
from tui.app.screens.abort import AbortScreen
from tui.app.screens.confirm import ConfirmScreen
from tui.app.screens.help import HelpScreen
from tui.app.screens.main import MainScreen
from tui.app.screens.note import NoteScreen
from tui.app.widgets.node_detail import NodeDetail
from tui.app.widgets.nodes_table import NodesTable
from tui.app.widgets.status_line import StatusLine, node_waits, status_text
from tui.daemon_pool import DaemonPool
from tui.errors import SfpatchError
from tui.model import ClusterSnapshot, Finding
from tui.runbook.plan import PlanOptions
from tui.runbook.report import RunReport
from tui.runbook.steps import Question, Refusal, ask
from tui.session import Session
from tui.sources import Source
from tui.sources.live import LiveSource

MUTATING_ACTIONS = {"disable", "patch", "enable"}
RUN_ACTIONS = {"run_toggle", "run_auto", "run_skip", "run_abort", "run_retry", "run_override"}
FOOTER_ACTIONS = (*sorted(MUTATING_ACTIONS), *sorted(RUN_ACTIONS), "note")
WORKER_THREADS = 8  # the poll, actions, notes and runbook controls
QUIET_POLL_SECONDS = 1.0  # a timed poll is said on the status line once it takes this long


class SfpatchApp(App[None]):
    """One session against one cluster, or one transcript watched or replayed."""

    CSS_PATH = "sfpatch.tcss"
    TITLE = "sfpatch"
    COMMANDS = App.COMMANDS | {SfpatchCommands}
    BINDINGS = [
        Binding("d", "disable", "Disable", id="node.disable"),
        Binding("p", "patch", "Patch", id="node.patch"),
        Binding("e", "enable", "Enable", id="node.enable"),
        Binding(
            "space",
            "run_toggle",
            "Start/pause run",
            id="run.toggle",
            tooltip="start the runbook; pause it; resume it, or confirm the step it asks for",
        ),
        Binding(
            "a",
            "run_auto",
            "Auto-advance",
            id="run.auto",
            tooltip="toggle auto-advance (on: go on while gates pass; off: confirm each step)",
        ),
        Binding(
            "s",
            "run_skip",
            "Skip node",
            id="run.skip",
            tooltip="skip the runbook's current node (refused while it is out of service)",
        ),
        Binding(
            "x",
            "run_abort",
            "Abort run",
            id="run.abort",
            tooltip="end the run; a node left out of service is offered an enable",
        ),
        Binding(
            "R", "run_retry", "Retry step", id="run.retry", tooltip="try the paused step again"
        ),
        Binding(
            "o",
            "run_override",
            "Override gate",
            id="run.override",
            tooltip="let the failed gates pass for the current node (type its name; recorded)",
        ),
        Binding("n", "note", "Note", id="app.note"),
        Binding("r", "refresh", "Refresh", id="app.refresh"),
        Binding("tab", "focus_next", "Next pane", show=False),
        Binding("question_mark", "help", "Keys", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(
        self,
        session: Session | None = None,
        source: Source | None = None,
        plan_options: PlanOptions | None = None,
    ) -> None:
        super().__init__()
        if source is None and session is None:
            raise ValueError("a session or a source is needed")
        self.session = session  # None in observe and replay: nothing to act with
        self.live = LiveSource(session, plan_options) if source is None else None
        self.source: Source = source or self.live  # type: ignore[assignment]
        self.snapshot: ClusterSnapshot | None = None
        self.findings: tuple[Finding, ...] = ()
        self._polling = False
        self._poll_again = False
        self.busy: dict[str, str] = {}  # node -> the action still running on it
        self._ending: str | None = None
        self._run_loop: asyncio.AbstractEventLoop | None = None
        self._patched: set[str] = set()  # nodes whose containers the next full read must show
        self.clock = time.monotonic  # elapsed times of waits (tests set their own)
        self._started: dict[str, float] = {}  # node -> when this session's action on it began
        self._seen_waiting: set[str] = set()
        self._poll_started: float | None = None
        self._poll_timed = False
        self._progress = ""  # how far the first read has come
        self._poll_timer = None
        self.polls_completed = 0
        self._asked: tuple[str, str] | None = None  # the step-mode confirmation on screen
        self._footer_for: tuple = ()  # which of FOOTER_ACTIONS applied when the footer was drawn

    # ------------------------------------------------------------------ layout

    def get_default_screen(self) -> Screen:
        return self.make_screen()

    def make_screen(self) -> MainScreen:
        """The screen this source is shown on (replay and observe add their panes)."""
        from tui.app.screens.replay import ObserveScreen, ReplayScreen
        from tui.sources.observe import ObserveSource
        from tui.sources.replay import ReplaySource

        if isinstance(self.source, ReplaySource):
            return ReplayScreen(self.source, self.source.initial())
        if isinstance(self.source, ObserveSource):
            return ObserveScreen(self.source, self.source.initial())
        targets = getattr(self.source, "patch_targets", {})
        return MainScreen(self.source.initial(), targets, self.busy)

    @property
    def main(self) -> MainScreen:
        return self.default_screen  # type: ignore[return-value]

    def on_mount(self) -> None:
        for notice in self.session.notices if self.session else ():
            self.notify(notice, title="Resumed session", severity="warning", timeout=30)
        self.set_interval(1, self.show_status)
        self.poll_now()

    def show_status(self) -> None:
        """The status line and each node's wait, with elapsed times, on the main screen."""
        now = self.clock()
        waits = node_waits(self.snapshot, self.busy, self._started, now)
        for name in list(self._started):
            # A disable or enable waits on Service Fabric once sent: only that wait counts.
            if name in waits and self.busy.get(name, "patch") == "patch":
                self._seen_waiting.add(name)
            elif name in self._seen_waiting:  # that wait is over
                del self._started[name]
                self._seen_waiting.discard(name)
        started = self._poll_started
        refreshing = None if started is None else now - started
        if refreshing is not None and self._poll_timed and refreshing < QUIET_POLL_SECONDS:
            refreshing = None  # a poll of its own, every 2 s: said only once it takes long
        main = self.main
        main.waits = waits
        with contextlib.suppress(NoMatches):  # before the main screen is mounted
            main.query_one(StatusLine).show(
                status_text(self.snapshot, refreshing, waits, self._progress)
            )
            name = main.query_one(NodesTable).selected_node
            if name in waits and self.snapshot is not None:
                main.query_one(NodeDetail).show(
                    self.snapshot, name, main.target_for(name), waits[name]
                )

    # ------------------------------------------------------------------ the end

    def run_until_ended(self) -> None:
        """Run on a loop of its own whose thread workers are abandoned at the end, not waited
        for: a poll or a patch blocked in the SDK must not keep an ended console alive."""
        loop = asyncio.new_event_loop()
        loop.set_default_executor(DaemonPool(WORKER_THREADS, "sfpatch-worker"))
        self._run_loop = loop
        freeze_startup_objects()
        try:
            self.run(loop=loop)
        finally:
            _close_abandoning_workers(loop)

    def end(self, reason: str) -> None:
        """Quit, saying why in the transcript's end record (with any node left out of service)."""
        self.ending_reason(reason)
        self.exit()

    def end_from_any_thread(self, reason: str) -> None:
        """`end`, asked from another thread (SIGTERM, SIGHUP); nothing once the loop is gone."""
        loop = self._run_loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # closed: the app has ended already
                loop.call_soon_threadsafe(self.end, reason)

    def ending_reason(self, reason: str) -> str:
        """The end record's reason: the first one given (a signal while quitting changes
        nothing), with the nodes left out of service as they were then."""
        if self._ending is None:
            out = self._out_of_service()
            self._ending = reason + (f"; nodes not Up: {', '.join(out)}" if out else "")
        return self._ending

    @property
    def end_reason(self) -> str:
        return self._ending or "session ended"

    def _out_of_service(self) -> list[str]:
        """Each node not Up, once: by the action running on it if one is, else by its status."""
        busy = dict(self.busy)  # read from the signal watch's thread too
        nodes = self.snapshot.nodes if self.snapshot else ()
        out = [f"{n.name} ({n.status})" for n in nodes if n.status != "Up" and n.name not in busy]
        return out + [f"{name} ({action} running)" for name, action in busy.items()]

    # ------------------------------------------------------------------ polling

    def poll_now(self, timed: bool = False) -> None:
        """Start a poll unless one is running; then one more runs right after it. `timed`: the
        poll every few seconds, not asked for, which the status line says only once it has
        taken QUIET_POLL_SECONDS (a line that flickers every 2 s says nothing)."""
        if self._polling:
            self._poll_again = True
            return
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
        self._polling = True
        self._poll_started = self.clock()
        self._poll_timed = timed
        self.show_status()
        self._poll()

    @work(thread=True, group="poll")
    def _poll(self) -> None:
        try:
            if getattr(self.source, "fills_in", False):
                state = self.source.read(partial=lambda s: self.post_message(StateReady(s)))
            else:
                state = self.source.read()
        except SfpatchError as exc:
            self.post_message(PollFailed(str(exc)))
            return
        except Exception as exc:  # a poll must never take the console down
            self.post_message(PollFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(StateReady(state))

    def on_state_ready(self, message: StateReady) -> None:
        state = message.state
        if self._ending is not None:  # quitting: the screens may be gone already
            if state.drawn is not None:
                state.drawn()  # nothing to wait for
            return
        if state.partial:  # drawn, never acted on: self.snapshot stays the last full read
            if self.snapshot is None:
                self.main.show(state)  # tells state.drawn once it is on screen
                self._progress = state.waiting
                self.show_status()
            elif state.drawn is not None:
                state.drawn()  # not drawn: nothing to wait for
            return
        self._progress = ""
        self.snapshot = state.snapshot
        self.findings = state.findings
        if self.plan_error:
            self.polls_completed += 1
            self.end(f"the plan options do not fit the cluster: {self.plan_error}")
            return
        self.show_status()  # the waits first: the detail line drawn next shows them
        self.main.show(state)
        self._refresh_footer()
        self._tell_patch_outcomes()
        for alert in state.alerts:
            self.on_alert(Alert(alert.title, alert.text, alert.severity))
        self._ask_step(state.runbook)
        self._poll_finished()

    def _refresh_footer(self) -> None:
        """The footer again when a poll changed which keys apply: redrawing it costs a layout."""
        applies = tuple(self.check_action(a, ()) for a in FOOTER_ACTIONS)
        if applies != self._footer_for:
            self._footer_for = applies
            self.refresh_bindings()

    def _tell_patch_outcomes(self) -> None:
        """A patch's outcome is what its node's containers do after it, not that it ended."""
        snapshot = self.snapshot
        for name in sorted(self._patched):
            node = snapshot.node(name) if snapshot else None
            engine = snapshot.engines.get(name) if snapshot else None
            if node is None or engine is None or engine.node_instance_id != node.instance_id:
                if snapshot is not None and snapshot.unread("docker", name):
                    self._patched.discard(name)
                    self.notify(
                        f"patch {name}: its engine could not be read after the patch; check its "
                        f"containers before enabling it.",
                        title=f"patch {name}: outcome UNKNOWN",
                        severity="error",
                        timeout=30,
                    )
                continue  # not read since the node came back: wait for the next full read
            self._patched.discard(name)
            stopped = [c for c in engine.containers if c.state != "running"]
            if stopped:
                self.notify(
                    f"{len(stopped)} of {len(engine.containers)} containers not running after "
                    f"the patch: "
                    + ", ".join(f"{c.name} ({c.status or c.state})" for c in stopped)
                    + ". Do not enable it before they run.",
                    title=f"patch {name}: CONTAINERS DOWN",
                    severity="error",
                    timeout=60,
                )
            else:
                self.notify(
                    f"host {engine.os_version}; {len(engine.containers)}/"
                    f"{len(engine.containers)} containers running.",
                    title=f"patch {name}: done",
                    timeout=8,
                )

    def on_alert(self, message: Alert) -> None:
        timeout = 4 if message.severity == "information" else 30
        self.notify(message.text, title=message.title, severity=message.severity, timeout=timeout)

    def on_poll_failed(self, message: PollFailed) -> None:
        self.notify(message.error, title="Refresh failed", severity="error", timeout=8)
        self._poll_finished()

    def _poll_finished(self) -> None:
        self._polling = False
        self._poll_started = None
        self.show_status()
        self.polls_completed += 1
        if self._poll_again:
            self._poll_again = False
            self.poll_now()
        elif self.source.poll_seconds > 0:
            self._poll_timer = self.set_timer(
                self.source.poll_seconds, functools.partial(self.poll_now, timed=True)
            )

    # ------------------------------------------------------------------ actions

    @property
    def can_act(self) -> bool:
        """Whether this app holds a session that may change the cluster."""
        return self.session is not None and not self.session.read_only

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Hidden and blocked: a read-only session, observe and replay have no way to act.
        if action in MUTATING_ACTIONS:
            return self.can_act and not self._run_moving()
        if action in RUN_ACTIONS:
            return self.can_act and self._run_applies(action)
        if action == "note":  # a note goes to this session's own transcript
            return self.session is not None
        return True

    def action_refresh(self) -> None:
        for hook in self.session.after_action if self.session else ():
            hook()  # r re-reads everything, engines and VMs too
        self.poll_now()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(not self.can_act, self.source.mode))

    def action_note(self) -> None:
        node = self.query_one(NodesTable).selected_node
        self.push_screen(NoteScreen(node), callback=lambda text: self._note(text, node))

    @work(thread=True, group="action")
    def _note(self, text: str | None, node: str | None) -> None:
        if not text or self.session is None:
            return
        try:
            self.session.engine.note(text, node)
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
        if not self.can_act:
            return
        if self._run_moving():
            self.notify(
                "The runbook is running: pause it (space) before acting by hand.",
                severity="warning",
            )
            return
        name = self.query_one(NodesTable).selected_node
        if self.snapshot is None and self._progress:
            self.notify(
                f"Still {self._progress}; actions wait for the full read.", severity="warning"
            )
            return
        if self.snapshot is None or name is None:
            self.notify("Select a node first.", severity="warning")
            return
        if name in self.busy:
            self.notify(
                f"A {self.busy[name]} is still running on {name}; wait until it ends.",
                severity="warning",
            )
            return
        asked = ask(action, self.snapshot, name, self.main.target_for(name))
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
        self._started[asked.node] = self.clock()
        self.busy[asked.node] = asked.action
        self.main.show_selected()
        self.show_status()
        self._act(asked)

    @work(thread=True, group="action")
    def _act(self, asked: Question) -> None:
        action, node = asked.action, asked.node
        try:
            if self.session is None:
                raise SfpatchError("this screen has no session to act through")
            if action == "patch":
                self.post_message(
                    Alert(f"Patching {node}", "Windows Update is running on its VM.", "information")
                )
            self.session.engine.act(asked.step, asked.gates, asked.risky)
        except SfpatchError as exc:
            self.post_message(ActionFinished(action, node, str(exc)))
            return
        except Exception as exc:
            self.post_message(ActionFinished(action, node, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(ActionFinished(action, node))

    def on_action_finished(self, message: ActionFinished) -> None:
        self.busy.pop(message.node, None)
        for hook in self.session.after_action if self.session else ():
            hook()
        if message.error:
            self.notify(
                message.error,
                title=f"{message.action} {message.node} failed",
                severity="error",
                timeout=12,
            )
        elif message.action == "patch":
            self._patched.add(message.node)  # the outcome is told once its containers are read
            self.notify(
                f"patch {message.node}: updates installed; reading its containers ...", timeout=8
            )
        else:
            self.notify(f"{message.action} {message.node}: sent", timeout=8)
        self.poll_now()

    async def action_quit(self) -> None:
        out = self._out_of_service() if self.can_act else []
        if not out:
            self.end("quit by the engineer")
            return
        self.push_screen(
            ConfirmScreen(
                "Quit with nodes out of service?",
                "Not Up: " + ", ".join(out) + ".\nThey stay as they are; the transcript's end "
                "record lists them. Re-open sfpatch to go on.",
                "Quit",
            ),
            callback=lambda yes: self.end("quit by the engineer") if yes else None,
        )

    # ------------------------------------------------------------------ the runbook

    @property
    def run_report(self) -> RunReport | None:
        return self.main.state.runbook if self.is_mounted else None

    @property
    def plan_error(self) -> str:
        """Why the plan options given do not fit this cluster ('' when they do)."""
        return self.live.plan_error if self.live is not None else ""

    @property
    def run_started(self) -> bool:
        return self.live is not None and self.live.started

    def _run_moving(self) -> bool:
        """The run is started and neither paused nor finished: it alone acts on the cluster."""
        report = self.run_report
        return self.run_started and report is not None and not report.finished and not report.paused

    def _run_applies(self, action: str) -> bool:
        """Whether a runbook key does something now (the footer shows only those)."""
        report = self.run_report
        if report is None or report.finished or self.live is None:
            return False
        if action == "run_auto":
            return True
        if not self.live.started:
            return action == "run_toggle" and report.remaining > 0
        pause = report.paused
        if action == "run_toggle":
            return pause is None or bool({"resume", "confirm"} & set(pause.actions))
        if action == "run_abort":
            return True
        if action == "run_skip":
            return report.current is not None and (pause is None or "skip" in pause.actions)
        if action == "run_retry":
            return pause is not None and "retry" in pause.actions
        if action == "run_override":
            return pause is not None and "override" in pause.actions
        return False

    def action_run_toggle(self) -> None:
        report = self.run_report
        if not (self.can_act and self.live and report and self._run_applies("run_toggle")):
            return
        if not self.live.started:
            self._control("start")
        elif report.paused is None:
            self._control("pause")
        elif report.paused.kind == "confirm":
            self._asked = None
            self._ask_step(report)
        else:
            self._control("resume")

    def action_run_auto(self) -> None:
        report = self.run_report
        if self.can_act and report is not None and self._run_applies("run_auto"):
            self._control("step" if report.mode == "auto" else "auto")

    def action_run_skip(self) -> None:
        if self.can_act and self._run_applies("run_skip"):
            self._control("skip")

    def action_run_retry(self) -> None:
        if self.can_act and self._run_applies("run_retry"):
            self._control("retry")

    def action_run_abort(self) -> None:
        report = self.run_report
        if not (self.can_act and report and self._run_applies("run_abort")):
            return
        node = report.current
        if report.out_of_service and node is not None:
            self.push_screen(AbortScreen(node), callback=self._abort_chosen)
            return
        self.push_screen(
            ConfirmScreen(
                "Abort the run?",
                "Nothing more is sent; nodes not started stay as they are. The choice is "
                "recorded in the transcript.",
                "Abort",
            ),
            callback=lambda yes: self._control("abort") if yes else None,
        )

    def _abort_chosen(self, choice: str | None) -> None:
        if choice is not None:
            self._control("abort-enable" if choice == "enable" else "abort-leave")

    def action_run_override(self) -> None:
        report = self.run_report
        if not (self.can_act and report and report.current and self._run_applies("run_override")):
            return
        failed = [g for g in report.gates if not g.passed]
        if not failed:
            self.notify("No failed gate of this step can be overridden here.", severity="warning")
            return
        node = report.current
        self.push_screen(
            ConfirmScreen(
                f"Override {', '.join(g.name for g in failed)} for {node}?",
                "The run goes on as if these gates had passed, for this node only. "
                "The override is recorded with your name.",
                "Override",
                tuple(failed),
                require_name=node,
            ),
            callback=lambda yes: (
                self._control("override", tuple(g.name for g in failed)) if yes else None
            ),
        )

    def _ask_step(self, report: RunReport | None) -> None:
        """Step mode: the step the run waits to send is confirmed on the confirmation screen
        (the node's name typed for a seed node or a gate not passed)."""
        pause = report.paused if report else None
        if report is None or pause is None or pause.kind != "confirm" or not self.can_act:
            self._asked = None
            return
        node = report.current or ""
        key = (node, report.current_node.step if report.current_node else "")
        if self._asked == key:
            return
        self._asked = key
        found = self.snapshot.node(node) if self.snapshot else None
        risky = (found is not None and found.is_seed) or not all(g.passed for g in report.gates)
        what = pause.reason.removeprefix("step mode: confirm to ")
        self.push_screen(
            ConfirmScreen(
                f"Step mode: {what}?",
                f"The runbook's next step on {node}"
                + (" (a SEED node)" if found is not None and found.is_seed else "")
                + ". Cancel leaves the run paused; space asks again.",
                key[1].capitalize() or "Go on",
                report.gates,
                require_name=node if risky else None,
            ),
            callback=lambda yes: self._control("resume") if yes else None,
        )

    @work(thread=True, group="runbook")
    def _control(self, control: str, gates: tuple[str, ...] = ()) -> None:
        """One runbook control, between polls; what it refused or failed with comes back."""
        live = self.live
        if live is None or not self.can_act:
            return
        try:
            refused = ""
            if control == "start":
                live.start()
            elif control in ("auto", "step"):
                live.drive(lambda engine: engine.set_mode(control))  # type: ignore[arg-type]
            elif control == "pause":
                live.drive(lambda engine: engine.pause())
            elif control == "resume":
                live.drive(lambda engine: engine.resume())
            elif control == "retry":
                live.drive(lambda engine: engine.retry())
            elif control == "skip":
                refused = live.drive(lambda engine: engine.skip())
            elif control == "abort":
                refused = live.drive(lambda engine: engine.abort())
            elif control in ("abort-enable", "abort-leave"):
                enable = control == "abort-enable"
                refused = live.drive(lambda engine: engine.abort(enable=enable))
            elif control == "override":
                for gate in gates:
                    live.drive(lambda engine, gate=gate: engine.override(gate))
            else:
                raise ValueError(f"unknown runbook control {control!r}")
        except SfpatchError as exc:
            self.post_message(RunControlled(control, str(exc)))
            return
        except Exception as exc:  # a control must never take the console down
            self.post_message(RunControlled(control, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(RunControlled(control, refused))

    def on_run_controlled(self, message: RunControlled) -> None:
        if message.error:
            self.notify(message.error, title=f"Runbook: {message.name}", severity="warning")
        self.poll_now()


def freeze_startup_objects() -> None:
    """Leave the objects alive now (modules, classes, the session: ~175,000 of them, all kept
    as long as the console) out of every later garbage collection. A full collection walks
    every object the collector tracks, holding the screen meanwhile: on 1,000 nodes, just
    after a full read, 250-400 ms, and these were about half of what it walked. Frozen
    objects are still freed when nothing refers to them; only a cycle among them would stay."""
    gc.freeze()


def _close_abandoning_workers(loop: asyncio.AbstractEventLoop) -> None:
    """What asyncio.run does at the end, less waiting for the default executor's threads."""
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()  # shuts the executor down without waiting
