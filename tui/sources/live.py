"""The live source: a thin adapter over the session, which reads, records and keeps the lease."""

from __future__ import annotations

from datetime import UTC, datetime

from tui.model import ClusterSnapshot
from tui.sources import OPERATE, READ_ONLY, Alert, HeaderInfo, ViewState


class LiveSource:
    """States of a live session (operate or read-only), one per poll."""

    def __init__(self, session) -> None:
        self.session = session
        self.mode = READ_ONLY if session.read_only else OPERATE
        self.poll_seconds = session.poll_seconds
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

    def read(self) -> ViewState:
        """One poll: read the cluster, evaluate, record what changed, reconcile, keep the lease."""
        s = self.session
        observation = s.engine.observe()
        alerts = tuple(Alert(title, text, severity) for title, text, severity in observation.alerts)
        self._snapshot = observation.snapshot
        header = self.header(s.lease_holder())
        return ViewState(header, observation.snapshot, observation.findings, alerts=alerts)

    def close(self, reason: str) -> None:
        """The session is closed by whoever opened it."""
