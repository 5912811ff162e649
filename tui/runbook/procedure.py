"""The steps of one node's procedure, one typed object each, and what each decides.

A step looks at the node's progress and the latest snapshot and says: go on, keep waiting
(and for what), send these actions, or pause (and why). Only the engine sends and records;
the steps decide, so each can be tested with a table of snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Literal

from tui.model import ClusterSnapshot, Finding, Node
from tui.runbook.actions import Action, Disable, Enable
from tui.runbook.gates import FAILED, PASSED, Gate, disable_gates, enable_gates, patch_gates
from tui.runbook.plan import PlannedNode, host_version
from tui.runbook.strategies import STRATEGIES
from tui.runbook.window import Window, fits

PREDICT_GATE = "containers-survive-patch"
WINDOW_GATE = "change-window"
ONE_NODE_GATE = "one-node-out"

PauseKind = Literal["gate", "timeout", "error", "window", "confirm", "lease", "engineer"]


@dataclass(frozen=True)
class Proceed:
    """The step is over; `note` says how, if there is something to say."""

    note: str = ""


@dataclass(frozen=True)
class Waiting:
    """Still waiting, for `what`."""

    what: str


@dataclass(frozen=True)
class Send:
    """Send these actions (gated by `gates`), then come back to the same step."""

    actions: tuple[Action, ...]
    gates: tuple[Gate, ...] = ()


@dataclass(frozen=True)
class Pause:
    """Stop here until the engineer decides; `actions` are what they can do next."""

    kind: PauseKind
    reason: str
    actions: tuple[str, ...] = ("retry", "skip", "abort")


Outcome = Proceed | Waiting | Send | Pause


@dataclass
class Progress:
    """What the engine knows of one node's procedure so far (mutable, engine-owned)."""

    planned: PlannedNode
    step_started: datetime
    overrides: set[str] = field(default_factory=set)  # gates the engineer overrode for it
    sent: dict[str, int] = field(default_factory=dict)  # step -> actions sent there
    instance_before: str | None = None  # its InstanceId when the patch was sent
    saw_down: bool = False
    healthy_since: datetime | None = None


@dataclass(frozen=True)
class Context:
    """What a step decides on."""

    snapshot: ClusterSnapshot
    findings: tuple[Finding, ...]
    now: datetime
    settle_seconds: float
    per_node_seconds: float
    window: Window | None
    operations_running: bool  # an action this step sent is still running in the cluster

    def node(self, name: str) -> Node | None:
        return self.snapshot.node(name)


def open_gates(gates: tuple[Gate, ...], progress: Progress) -> tuple[Gate, ...]:
    """The failed gates the engineer has not overridden for this node."""
    return tuple(g for g in gates if not g.passed and g.name not in progress.overrides)


def gate_pause(failed: tuple[Gate, ...], progress: Progress, before: str) -> Pause:
    name = progress.planned.name
    if any(g.name == PREDICT_GATE for g in failed):
        target = progress.planned.target
        gate = next(g for g in failed if g.name == PREDICT_GATE)
        return Pause(
            "gate",
            f"{name}: {gate.why}. Remedies: rebuild those images on {target}, run them with "
            f"Hyper-V isolation, or override by typing {name} "
            f"(headless: --override {PREDICT_GATE}:{name})",
            ("override", "skip", "abort", "retry"),
        )
    text = "; ".join(f"{g.name}: {g.why}" for g in failed)
    return Pause(
        "gate", f"{name}: {before} gate failed: {text}", ("override", "retry", "skip", "abort")
    )


class Step:
    """One step of a node's procedure."""

    name: ClassVar[str]
    is_wait: ClassVar[bool] = False

    def decide(self, progress: Progress, ctx: Context) -> Outcome:
        raise NotImplementedError


class CheckGates(Step):
    name = "gates"

    def decide(self, progress: Progress, ctx: Context) -> Outcome:
        name = progress.planned.name
        if ctx.window is not None and ctx.window.start is not None and ctx.now < ctx.window.start:
            return Pause(
                "window",
                f"the change window opens at {ctx.window.start:%Y-%m-%d %H:%M:%S}Z",
                ("retry", "abort"),
            )
        gates = (*run_gates(ctx, name), *disable_gates(ctx.snapshot, name, progress.planned.target))
        failed = open_gates(gates, progress)
        if failed:
            if failed[0].name == WINDOW_GATE:
                return Pause(
                    "window",
                    f"{name}: {failed[0].why} (override it to start anyway)",
                    ("override", "skip", "abort"),
                )
            return gate_pause(failed, progress, "a disable")
        return Proceed("gates passed" + _overridden(gates, progress))


