"""What the app is given to run a session: where, how to read, how to act, where it is recorded.

Built by the CLI (demo, run, observe); the app only calls these, so it needs no knowledge of
SDKs, simulators or files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tui.model import ClusterSnapshot, Finding
from tui.runbook.operator import Operator

OPERATE = "operate"
READ_ONLY = "read-only"


@dataclass
class Session:
    """One console session against one cluster."""

    cluster_name: str
    endpoint: str
    mode: str
    fetch_snapshot: Callable[[ClusterSnapshot | None], ClusterSnapshot]
    evaluate: Callable[[ClusterSnapshot], tuple[Finding, ...]] = lambda snapshot: ()
    operator: Operator | None = None
    transcript_path: Path | None = None
    poll_seconds: float = 2.0
    on_close: list[Callable[[], None]] = field(default_factory=list)
    _last_recorded: tuple = field(default=(), repr=False)

    @property
    def read_only(self) -> bool:
        return self.operator is None or self.mode == READ_ONLY

    def record_snapshot(self, snapshot: ClusterSnapshot, findings: tuple[Finding, ...]) -> None:
        """Write what the engineer was shown to the transcript when it changed (operate mode)."""
        if self.operator is None:
            return
        signature = (
            snapshot.health.aggregated,
            tuple((n.name, n.status, n.health_state, n.instance_id) for n in snapshot.nodes),
            tuple((f.rule_id, f.subject) for f in findings),
        )
        if signature == self._last_recorded:
            return
        self._last_recorded = signature
        from tui.transcript.snapshot import encode_snapshot

        self.operator.transcript.snapshot(encode_snapshot(snapshot, findings))

    def close(self) -> None:
        for fn in reversed(self.on_close):
            fn()
        self.on_close.clear()
