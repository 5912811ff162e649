"""What the screens are fed: a state per refresh, from the live engine, a transcript being
written (observe) or a finished transcript (replay).

No Textual here: the widgets take a ViewState and never know which source made it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from tui.model import ClusterSnapshot, Finding
from tui.runbook.report import RunReport

OPERATE, READ_ONLY, OBSERVE, REPLAY = "OPERATE", "READ-ONLY", "OBSERVE", "REPLAY"
MODES = (OPERATE, READ_ONLY, OBSERVE, REPLAY)


@dataclass(frozen=True)
class HeaderInfo:
    """Who is looking at what: the header's mode badge and the session's particulars."""

    mode: str
    cluster: str
    endpoint: str = ""
    holder: str = ""  # who holds the cluster lease ("" unknown, "nobody" when free)
    ticket: str = ""
    transcript: str = ""
    window_end: datetime | None = None  # the change window's end, when the run has one
    now: datetime | None = None  # the clock the countdown is measured on
    verdict: str = ""  # replay and observe: what verification says of the file
    position: str = ""  # replay and observe: where in the file the screens are


@dataclass(frozen=True)
class Alert:
    """Something to tell the viewer at once (a toast)."""

    title: str
    text: str
    severity: str = "warning"


@dataclass(frozen=True)
class ViewState:
    """Everything the main screen draws, as of one moment."""

    header: HeaderInfo
    snapshot: ClusterSnapshot | None = None
    findings: tuple[Finding, ...] = ()
    waiting: str = "Waiting for the first poll ..."  # shown while there is no snapshot
    node: str | None = None  # the node to select (replay: the current record's)
    alerts: tuple[Alert, ...] = field(default=())
    runbook: RunReport | None = None  # the plan and the run, when there is one
    run_started: bool = False  # whether the run was started (else the plan is a preview)
    partial: bool = False  # a read under way (nodes first, engines filling in): not acted on
    engines_recorded: bool = True  # False: a transcript's snapshot (no hosts, VMs, containers)
    # A partial state's: the screen calls it once the state is drawn (the read may wait on it).
    drawn: Callable[[], None] | None = field(default=None, compare=False, repr=False)


class Source(Protocol):
    """A source of states. `read` may block (network, disk): the app calls it from a worker."""

    mode: str
    poll_seconds: float  # how often the app asks for a new state

    def initial(self) -> ViewState:
        """What to show before the first read (no I/O)."""
        ...

    def read(self) -> ViewState:
        """The state as of now."""
        ...

    def close(self, reason: str) -> None:
        """Let go of whatever the source holds."""
        ...