def run_gates(ctx: Context, name: str) -> tuple[Gate, ...]:
    """The run's own gates before a node is taken out: the window, and one node out at a time."""
    out = [n for n in ctx.snapshot.nodes if n.name != name and n.status != "Up"]
    gates = [
        Gate(
            ONE_NODE_GATE,
            FAILED if out else PASSED,
            "other nodes not Up: " + ", ".join(f"{n.name} ({n.status})" for n in out[:5])
            if out
            else "every other node is Up",
        )
    ]
    if ctx.window is not None:
        ok = fits(ctx.now, ctx.per_node_seconds, ctx.window)
        gates.append(
            Gate(
                WINDOW_GATE,
                PASSED if ok else FAILED,
                f"a node takes about {ctx.per_node_seconds / 60:.0f} min and the window ends at "
                f"{ctx.window.end:%H:%M:%S}Z" + ("" if ok else ": it cannot finish in the window"),
            )
        )
    return tuple(gates)


def _overridden(gates: tuple[Gate, ...], progress: Progress) -> str:
    names = [g.name for g in gates if not g.passed and g.name in progress.overrides]
    return f" (overridden: {', '.join(names)})" if names else ""


class SendDisable(Step):
    name = "disable"

    def decide(self, progress: Progress, ctx: Context) -> Outcome:
        name = progress.planned.name
        if progress.sent.get(self.name):
            return Proceed()
        gates = (*run_gates(ctx, name), *disable_gates(ctx.snapshot, name, progress.planned.target))
        failed = open_gates(gates, progress)
        if failed:
            return gate_pause(failed, progress, "a disable")
        return Send((Disable(name),), gates)


class WaitDisabled(Step):
    name = "wait-disabled"
    is_wait = True

    def decide(self, progress: Progress, ctx: Context) -> Outcome:
        node = ctx.node(progress.planned.name)
        if node is None:
            return Pause("error", f"{progress.planned.name} is no longer in the cluster")
        if node.status in ("Disabled", "Down"):
            return Proceed(f"{node.name} is {node.status}")
        checks = node.deactivation.pending_safety_checks
        pending = f"; pending safety checks: {', '.join(checks)}" if checks else ""
        return Waiting(f"Disabled (now {node.status}{pending})")


class SendPatch(Step):
    name = "patch"

    def decide(self, progress: Progress, ctx: Context) -> Outcome:
        planned = progress.planned
        strategy = STRATEGIES[planned.strategy]
        host = host_version(ctx.snapshot, planned.name)
        if progress.sent.get(self.name):
            if ctx.operations_running:
                return Waiting(
                    f"the {strategy.name} operation to end; "
                    f"then {strategy.awaiting(planned.target)}"
                )
            return Proceed()
        if host is not None and planned.target is not None and host >= planned.target:
            return Proceed(f"already on {host}: nothing to patch")
        node = ctx.node(planned.name)
        if node is None or node.status != "Disabled":
            return Pause(
                "error",
                f"{planned.name} is {node.status if node else 'gone'}, not Disabled: "
                "not patching it",
            )
        instance = next((i for i in ctx.snapshot.instances if i.node_name == planned.name), None)
        if strategy.needs_vm and instance is None:
            return Pause(
                "error",
                f"{planned.name}'s VM is not known (no [arm] section, or ARM was not read): "
                f"{strategy.name} cannot patch it",
            )
        gates = patch_gates(ctx.snapshot, planned.name, planned.target)
        failed = open_gates(gates, progress)
        if failed:
            return gate_pause(failed, progress, "the patch")
        progress.instance_before = node.instance_id
        return Send(strategy.actions(instance, planned.target), gates)


class WaitRebooted(Step):
    name = "wait-rebooted"
    is_wait = True

    def decide(self, progress: Progress, ctx: Context) -> Outcome:
        planned = progress.planned
        node = ctx.node(planned.name)
        if node is None:
            return Waiting("the node to be listed again")
        if node.status == "Down":
            progress.saw_down = True
            return Waiting("back Up from its reboot (Down now)")
        before = progress.instance_before
        if before is not None and node.instance_id != before:
            return Proceed(f"back with InstanceId {node.instance_id}")
        host = host_version(ctx.snapshot, planned.name)
        on_target = host is not None and planned.target is not None and host >= planned.target
        if on_target and (before is None or planned.strategy == "manual"):
            return Proceed(f"reports {host}")
        if planned.strategy == "manual":
            return Waiting(f"{planned.name} to be patched by hand to {planned.target} (now {host})")
        return Waiting("Down and back Up with a new InstanceId")


