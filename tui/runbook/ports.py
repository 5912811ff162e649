"""What the runbook needs of the world, as Protocols: the cluster gateway, time, snapshots.

The composition root (tui/session.py) wires adapters from tui/cluster (or a simulator) to these;
the runbook never imports an adapter, so importing it pulls in no Azure or Docker SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from tui.model import ClusterSnapshot, Finding


class Operation(Protocol):
    """A started long-running cluster operation (an ARM poller behind it)."""

    what: str

    def done(self) -> bool: ...

    def result(self, timeout: float | None = None) -> Any: ...


class LeaseRecordView(Protocol):
    """Who holds a lease and until when."""

    @property
    def holder(self) -> str: ...

    @property
    def session_id(self) -> str: ...

    @property
    def expires_at(self) -> datetime: ...


class HeldLeaseView(Protocol):
    """A lease as last written; the runbook reads its name, record and whom it replaced."""

    @property
    def name(self) -> str: ...

    @property
    def record(self) -> LeaseRecordView: ...

    @property
    def previous(self) -> LeaseRecordView | None: ...


class Gateway(Protocol):
    """Every mutation the runbook may send. A read-only gateway refuses each before any I/O."""

    read_only: bool

    def disable_node(self, name: str, intent: str = ...) -> None: ...

    def enable_node(self, name: str) -> None: ...

    def run_powershell(
        self, scale_set: str, instance_id: str, script: str | Sequence[str]
    ) -> Operation: ...

    def set_image_version(self, scale_set: str, version: str) -> Operation: ...

    def upgrade_instances(self, scale_set: str, instance_ids: Sequence[str]) -> Operation: ...

    def renew_lease(
        self, held: Any, ttl_seconds: float = ..., now: datetime | None = None
    ) -> Any: ...

    def release_lease(self, held: Any) -> None: ...


class Clock(Protocol):
    """Cluster time: what waits, timeouts, the settle period and the window are measured in."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class FetchSnapshot(Protocol):
    """Reads the cluster: the previous snapshot in (for cheap partial refreshes), a new one out.

    With `focus` (the node the run is at), a partial read covers that node's VM and engine as
    well as the nodes and cluster health; a full read is the source's to decide (the first,
    or one asked for by `want_full`). `fill_in` (progress, on_gateway, on_engine) is handed to
    a full read, so a screen can draw it as it comes; other reads ignore it."""

    def __call__(
        self, previous: ClusterSnapshot | None, focus: str | None = None, **fill_in: Any
    ) -> ClusterSnapshot: ...


Evaluate = Callable[[ClusterSnapshot], tuple[Finding, ...]]
