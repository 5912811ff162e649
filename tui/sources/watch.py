"""The observer's own live view: the cluster read with read-only clients, and who holds the
lease. No engine, no gateway, no transcript: nothing that could act or record."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from tui.model import ClusterSnapshot, Finding
from tui.sources import OBSERVE, HeaderInfo, ViewState
from tui.winver import WindowsVersion


class WatchSource:
    """States of a cluster no session of ours is on, one per poll."""

    mode = OBSERVE

    def __init__(
        self,
        cluster: str,
        endpoint: str,
        fetch: Callable[[ClusterSnapshot | None], ClusterSnapshot],
        evaluate: Callable[[ClusterSnapshot], tuple[Finding, ...]],
        read_holder: Callable[[], str],
        poll_seconds: float = 2.0,
        patch_targets: Mapping[str, WindowsVersion] | None = None,
        on_close: Callable[[], None] = lambda: None,
    ) -> None:
        self.cluster, self.endpoint = cluster, endpoint
        self._fetch, self._evaluate, self._read_holder = fetch, evaluate, read_holder
        self.poll_seconds = poll_seconds
        self.patch_targets = patch_targets or {}
        self._on_close = on_close
        self._snapshot: ClusterSnapshot | None = None

    def header(self, holder: str = "") -> HeaderInfo:
        return HeaderInfo(
            mode=OBSERVE,
            cluster=self.cluster,
            endpoint=self.endpoint,
            holder=holder,
            transcript="none: a read-only view of the cluster",
        )

    def initial(self) -> ViewState:
        return ViewState(self.header())

    def read(self) -> ViewState:
        """Read the cluster and who holds its lease."""
        snapshot = self._fetch(self._snapshot)
        self._snapshot = snapshot
        return ViewState(self.header(self._read_holder()), snapshot, self._evaluate(snapshot))

    def close(self, reason: str) -> None:
        """Close the read-only clients."""
        self._on_close()