class CheckHost(Step):
    name = "check-host"
    is_wait = True

    def decide(self, progress: Progress, ctx: Context) -> Outcome:
        planned = progress.planned
        host = host_version(ctx.snapshot, planned.name)
        if host is not None and planned.target is not None and host >= planned.target:
            return Proceed(f"host is {host}")
        return Waiting(f"host revision {planned.target} (it reports {host or 'nothing yet'})")


class CheckContainers(Step):
    name = "check-containers"
    is_wait = True

    def decide(self, progress: Progress, ctx: Context) -> Outcome:
        name = progress.planned.name
        engine = ctx.snapshot.engines.get(name)
        if engine is None:
            return Waiting(f"{name}'s Docker engine to answer")
        failed = [c for c in engine.containers if c.state != "running" and c.error]
        if failed:
            return Pause(
                "gate",
                f"{name}: {len(failed)} containers failed to start on the patched host: "
                + ", ".join(c.name for c in failed[:5])
                + f" ({failed[0].error[-120:]})",
                ("override", "retry", "abort"),
            )
        stopped = [c for c in engine.containers if c.state != "running"]
        if stopped:
            return Waiting("containers running: " + ", ".join(c.name for c in stopped[:5]))
        return Proceed(f"all {len(engine.containers)} containers running")


class SendEnable(Step):
    name = "enable"

    def decide(self, progress: Progress, ctx: Context) -> Outcome:
        name = progress.planned.name
        if progress.sent.get(self.name):
            return Proceed()
        node = ctx.node(name)
        if node is not None and node.status in ("Up", "Enabling"):
            return Proceed(f"{name} is already {node.status}")
        gates = enable_gates(ctx.snapshot, name)
        failed = open_gates(gates, progress)
        if failed:
            return gate_pause(failed, progress, "the enable")
        return Send((Enable(name),), gates)


class Settle(Step):
    name = "settle"
    is_wait = True

    def decide(self, progress: Progress, ctx: Context) -> Outcome:
        name = progress.planned.name
        node = ctx.node(name)
        why = unhealthy(ctx.snapshot, node)
        if why:
            progress.healthy_since = None
            return Waiting(f"Up and healthy ({why})")
        since = progress.healthy_since = progress.healthy_since or ctx.now
        held = (ctx.now - since).total_seconds()
        if held >= ctx.settle_seconds:
            return Proceed(f"Up and healthy for {held:.0f} s")
        return Waiting(f"Up and healthy for {ctx.settle_seconds:.0f} s ({held:.0f} s so far)")


def unhealthy(snapshot: ClusterSnapshot, node: Node | None) -> str:
    """Why a node does not count as back in service yet ('' when it does)."""
    if node is None:
        return "not listed"
    if node.status != "Up":
        return f"it is {node.status}"
    if node.health_state == "Error":
        return "its health is Error"
    if snapshot.health.aggregated == "Error":
        causes = [e.description for e in snapshot.health.evaluations if e.health_state == "Error"]
        return "cluster health is Error" + (f": {causes[0][:160]}" if causes else "")
    return ""


def step_gates(step: str, progress: Progress, ctx: Context) -> tuple[Gate, ...]:
    """The gates the step `step` of this node is judged by now (none for a wait), to show."""
    planned = progress.planned
    if ctx.node(planned.name) is None:
        return ()
    if step in ("gates", "disable"):
        return (
            *run_gates(ctx, planned.name),
            *disable_gates(ctx.snapshot, planned.name, planned.target),
        )
    if step == "patch":
        return patch_gates(ctx.snapshot, planned.name, planned.target)
    if step == "enable":
        return enable_gates(ctx.snapshot, planned.name)
    return ()


PROCEDURE: tuple[Step, ...] = (
    CheckGates(),
    SendDisable(),
    WaitDisabled(),
    SendPatch(),
    WaitRebooted(),
    CheckHost(),
    CheckContainers(),
    SendEnable(),
    Settle(),
)
