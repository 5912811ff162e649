"""The session engine: it reads the cluster, records what was seen, keeps the lease, and steps
the plan node by node. The console and the headless command drive the same engine.

Everything that changes the cluster goes through the Operator (gated, write-ahead); every
decision about a node is a Step in procedure.py. The engine owns only the state in between:
which node is current, at which step, what is in flight, and why it paused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from tui.errors import ClusterError, SfpatchError
from tui.last_objects import LastObjects
from tui.model import NODES_READ, ClusterSnapshot, Finding
from tui.runbook.actions import Action, Enable
from tui.runbook.gates import Gate, enable_gates
from tui.runbook.operator import Operator, Started
from tui.runbook.plan import DONE, STEPS, PlannedNode, PlanOptions, plan_nodes
from tui.runbook.ports import Clock, Evaluate, FetchSnapshot
from tui.runbook.procedure import (
    PROCEDURE,
    Context,
    Pause,
    Proceed,
    Progress,
    Send,
    Waiting,
    step_gates,
)
from tui.runbook.report import NodeReport, RunReport, StepEvent
from tui.runbook.window import Window, estimate_per_node, eta
from tui.winver import WindowsVersion

Mode = Literal["auto", "step"]
READ_FAILURES_BEFORE_PAUSE = 3


@dataclass(frozen=True)
class Timeouts:
    """Seconds each step may wait before the run pauses. Defaults suit a real cluster."""

    disable: float = 60.0
    wait_disabled: float = 1800.0
    patch: float = 5400.0
    wait_rebooted: float = 3600.0
    check_host: float = 600.0
    check_containers: float = 900.0
    enable: float = 60.0
    settle: float = 1800.0  # beyond the settle period itself

    def for_step(self, step: str, settle_seconds: float) -> float:
        seconds = {
            "gates": float("inf"),
            "disable": self.disable,
            "wait-disabled": self.wait_disabled,
            "patch": self.patch,
            "wait-rebooted": self.wait_rebooted,
            "check-host": self.check_host,
            "check-containers": self.check_containers,
            "enable": self.enable,
        }.get(step)
        return settle_seconds + self.settle if seconds is None else seconds


@dataclass(frozen=True)
class RunSettings:
    """How a run goes: its mode, settle period, timeouts, window and what was pre-confirmed."""

    mode: Mode = "auto"
    settle_seconds: float = 60.0
    timeouts: Timeouts = field(default_factory=Timeouts)
    window: Window | None = None
    seed_estimate_seconds: float = 45 * 60.0  # a node's time before one is done here
    overrides: frozenset[tuple[str, str]] = frozenset()  # (gate, node) from --override
    confirmed_by: str = "the engineer"  # recorded with each step the run sends
    strategies: Mapping[str, str] = field(default_factory=dict)  # by node type


@dataclass(frozen=True)
class Observation:
    """One read of the cluster, what the rules found, and anything the engineer must be told."""

    snapshot: ClusterSnapshot
    findings: tuple[Finding, ...]
    alerts: tuple[tuple[str, str, str], ...] = ()  # (title, text, severity)


class Engine:
    """One session against one cluster: observation, recording, lease, and the plan's run."""

    def __init__(
        self,
        operator: Operator,
        fetch: FetchSnapshot,
        evaluate: Evaluate,
        clock: Clock,
        patch_targets: Mapping[str, WindowsVersion],
        settings: RunSettings = RunSettings(),
        want_full: Callable[[], None] = lambda: None,
        pending: Iterable[tuple[str, str]] = (),
        on_event: Callable[[StepEvent], None] = lambda event: None,
    ) -> None:
        self.operator = operator
        self.transcript = operator.transcript
        self._fetch = fetch
        self._evaluate = evaluate
        self.clock = clock
        self.patch_targets = patch_targets
        self.settings = settings
        self.mode: Mode = settings.mode
        self._want_full = want_full
        self.pending = list(pending)  # intents a crashed session left without a result
        self.pending_seen: tuple[tuple[str, str], ...] = tuple(self.pending)
        self.on_event = on_event
        self.last: Observation | None = None
        self._last_recorded: tuple = ()
        self._last_shown = LastObjects()
        self._reported: dict[str, tuple[tuple, NodeReport]] = {}  # see _node_report
        self._reported_nodes: tuple[NodeReport, ...] = ()
        self._warned: set = set()
        self._read_failures = 0
        # the run
        self.plan: tuple[PlannedNode, ...] = ()
        self._progress: dict[str, Progress] = {}
        self._state: dict[str, str] = {}
        self._step: dict[str, int] = {}
        self._waiting: dict[str, str] = {}
        self._started_at: dict[str, datetime] = {}
        self._done_seconds: list[float] = []
        self._inflight: Started | None = None
        self._queue: list[tuple[Action, tuple[Gate, ...]]] = []
        self.paused: Pause | None = None
        self._confirmed = False
        self.stop_reason = ""
        self.stopped = ""
        self.aborted = False

    # ------------------------------------------------------------------ observing

    @property
    def read_only(self) -> bool:
        return self.operator.read_only

    def observe(self, focus: str | None = None, **fill_in) -> Observation:
        """Read the cluster, evaluate it, record what changed, reconcile once, keep the lease.

        With `focus` (the node the run is at), the read is of that node (its VM and engine,
        with the nodes and cluster health), not of every engine: see FetchSnapshot. `fill_in`
        (progress, on_gateway, on_engine) lets a screen show a full read under way."""
        snapshot = self._fetch(self.last.snapshot if self.last else None, focus, **fill_in)
        findings = self._evaluate(snapshot)
        self.record_snapshot(snapshot, findings)
        alerts = [("Resumed session", m, "warning") for m in self.reconcile(snapshot)]
        lost = self.keep_lease()
        if lost:
            alerts.append(("Cluster lease lost: no more actions", lost, "error"))
        self.last = Observation(snapshot, findings, tuple(alerts))
        return self.last

    def record_snapshot(self, snapshot: ClusterSnapshot, findings: tuple[Finding, ...]) -> None:
        """Write what the engineer was shown to the transcript when it changed."""
        if not self._last_shown.changed(snapshot.nodes, snapshot.health, findings):
            return  # the very objects of the last call: a poll that found nothing new
        signature = (
            snapshot.health.aggregated,
            tuple((n.name, n.status, n.health_state, n.instance_id) for n in snapshot.nodes),
            tuple((f.rule_id, f.subject) for f in findings),
        )
        if signature == self._last_recorded:
            return
        self._last_recorded = signature
        from tui.transcript.snapshot import encode_snapshot

        self.transcript.snapshot(encode_snapshot(snapshot, findings))
        # Each finding once, when first shown: the audit trail of what the engineer was warned of.
        # In one write: a first read of 1,000 nodes shows thousands, and one fsync each took
        # seconds before the screen could show them.
        new = []
        for f in findings:
            key = (f.rule_id, f.subject, f.node)
            if key not in self._warned:
                self._warned.add(key)
                new.append((f.message, f.rule_id, f.severity, f.node))
        if new:
            self.transcript.warnings(new)

    def reconcile(self, snapshot: ClusterSnapshot) -> list[str]:
        """Compare what a crashed session left unfinished with the live cluster (once).

        Nothing is replayed: each pending intent is noted with the node's state as it is now."""
        messages = []
        for action, node in self.pending:
            found = snapshot.node(node)
            now = found.status if found else "not in the cluster"
            message = (
                f"{action} {node} was started before the crash but has no recorded result; "
                f"the cluster shows {node} {now}."
            )
            vm = next((i for i in snapshot.instances if i.node_name == node), None)
            if vm is not None and vm.operation:
                message += (
                    f" ARM reports {vm.operation} still in progress on its VM "
                    f"{vm.scale_set}/{vm.instance_id}: p is refused until it ends."
                )
            self.transcript.note(f"reconciled after resume: {message}", node=node)
            messages.append(message)
        self.pending = []
        return messages

    def keep_lease(self) -> str:
        """Renew the cluster lease when due; why it was lost, if it was."""
        return self.operator.keep_lease()

    def note(self, text: str, node: str | None = None) -> None:
        """The engineer's free-text note, into the transcript."""
        self.transcript.note(text, node=node)

    def act(self, action: Action, gates: Iterable[Gate] = (), typed: bool = False) -> object:
        """An ad-hoc action from the console (d, p, e): gated, recorded, waited for."""
        try:
            return self.operator.run(action, gates, typed)
        finally:
            self._want_full()

    # ------------------------------------------------------------------ planning

    def plan_run(self, options: PlanOptions | None = None) -> tuple[PlannedNode, ...]:
        """Plan from the latest observation (reading one if there is none) and record the plan."""
        observation = self.last or self.observe()
        in_flight = frozenset(node for action, node in self.pending_seen if action == "patch")
        self.plan = plan_nodes(
            observation.snapshot,
            self.patch_targets,
            options or PlanOptions(),
            self.settings.strategies,
            patches_in_flight=in_flight,
        )
        now = self.clock.now()
        for planned in self.plan:
            self._state[planned.name] = "pending" if planned.todo else "nothing"
            self._step[planned.name] = STEPS.index(planned.entry) if planned.todo else len(STEPS)
            progress = Progress(planned, now)
            progress.overrides = {g for g, n in self.settings.overrides if n == planned.name}
            self._progress[planned.name] = progress
        if not self.read_only:
            self.transcript.note(
                "runbook plan: " + ("; ".join(_plan_line(p) for p in self.plan) or "no nodes"),
            )
            for gate, node in sorted(self.settings.overrides):
                self.transcript.confirm(
                    f"override gate {gate} for {node}",
                    node=node,
                    typed_node_name=True,
                    overriding_gates=[gate],
                    confirmed_by=f"--override {gate}:{node}",
                )
        return self.plan

    # ------------------------------------------------------------------ running

    @property
    def current(self) -> str | None:
        return next(
            (p.name for p in self.plan if self._state[p.name] in ("pending", "running")), None
        )

    @property
    def finished(self) -> bool:
        return self.aborted or bool(self.stopped) or self.current is None

    def tick(self) -> RunReport:
        """Read the cluster and move the current node as far as it can go now. A node that
        ends here is followed by a full read, on which the next node starts."""
        while True:
            try:
                observation = self.observe(focus=self.current)
                unread = _nodes_unread(observation.snapshot)
            except SfpatchError as exc:
                unread = str(exc)
            if unread:
                # No step decides on a node list it did not read; a few misses in a row pause.
                self._read_failures += 1
                if self._read_failures >= READ_FAILURES_BEFORE_PAUSE and self.paused is None:
                    self._pause(
                        self.current, Pause("error", f"the cluster could not be read: {unread}")
                    )
                return self.report()
            self._read_failures = 0
            for title, text, severity in observation.alerts:
                if severity == "error" and "lease" in title.lower():
                    self._pause(self.current, Pause("lease", f"{title}: {text}", ("abort",)))
            if self.paused is not None or self.finished:
                return self.report()
            if not self._advance(observation):
                return self.report()

    def run(
        self, poll_seconds: float, on_report: Callable[[RunReport], None] = lambda r: None
    ) -> RunReport:
        """Tick until the run is finished or paused, waiting `poll_seconds` of cluster time
        between reads (the headless loop)."""
        while True:
            report = self.tick()
            on_report(report)
            if report.finished or report.paused is not None:
                return report
            self.clock.sleep(poll_seconds)

    def _advance(self, observation: Observation) -> bool:
        """Step the current node on `observation`; True when a node ended and the run goes
        on to the next one, which must start on a read taken after that."""
        while self.paused is None and not self.finished:
            name = self.current
            assert name is not None
            progress = self._progress[name]
            if self._state[name] == "pending":
                if self.stop_reason:
                    self.stopped = self.stop_reason
                    return False
                self._state[name] = "running"
                self._started_at[name] = self.clock.now()
                progress.step_started = self.clock.now()
            if not self._collect(name):
                return False
            index = self._step[name]
            if index >= len(PROCEDURE):
                self._node_done(name)
                if self.stop_reason and not self.finished:
                    self.stopped = self.stop_reason
                return not self.finished
            step = PROCEDURE[index]
            if self.stop_reason and not step.is_wait:
                self.stopped = self.stop_reason
                return False
            now = self.clock.now()
            ctx = Context(
                observation.snapshot,
                observation.findings,
                now,
                self.settings.settle_seconds,
                self.per_node_seconds,
                self.settings.window,
                self._inflight is not None or bool(self._queue),
            )
            outcome = step.decide(progress, ctx)
            elapsed = (now - progress.step_started).total_seconds()
            if isinstance(outcome, Waiting):
                self._waiting[name] = outcome.what
                limit = self.settings.timeouts.for_step(step.name, self.settings.settle_seconds)
                if elapsed > limit:
                    self._pause(
                        name,
                        Pause(
                            "timeout",
                            f"{name}: {step.name} timed out after {elapsed:.0f} s waiting for "
                            f"{outcome.what}",
                            ("retry", "skip", "abort"),
                        ),
                    )
                return False
            if isinstance(outcome, Pause):
                self._pause(name, outcome)
                return False
            if isinstance(outcome, Send):
                if not outcome.actions:
                    progress.sent[step.name] = 0
                    self._next_step(name, step.name, elapsed, "nothing to send")
                    continue
                if self.mode == "step" and not self._confirmed:
                    what = "; ".join(a.describe() for a in outcome.actions)
                    self._pause(
                        name,
                        Pause(
                            "confirm", f"step mode: confirm to {what}", ("confirm", "skip", "abort")
                        ),
                    )
                    return False
                self._confirmed = False
                progress.sent[step.name] = len(outcome.actions)
                self._queue = [(a, outcome.gates) for a in outcome.actions]
                self._send_next(name)
                return False
            assert isinstance(outcome, Proceed)
            self._next_step(name, step.name, elapsed, outcome.note)
            if self.stop_reason and step.is_wait:
                self.stopped = self.stop_reason
                return False
        return False

    def _next_step(self, name: str, step: str, elapsed: float, note: str) -> None:
        progress = self._progress[name]
        if note:  # a step that sent something said so when it sent
            self._emit(name, step, elapsed, note)
        self._step[name] += 1
        self._waiting[name] = ""
        progress.step_started = self.clock.now()

    def _node_done(self, name: str) -> None:
        started = self._started_at.get(name, self.clock.now())
        seconds = (self.clock.now() - started).total_seconds()
        self._state[name] = "done"
        self._done_seconds.append(seconds)
        self._emit(name, DONE, seconds, f"patched to {self._progress[name].planned.target}")
        self.transcript.note(f"runbook: {name} done in {seconds:.0f} s", node=name)
        self._want_full()  # the next node starts on the whole cluster as it is now

    def _send_next(self, name: str) -> None:
        """Send the next queued action; a failure pauses with the reason."""
        action, gates = self._queue.pop(0)
        progress = self._progress[name]
        overridden = any(not g.passed and g.name in progress.overrides for g in gates)
        try:
            started = self.operator.start(
                action, gates, typed=overridden, confirmed_by=self.settings.confirmed_by
            )
        except ClusterError as exc:
            self._queue = []
            self._pause(name, Pause("error", f"{action.describe()} failed: {exc}"))
            return
        self._emit(name, action.action, 0.0, f"sent: {action.describe()}")
        self._inflight = started if started.operation is not None else None
        if self._inflight is None and self._queue:
            self._send_next(name)

    def _collect(self, name: str) -> bool:
        """Finish what is in flight once its operation is done; False while it is not."""
        if self._inflight is not None:
            operation = self._inflight.operation
            assert operation is not None
            try:
                if not operation.done():
                    return True  # the step itself says what it waits for
                self.operator.finish(self._inflight, timeout=60)
            except ClusterError as exc:
                what = self._inflight.action.describe()
                self._inflight, self._queue = None, []
                self._pause(name, Pause("error", f"{what} failed: {exc}"))
                return False
            self._inflight = None
            if self._queue:
                self._send_next(name)
        return True

    def _pause(self, name: str | None, pause: Pause) -> None:
        self.paused = pause
        if name is not None:
            progress = self._progress.get(name)
            step = (
                STEPS[self._step[name]] if self._step.get(name, len(STEPS)) < len(STEPS) else DONE
            )
            seconds = (
                (self.clock.now() - progress.step_started).total_seconds() if progress else 0.0
            )
            self._emit(name, step, seconds, f"PAUSED ({pause.kind}): {pause.reason}")
        self.transcript.note(
            f"runbook paused ({pause.kind}): {pause.reason}; next: {', '.join(pause.actions)}",
            node=name,
        )

    def _emit(self, node: str, step: str, seconds: float, text: str) -> None:
        self.on_event(StepEvent(self.clock.now(), node, step, seconds, text))

    # ------------------------------------------------------------------ control

    def set_mode(self, mode: Mode) -> None:
        """Auto-advance (go on while gates pass) or step mode (confirm each action)."""
        self.mode = mode
        self.transcript.note(f"runbook: mode {mode}")

    def pause(self) -> None:
        """The engineer pauses the run; nothing is sent until they resume."""
        if self.paused is None:
            self._pause(
                self.current, Pause("engineer", "paused by the engineer", ("resume", "abort"))
            )

    def resume(self) -> None:
        """Go on from a pause: re-check what paused it (a confirm lets the next step go)."""
        pause, self.paused = self.paused, None
        if pause is None:
            return
        if pause.kind == "confirm":
            self._confirmed = True
        self.transcript.note(f"runbook: resumed after {pause.kind}", node=self.current)

    def retry(self) -> None:
        """Try the current step again: its wait restarts, a failed send is sent again."""
        pause, self.paused = self.paused, None
        name = self.current
        if name is None:
            return
        progress = self._progress[name]
        step = STEPS[self._step[name]] if self._step[name] < len(STEPS) else DONE
        if pause is not None and pause.kind == "error":
            progress.sent.pop(step, None)
            if step == "wait-rebooted":  # the patch did not take: send it again, knowingly
                self._step[name] = STEPS.index("patch")
                progress.sent.pop("patch", None)
        if step == "wait-rebooted" and pause is not None and pause.kind == "timeout":
            pass  # keep waiting for the node to come back
        progress.step_started = self.clock.now()
        self.transcript.note(f"runbook: retry {step}", node=name)

    def override(self, gate: str, node: str | None = None, typed: bool = True) -> None:
        """Let a failed gate pass for the current node, recorded as a typed override."""
        name = node or self.current
        if name is None or name not in self._progress:
            raise SfpatchError(f"no planned node {name!r} to override {gate} for")
        self._progress[name].overrides.add(gate)
        self.transcript.confirm(
            f"override gate {gate} for {name}",
            node=name,
            typed_node_name=typed,
            overriding_gates=[gate],
            confirmed_by=self.settings.confirmed_by,
        )
        if self.paused is not None and name == self.current:
            self.paused = None

    def out_of_service(self, name: str | None = None) -> bool:
        """Whether the current node is out of service because of this run."""
        name = name or self.current
        if name is None or self.last is None or self._state.get(name) != "running":
            return False
        node = self.last.snapshot.node(name)
        return node is not None and node.status != "Up"

    def skip(self) -> str:
        """Skip the current node; refused ('' when done) while it is out of service."""
        name = self.current
        if name is None:
            return "nothing to skip"
        if self.out_of_service(name) or self._inflight is not None:
            return f"{name} is out of service: enable it first (abort offers to)"
        self._state[name] = "skipped"
        self.paused = None
        self._want_full()
        self.transcript.note("runbook: skipped by the engineer", node=name)
        self._emit(name, "skip", 0.0, "skipped by the engineer")
        return ""

    def abort(self, enable: bool | None = None) -> str:
        """End the run. With the node out of service, asks (returns the question) until told
        whether to enable it; the choice is recorded either way."""
        name = self.current
        if name is not None and self.out_of_service(name):
            if enable is None:
                return f"{name} is out of service: enable it before aborting?"
            self.transcript.note(
                f"runbook: abort; the engineer chose {'to enable' if enable else 'NOT to enable'} "
                f"{name}",
                node=name,
            )
            if enable:
                assert self.last is not None
                gates = enable_gates(self.last.snapshot, name)
                self.operator.start(
                    Enable(name), gates, typed=True, confirmed_by=self.settings.confirmed_by
                )
                self._want_full()
        else:
            self.transcript.note("runbook: aborted by the engineer", node=name)
        if name is not None:
            self._state[name] = "aborted"
        self.aborted = True
        self.paused = None
        return ""

    def request_stop(self, reason: str) -> None:
        """Stop after the current wait (SIGTERM, SIGHUP): nothing further is sent."""
        self.stop_reason = reason

    # ------------------------------------------------------------------ reporting

    @property
    def per_node_seconds(self) -> float:
        return estimate_per_node(self._done_seconds, self.settings.seed_estimate_seconds)

    def report(self) -> RunReport:
        """The run as it stands, for the console's runbook pane or the headless printer."""
        now = self.clock.now()
        nodes = tuple(self._node_report(planned, now) for planned in self.plan)
        if nodes == self._reported_nodes:  # the same objects: compared by identity first
            nodes = self._reported_nodes
        self._reported_nodes = nodes
        current = self.current
        elapsed = (
            (now - self._started_at[current]).total_seconds()
            if current in self._started_at
            else 0.0
        )
        remaining = sum(n.state in ("pending", "running") for n in nodes)
        window = self.settings.window
        return RunReport(
            now=now,
            mode=self.mode,
            nodes=tuple(nodes),
            current=current,
            paused=self.paused,
            finished=self.finished,
            stopped=self.stopped,
            per_node_seconds=self.per_node_seconds,
            window_end=window.end if window else None,
            eta=eta(now, remaining, self.per_node_seconds, elapsed) if self.plan else None,
            gates=self._current_gates(current, now),
            out_of_service=self.out_of_service(current),
        )

    def _node_report(self, planned: PlannedNode, now: datetime) -> NodeReport:
        """A node's line of the report; the last one again for a node not running whose state
        and step are as they were (a report is made at every poll, of up to 1,000 nodes)."""
        name = planned.name
        index = self._step.get(name, len(STEPS))
        state = self._state[name]
        key = (planned, state, index)
        last = self._reported.get(name)
        if state != "running" and last is not None and last[0] == key:
            return last[1]
        running = state == "running"
        report = NodeReport(
            name,
            planned.node_type,
            planned.upgrade_domain,
            planned.strategy,
            planned.host,
            planned.target,
            state,
            STEPS[index] if index < len(STEPS) else DONE,
            self._waiting.get(name, "") if running else "",
            (now - self._progress[name].step_started).total_seconds() if running else 0.0,
            planned.why,
        )
        self._reported[name] = (key, report)
        return report

    def _current_gates(self, name: str | None, now: datetime) -> tuple[Gate, ...]:
        if name is None or self.last is None or self._step[name] >= len(STEPS):
            return ()
        ctx = Context(
            self.last.snapshot,
            self.last.findings,
            now,
            self.settings.settle_seconds,
            self.per_node_seconds,
            self.settings.window,
            self._inflight is not None,
        )
        return step_gates(STEPS[self._step[name]], self._progress[name], ctx)


def _nodes_unread(snapshot: ClusterSnapshot) -> str:
    """Why the snapshot's node list is not this read's ('' when it is)."""
    errors = [
        e.message for e in snapshot.errors if e.source == "fabric" and e.subject == NODES_READ
    ]
    return errors[0] if errors else ""


def _plan_line(p: PlannedNode) -> str:
    if not p.todo:
        return f"{p.name} (UD {p.upgrade_domain}): {p.why}"
    return f"{p.name} (UD {p.upgrade_domain}, {p.strategy}, {p.host} -> {p.target}, from {p.entry})"
