"""What the engine reports: frozen values a screen or the headless printer renders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tui.runbook.gates import Gate
from tui.runbook.procedure import Pause
from tui.winver import WindowsVersion

NodeState = str  # pending, running, done, nothing, skipped, aborted


@dataclass(frozen=True)
class NodeReport:
    """One planned node: where it is in its procedure."""

    name: str
    node_type: str
    upgrade_domain: str
    strategy: str
    host: WindowsVersion | None
    target: WindowsVersion | None
    state: NodeState
    step: str
    waiting_for: str
    step_seconds: float
    why: str


@dataclass(frozen=True)
class StepEvent:
    """A step that ended (or paused): one line of a headless run."""

    at: datetime
    node: str
    step: str
    seconds: float
    text: str


@dataclass(frozen=True)
class RunReport:
    """The whole run at one moment."""

    now: datetime
    mode: str
    nodes: tuple[NodeReport, ...]
    current: str | None
    paused: Pause | None
    finished: bool
    stopped: str
    per_node_seconds: float
    window_end: datetime | None
    eta: datetime | None
    gates: tuple[Gate, ...] = ()  # what the current node's step is judged by now
    out_of_service: bool = False  # the current node is not Up because of this run

    @property
    def current_node(self) -> NodeReport | None:
        return next((n for n in self.nodes if n.name == self.current), None)

    @property
    def time_left(self) -> float | None:
        """Seconds until the window ends, or None without a window."""
        if self.window_end is None:
            return None
        return (self.window_end - self.now).total_seconds()

    @property
    def remaining(self) -> int:
        return sum(n.state in ("pending", "running") for n in self.nodes)
