"""The live source: a thin adapter over the session, which reads, records and keeps the lease.

It also drives the runbook: once the engineer starts the run, each poll is an engine tick
(read, then move the current node as far as it can go). Polls and the engineer's controls
take turns on the engine through one lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from tui.errors import UsageError
from tui.model import ClusterSnapshot
from tui.runbook.engine import Engine
from tui.runbook.plan import PlanOptions
from tui.sources import OPERATE, READ_ONLY, Alert, HeaderInfo, ViewState

T = TypeVar("T")


class LiveSource:
    """States of a live session (operate or read-only), one per poll."""

    fills_in = True  # read(partial=...) hands over states of the first read while it runs

    def __init__(self, session, plan_options: PlanOptions | None = None) -> None:
        self.session = session
        self.mode = READ_ONLY if session.read_only else OPERATE
        self.poll_seconds = session.poll_seconds
        self.plan_options = plan_options or PlanOptions()
        self.started = False
        self.plan_error = ""  # why the plan options do not fit this cluster
        self._lock = threading.Lock()
        self._planned = bool(session.engine.plan)
        self._planned_on: tuple = ()
        self.patch_targets = session.patch_targets
        self._snapshot: ClusterSnapshot | None = None

    def header(self, holder: str = "", now: datetime | None = None) -> HeaderInfo:
        """The header from what the session knows (no I/O)."""
        s = self.session
        window_end = s.window_end
        return HeaderInfo(
            mode=self.mode,
            cluster=s.cluster_name,
            endpoint=s.endpoint,
            holder=holder,
            ticket=s.ticket,
            transcript=str(s.transcript_path or "none (read-only)"),
            window_end=window_end,
            now=(now or datetime.now(UTC)) if window_end else None,
        )

    def initial(self) -> ViewState:
        return ViewState(self.header())

    def read(self, partial: Callable[[ViewState], None] | None = None) -> ViewState:
        """One poll: read the cluster, evaluate, record what changed, reconcile, keep the lease;
        with the run started, move it on. `partial` is handed states of the first read while
        it runs (see `FillIn`)."""
        s = self.session
        fill = FillIn(self.header(), partial) if partial and self._snapshot is None else None
        with self._lock:
            engine: Engine = s.engine
            before = engine.last
            if self.started and not engine.finished:
                engine.tick()  # a failed read counts towards a pause rather than raising
            else:
                engine.observe(**(fill.callbacks() if fill else {}))
            observation = engine.last
            if observation is None:
                raise RuntimeError("the cluster was not read")
            if not self._planned:
                self._planned = True
                try:
                    engine.plan_run(self.plan_options)
                except UsageError as exc:
                    self.plan_error = str(exc)
            if not self._planned_on:
                self._planned_on = _signature(observation.snapshot)
            report = engine.report() if engine.plan else None
            now = engine.clock.now()
        fresh = observation is not before
        alerts = (
            tuple(Alert(title, text, severity) for title, text, severity in observation.alerts)
            if fresh
            else ()
        )
        self._snapshot = observation.snapshot
        header = self.header(s.lease_holder(), now)
        return ViewState(
            header,
            observation.snapshot,
            observation.findings,
            alerts=alerts,
            runbook=report,
            run_started=self.started,
        )

    def start(self) -> None:
        """Start the run; planned again first when the nodes changed since the plan was made."""
        with self._lock:
            engine: Engine = self.session.engine
            if self.started:
                return
            if engine.last is not None and _signature(engine.last.snapshot) != self._planned_on:
                engine.plan_run(self.plan_options)
            engine.note("runbook: started by the engineer")
            self.started = True

    def drive(self, control: Callable[[Engine], T]) -> T:
        """Call one of the engine's controls (pause, skip, abort ...) between polls."""
        with self._lock:
            return control(self.session.engine)

    def close(self, reason: str) -> None:
        """The session is closed by whoever opened it."""


def _signature(snapshot: ClusterSnapshot) -> tuple:
    return tuple((n.name, n.status, n.instance_id) for n in snapshot.nodes)


FIRST_DRAW_WAIT = 2.0  # seconds the first read waits for the screen to draw the gateway's nodes


class FillIn:
    """States of a full read under way: the gateway's nodes first, then engines as they come,
    with the progress as the state's `waiting`. A state follows the last one once the screen
    has drawn that one and about 5% more engines are read (or all of them): a slow screen
    gets fewer, larger batches, never a queue of them.

    Findings are left empty: nothing is judged on a read that is not finished."""

    def __init__(
        self,
        header: HeaderInfo,
        partial: Callable[[ViewState], None],
        draw_wait: float = FIRST_DRAW_WAIT,
    ) -> None:
        self._header = header
        self._partial = partial
        self._draw_wait = draw_wait
        self._first_drawn = threading.Event()
        self._lock = threading.Lock()
        self._base: ClusterSnapshot | None = None
        self._engines: dict = {}
        self._sent = 0  # engines in the last state sent
        self._drawing = False  # the last state sent is not drawn yet
        self._done = 0
        self._total = 0

    def callbacks(self) -> dict:
        return {"progress": self.progress, "on_gateway": self.gateway, "on_engine": self.engine}

    def progress(self, done: int, total: int, what: str) -> None:
        with self._lock:
            self._done, self._total = done, total

    def gateway(self, snapshot: ClusterSnapshot) -> None:
        """Hand the gateway's part to the screen; return once it is drawn, or after
        `draw_wait` seconds if the screen does not say so (the read goes on then)."""
        with self._lock:
            self._base = snapshot
            state = self._next_state()
        self._partial(state)
        self._first_drawn.wait(self._draw_wait)

    def engine(self, engine) -> None:
        with self._lock:
            self._engines[engine.node_name] = engine
        self._send_due()

    def _drawn(self) -> None:
        """The screen drew the last state sent."""
        with self._lock:
            self._drawing = False
        self._first_drawn.set()
        self._send_due()

    def _send_due(self) -> None:
        with self._lock:
            if self._base is None or self._drawing:
                return
            count, nodes = len(self._engines), len(self._base.nodes)
            last = count == nodes and count > self._sent  # the last ones, however few
            if count - self._sent < max(1, nodes // 20) and not last:
                return
            state = self._next_state()
        self._partial(state)

    def _next_state(self) -> ViewState:
        """The state to send now; called under the lock."""
        assert self._base is not None
        self._drawing, self._sent = True, len(self._engines)
        nodes = len(self._base.nodes)
        waiting = (
            f"reading the cluster: {nodes} nodes from the gateway, engines "
            f"{len(self._engines)}/{nodes} (calls {self._done}/{self._total})"
        )
        snapshot = replace(self._base, engines=dict(self._engines))
        return ViewState(
            self._header, snapshot, (), waiting=waiting, partial=True, drawn=self._drawn
        )
