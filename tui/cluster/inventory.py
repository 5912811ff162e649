"""One ClusterSnapshot from the three sources, gathered concurrently, with partial results.

The gateway gives the nodes; ARM gives each node type's scale set and instances; each node's
Docker engine (found from the node's address through the profile's endpoint template) gives
the host revision, containers and images. A source or node that fails is left out and noted
in `ClusterSnapshot.errors`; the rest of the snapshot is still returned.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
from msrest.exceptions import ClientRequestError, HttpOperationError

from tui.cluster import fabric
from tui.config import ClusterProfile, InventorySettings
from tui.errors import ClusterError
from tui.model import ClusterSnapshot, Health, Node, SourceError
from tui.winver import WindowsVersion

# progress(done, total, what): called from worker threads as each call finishes.
Progress = Callable[[int, int, str], None]
T = TypeVar("T")


@dataclass
class Inventory:
    """The clients for one cluster, built once by `connect` and reused by every refresh."""

    profile: ClusterProfile
    fabric: Any  # azure.servicefabric.ServiceFabricClientAPIs
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def settings(self) -> InventorySettings:
        return self.profile.inventory


def connect(profile: ClusterProfile, now: Callable[[], datetime] | None = None) -> Inventory:
    """Build the SDK clients a profile describes; no network call is made except for AAD."""
    client = fabric.build_client(fabric_connection(profile))
    client.config.connection.timeout = profile.inventory.timeout
    inventory = Inventory(profile, client)
    if now is not None:
        inventory.now = now
    return inventory


def fabric_connection(profile: ClusterProfile) -> fabric.FabricConnection:
    """The gateway part of a profile as the fabric module's connection settings."""
    g = profile.gateway
    return fabric.FabricConnection(
        endpoint=g.endpoint,
        client_pem=g.client_pem,
        client_cert=g.client_cert,
        client_key=g.client_key,
        ca=g.ca,
        server_thumbprints=g.server_thumbprints,
    )


def gather(inventory: Inventory, progress: Progress | None = None) -> ClusterSnapshot:
    """A full snapshot: gateway, scale sets and engines, concurrently, failures kept as errors."""
    tracker = _Tracker(progress)
    errors: list[SourceError] = []
    with ThreadPoolExecutor(inventory.settings.concurrency, "sfpatch-inventory") as pool:
        fabric_part = pool.submit(_fabric_part, inventory, tracker, full=True)
        nodes, health, ud_states, version, fabric_errors = fabric_part.result()
    errors += fabric_errors
    return ClusterSnapshot(
        taken_at=inventory.now(),
        cluster_name=inventory.profile.name,
        endpoint=inventory.profile.gateway.endpoint,
        code_version=version,
        nodes=nodes,
        health=health,
        upgrade_domain_states=ud_states,
        errors=tuple(errors),
    )


def refresh_health(inventory: Inventory, last: ClusterSnapshot) -> ClusterSnapshot:
    """Nodes and cluster health only; scale sets and engines are carried over from `last`."""
    nodes, health, _, _, fabric_errors = _fabric_part(inventory, _Tracker(None), full=False)
    kept = tuple(e for e in last.errors if e.source != "fabric")
    return replace(
        last,
        taken_at=inventory.now(),
        nodes=nodes if nodes or not fabric_errors else last.nodes,
        health=health,
        errors=kept + tuple(fabric_errors),
    )


def node_patch_targets(
    nodes: tuple[Node, ...], by_node_type: Mapping[str, WindowsVersion]
) -> dict[str, WindowsVersion]:
    """Per-node-type patch targets spread to node names, as tui.rules.evaluate takes them."""
    return {n.name: by_node_type[n.node_type] for n in nodes if n.node_type in by_node_type}


# ------------------------------------------------------------------ the gateway


def _fabric_part(
    inventory: Inventory, tracker: _Tracker, full: bool
) -> tuple[tuple[Node, ...], Health, dict[str, str], str, list[SourceError]]:
    """The gateway reads, one after another: the gateway is one endpoint, and a fixed order
    keeps a flaky simulated gateway's failures repeatable."""
    client = inventory.fabric
    errors: list[SourceError] = []
    retries = inventory.settings.retries

    def read(what: str, fn: Callable[..., T], default: T) -> T:
        tracker.expect(1)
        try:
            return _with_retries(retries, fn, client)
        except ClusterError as exc:
            errors.append(SourceError("fabric", "", str(exc)))
            return default
        finally:
            tracker.done(what)

    nodes = read("nodes", fabric.list_nodes, ())
    health = read("cluster health", fabric.cluster_health, Health())
    ud_states: dict[str, str] = {}
    version = ""
    if full:
        ud_states = read("upgrade domains", fabric.upgrade_domain_states, {})
        version = read("cluster version", fabric.cluster_version, "")
    return nodes, health, ud_states, version, errors


def _with_retries(retries: int, fn: Callable[..., T], *args: Any) -> T:
    """Run a read; a transient failure (5xx, connection) is tried again up to `retries` times."""
    for attempt in range(retries + 1):
        try:
            return fn(*args)
        except ClusterError as exc:
            if attempt == retries or not _transient(exc.__cause__):
                raise
    raise AssertionError("unreachable")


def _transient(cause: BaseException | None) -> bool:
    if isinstance(cause, HttpOperationError):
        status = getattr(cause.response, "status_code", 0) or 0
        return status >= 500 or status in (408, 429)
    return isinstance(cause, ClientRequestError | requests.RequestException)


class _Tracker:
    """Counts calls started and finished, for a progress line."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._lock = threading.Lock()
        self._total = 0
        self._done = 0

    def expect(self, count: int) -> None:
        with self._lock:
            self._total += count

    def done(self, what: str) -> None:
        with self._lock:
            self._done += 1
            done, total = self._done, self._total
        if self._progress is not None:
            self._progress(done, total, what)
