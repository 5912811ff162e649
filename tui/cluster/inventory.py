"""One ClusterSnapshot from the three sources, gathered concurrently, with partial results.

The gateway gives the nodes; ARM gives each node type's scale set and instances; each node's
Docker engine (found from the node's address through the profile's endpoint template) gives
the host revision, containers and images. A source or node that fails is left out and noted
in `ClusterSnapshot.errors`; the rest of the snapshot is still returned.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from operator import is_not
from typing import Any, TypeVar

import requests
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError
from msrest.exceptions import ClientRequestError, HttpOperationError

from tui.cluster import compute, engines, fabric, sweep_loop
from tui.cluster.answers import AnswerCache
from tui.config import MAX_CONCURRENCY, ClusterProfile, InventorySettings
from tui.daemon_pool import DaemonPool
from tui.errors import ClusterError
from tui.model import (
    HEALTH_READ,
    HEALTH_SCOPE,
    NODE_SCOPE,
    NODES_READ,
    ClusterSnapshot,
    Engine,
    Health,
    Instance,
    Node,
    ScaleSet,
    SourceError,
)
from tui.winver import WindowsVersion

# progress(done, total, what): called from worker threads as each call finishes.
# Engine connections open at once in the sweep, per `concurrency` (and MAX_CONCURRENCY in
# all, which the simulator's descriptors are counted for): its one thread waits on none of them,
# so more in flight than the pool has threads costs nothing; 32 measured faster than 8 and 64.
SWEEP_IN_FLIGHT = 4
Progress = Callable[[int, int, str], None]
T = TypeVar("T")


@dataclass
class Inventory:
    """The clients for one cluster, built once by `connect` and reused by every refresh.

    The docker clients (one per engine) and each node's last engine read are kept across
    refreshes in `engine_cache`, the gateway's last answers in `answers` and ARM's instance
    pages in `arm_answers`; `close()` (or leaving a `with` block) closes those clients."""

    profile: ClusterProfile
    fabric: Any  # azure.servicefabric.ServiceFabricClientAPIs
    compute: Any | None = None  # azure.mgmt.compute.ComputeManagementClient
    images: engines.ImageCache = field(default_factory=engines.ImageCache)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    engine_cache: engines.EngineCache = field(default_factory=engines.EngineCache)
    answers: AnswerCache = field(default_factory=AnswerCache)  # the gateway's
    arm_answers: AnswerCache = field(default_factory=AnswerCache)
    # The last gather's engine map and instances, handed out again when nothing in them changed.
    _gathered: tuple[dict[str, Engine], tuple[Instance, ...]] = field(
        default_factory=lambda: ({}, ()), repr=False
    )
    _pools: set[DaemonPool] = field(default_factory=set, repr=False)
    _ending: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def settings(self) -> InventorySettings:
        return self.profile.inventory

    def wind_down(self, seconds: float) -> None:
        """For a session that is ending: the reads a running gather has not started are
        dropped, and from now on a gateway call waits at most `seconds` for an answer."""
        self._ending.set()
        for pool in list(self._pools):
            pool.shutdown(wait=False, cancel_futures=True)
        connection = self.fabric.config.connection
        connection.timeout = min(connection.timeout or seconds, seconds)

    @contextlib.contextmanager
    def _pool(self) -> Iterator[DaemonPool]:
        """The threads of one gather; daemon threads, so that a gather abandoned by an ending
        console does not keep the process alive."""
        with DaemonPool(self.settings.concurrency, "sfpatch-inventory") as pool:
            self._pools.add(pool)
            try:
                yield pool
            finally:
                self._pools.discard(pool)

    def close(self) -> None:
        """Close the kept docker clients; a later gather builds them again."""
        self.engine_cache.close()

    def __enter__(self) -> Inventory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    profile: ClusterProfile, now: Callable[[], datetime] | None = None, read_only: bool = False
) -> Inventory:
    """Build the SDK clients a profile describes; no network call is made except for AAD.

    `read_only`: every client (gateway, ARM, each engine's) is built on a transport that sends
    only the reads in tui/cluster/readonly.py, so nothing the inventory holds can mutate."""
    client = fabric.build_client(fabric_connection(profile), read_only)
    if profile.gateway.aad:
        token = _aad_token(profile, client)
        client = fabric.build_client(fabric_connection(profile, token), read_only)
    client.config.connection.timeout = profile.inventory.timeout
    arm = (
        compute.build_client(compute.connection_from_profile(profile.arm), read_only)
        if profile.arm
        else None
    )
    inventory = Inventory(profile, client, arm, engine_cache=engines.EngineCache(read_only))
    if now is not None:
        inventory.now = now
    return inventory


def fabric_connection(
    profile: ClusterProfile, aad_token: str | None = None
) -> fabric.FabricConnection:
    """The gateway part of a profile as the fabric module's connection settings."""
    g = profile.gateway
    return fabric.FabricConnection(
        endpoint=g.endpoint,
        client_pem=g.client_pem,
        client_cert=g.client_cert,
        client_key=g.client_key,
        ca=g.ca,
        server_thumbprints=g.server_thumbprints,
        aad_token=aad_token,
    )


def engine_connection(profile: ClusterProfile, address: str) -> engines.EngineConnection:
    """How to reach the engine of the node at `address`, from the profile's docker settings."""
    d = profile.docker
    assert d is not None
    return engines.EngineConnection(
        endpoint=engines.endpoint_for(d.endpoint_template, address),
        ca=d.ca,
        client_cert=d.client_cert,
        client_key=d.client_key,
        timeout=profile.inventory.timeout,
    )


def gather(
    inventory: Inventory,
    progress: Progress | None = None,
    on_gateway: Callable[[ClusterSnapshot], None] | None = None,
    on_engine: Callable[[Engine], None] | None = None,
) -> ClusterSnapshot:
    """A full snapshot: gateway, scale sets and engines, concurrently, failures kept as errors.

    `on_gateway` gets the gateway's part (nodes, health; no VMs, no engines) as soon as it is
    read, and `on_engine` each engine as it is read (from worker threads), for a screen to fill
    in; neither is a snapshot a gate may judge. The ARM and engine reads start once
    `on_gateway` has returned: a screen may hold them (bounded) while it draws the nodes."""
    tracker = _Tracker(progress)
    profile = inventory.profile
    with inventory._pool() as pool:

        def read_arm() -> dict[str, Future[tuple[ScaleSet, tuple[Instance, ...]]]]:
            return {
                name: pool.submit(_arm_part, inventory, name, tracker)
                for name in (profile.arm.scale_sets.values() if profile.arm else ())
            }

        fabric_part = pool.submit(_fabric_part, inventory, tracker, True)
        # With nobody to show the gateway's part to, ARM is read alongside the gateway.
        arm_parts = read_arm() if on_gateway is None else {}
        nodes, health, ud_states, version, errors = fabric_part.result()
        gateway = ClusterSnapshot(
            taken_at=inventory.now(),
            cluster_name=profile.name,
            endpoint=profile.gateway.endpoint,
            code_version=version,
            nodes=nodes,
            health=health,
            upgrade_domain_states=ud_states,
            errors=tuple(errors),
        )
        if on_gateway is not None:
            # The reads below would compete for the GIL with the first draw of a thousand
            # nodes (ARM's models, the engine sweep): measured, they made it seconds slower.
            on_gateway(gateway)
            arm_parts = read_arm()
        engine_parts: dict[str, Future[Engine]] = {}
        if profile.docker is not None:
            tracker.expect(len(nodes))
            engine_parts = _read_engines(inventory, pool, nodes, tracker)
            if on_engine is not None:
                for engine_part in engine_parts.values():
                    engine_part.add_done_callback(
                        lambda f: None if f.cancelled() or f.exception() else on_engine(f.result())
                    )
        scale_sets: list[ScaleSet] = []
        instances: list[Instance] = []
        for name, part in arm_parts.items():
            try:
                scale_set, its_instances = part.result()
            except ClusterError as exc:
                errors.append(SourceError("arm", name, str(exc)))
                continue
            scale_sets.append(scale_set)
            instances += its_instances
        found: dict[str, Engine] = {}
        for name, engine_part in engine_parts.items():
            try:
                found[name] = engine_part.result()
            except ClusterError as exc:
                errors.append(SourceError("docker", name, str(exc)))
    last_engines, last_instances = inventory._gathered
    if last_engines.keys() != found.keys() or any(
        last_engines[name] is not engine for name, engine in found.items()
    ):
        last_engines = found
    if len(last_instances) != len(instances) or any(map(is_not, last_instances, instances)):
        last_instances = tuple(instances)
    inventory._gathered = (last_engines, last_instances)
    return replace(
        gateway,
        taken_at=inventory.now(),
        scale_sets=tuple(scale_sets),
        instances=last_instances,
        engines=last_engines,
        errors=tuple(errors),
        cluster_durability={
            name: nt.durability for name, nt in profile.node_types.items() if nt.durability
        },
        stateless_node_types=frozenset(n for n, nt in profile.node_types.items() if nt.stateless),
    )


def refresh_health(inventory: Inventory, last: ClusterSnapshot) -> ClusterSnapshot:
    """Nodes and cluster health only; scale sets and engines are carried over from `last`.

    When the gateway cannot be read, the last nodes are kept and the error is recorded (as
    the NODES_READ subject, so that no gate takes those statuses for a fresh read)."""
    nodes, health, _, _, fabric_errors = _fabric_part(inventory, _Tracker(None), False)
    errors = tuple(e for e in last.errors if e.source != "fabric") + tuple(fabric_errors)
    return replace(
        last,
        taken_at=inventory.now(),
        nodes=nodes if nodes or not fabric_errors else last.nodes,
        health=health,
        errors=last.errors if errors == last.errors else errors,  # unchanged: the same object
        scope=HEALTH_SCOPE,
        scope_node="",
        full_taken_at=last.full_read_at,
    )


def refresh_node(inventory: Inventory, last: ClusterSnapshot, name: str) -> ClusterSnapshot:
    """Nodes and cluster health, then node `name`'s VM and engine, the engine read under the
    InstanceId that node list gives; every other VM and engine is carried over from `last`.

    A VM or engine of `name` that cannot be read now is left out (its error kept), never
    carried over, so that nothing about `name` stands on an earlier read."""
    snapshot = refresh_health(inventory, last)
    if snapshot.unread("fabric", NODES_READ):
        return snapshot  # statuses from an earlier read: not a base for reading one node
    errors = [
        e for e in snapshot.errors if not (e.source in ("arm", "docker") and e.subject == name)
    ]
    found = {n: e for n, e in snapshot.engines.items() if n != name}
    vm: Instance | None = None
    node = snapshot.node(name)
    if node is not None:
        try:
            vm = _instance_of(inventory, snapshot, node)
        except ClusterError as exc:
            errors.append(SourceError("arm", name, str(exc)))
        if inventory.profile.docker is not None:
            try:
                found[name] = _engine_part(inventory, node, _Tracker(None))
            except ClusterError as exc:
                errors.append(SourceError("docker", name, str(exc)))
    # In its place, so that the instances keep the order a full read gave them.
    kept = [vm if i.node_name == name else i for i in snapshot.instances]
    if not any(i.node_name == name for i in snapshot.instances):
        kept.append(vm)
    return replace(
        snapshot,
        instances=tuple(i for i in kept if i is not None),
        engines=found,
        errors=tuple(errors),
        scope=NODE_SCOPE,
        scope_node=name,
    )


def node_patch_targets(
    nodes: tuple[Node, ...], by_node_type: Mapping[str, WindowsVersion]
) -> dict[str, WindowsVersion]:
    """Per-node-type patch targets spread to node names, as tui.rules.evaluate takes them."""
    return {n.name: by_node_type[n.node_type] for n in nodes if n.node_type in by_node_type}


def _aad_token(profile: ClusterProfile, client: Any) -> str:
    """A bearer token for the gateway: scope from the profile or the cluster's AAD metadata."""
    scope = profile.gateway.aad_scope
    if scope is None:
        metadata = fabric.call("get AAD metadata", client.get_aad_metadata)
        cluster_app = getattr(getattr(metadata, "metadata", None), "cluster", None)
        if not cluster_app:
            raise ClusterError(
                f"{profile.gateway.endpoint} publishes no AAD metadata: set aad_scope in the "
                f"profile, or use a client certificate"
            )
        scope = f"{cluster_app}/.default"
    from azure.core.exceptions import ClientAuthenticationError

    if profile.arm is not None:
        credential = compute.make_credential(compute.connection_from_profile(profile.arm))
    else:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    try:
        return credential.get_token(scope).token
    except ClientAuthenticationError as exc:
        raise ClusterError(f"AAD token for {scope}: {str(exc).splitlines()[0]}") from exc


# ------------------------------------------------------------------ ARM and engines


def _arm_part(
    inventory: Inventory, scale_set_name: str, tracker: _Tracker
) -> tuple[ScaleSet, tuple[Instance, ...]]:
    """One scale set's model and its instances (with instance view)."""
    client = inventory.compute
    group = inventory.profile.arm.resource_group  # type: ignore[union-attr]
    retries = inventory.settings.retries
    tracker.expect(2)
    try:
        scale_set = _with_retries(retries, compute.get_scale_set, client, group, scale_set_name)
    finally:
        tracker.done(f"scale set {scale_set_name}")
    try:
        instances = _with_retries(
            retries, compute.list_instances, client, group, scale_set, inventory.arm_answers
        )
    finally:
        tracker.done(f"instances of {scale_set_name}")
    return scale_set, instances


def _instance_of(inventory: Inventory, last: ClusterSnapshot, node: Node) -> Instance | None:
    """The node's VM with its instance view, or None when no scale set is known for it."""
    arm = inventory.profile.arm
    scale_set = next(
        (s for s in last.scale_sets if arm and s.name == arm.scale_sets.get(node.node_type)), None
    )
    if scale_set is None:
        return None
    known = next((i.instance_id for i in last.instances if i.node_name == node.name), None)
    instance_id = known or str(node.instance_index if node.instance_index is not None else "")
    if not instance_id:
        return None
    group = arm.resource_group  # type: ignore[union-attr]
    return _with_retries(
        inventory.settings.retries,
        compute.get_instance,
        inventory.compute,
        group,
        scale_set,
        instance_id,
    )


def _read_engines(
    inventory: Inventory, pool: DaemonPool, nodes: Iterable[Node], tracker: _Tracker
) -> dict[str, Future[Engine]]:
    """Each node's engine read, as a Future. The sweep loop (tui.cluster.sweep_loop) drives
    every read from one of the pool's threads, `in_flight` connections at a time; a read whose
    answers lacked something (its engine closed early) is finished in the pool."""
    cache, profile = inventory.engine_cache, inventory.profile
    parts: dict[str, Future[Engine]] = {}
    jobs: list[engines.NodeSweep] = []
    claims: dict[str, engines.NodeSweep] = {}

    def settle(future: Future[Engine], read: Callable[[], Engine], what: str) -> None:
        try:
            future.set_result(read())
        except BaseException as exc:
            future.set_exception(exc)
        finally:
            tracker.done(what)

    def cancel(future: Future[Engine], what: str) -> None:
        if future.cancel():
            tracker.done(what)

    def in_pool(call: Callable[[], None], dropped: Callable[[], None]) -> None:
        """`call` in the pool; `dropped()` if the pool drops it (the session is ending: see
        Inventory.wind_down), so that nobody waits for ever on what `call` would settle."""
        try:
            queued = pool.submit(call)
        except RuntimeError:  # the pool was shut down already
            dropped()
            return
        queued.add_done_callback(lambda q: dropped() if q.cancelled() else None)

    def done(job: engines.NodeSweep) -> None:
        future, result, what = parts[job.node_name], job.result, f"engine {job.node_name}"
        if result is engines.NEEDS_MORE:
            in_pool(lambda: settle(future, job.finish_read, what), lambda: cancel(future, what))
            return
        settle(future, lambda: _engine_or_raise(result), what)

    for node in nodes:
        future = parts[node.name] = Future()
        try:
            if not node.ip_address:
                raise ClusterError(f"docker engine on {node.name}: the gateway gives no address")
            conn = engine_connection(profile, node.ip_address)
            jobs.append(
                engines.NodeSweep(
                    cache, node.name, node.instance_id, conn, inventory.images, claims, done
                )
            )
        except ClusterError as exc:
            future.set_exception(exc)
            tracker.done(f"engine {node.name}")

    def sweep() -> None:
        unread: BaseException | None = None
        try:
            in_flight = min(inventory.settings.concurrency * SWEEP_IN_FLIGHT, MAX_CONCURRENCY)
            sweep_loop.run(jobs, in_flight, cache.stats, inventory._ending)
        except BaseException as exc:
            unread = exc
            raise
        finally:
            for job in jobs:
                if job.result is None:  # not started (the session is ending), or the loop failed
                    parts[job.node_name].set_exception(
                        unread
                        or ClusterError(
                            f"docker engine on {job.node_name}: not read: the session is ending"
                        )
                    )
                    tracker.done(f"engine {job.node_name}")

    def unswept() -> None:
        for job in jobs:
            cancel(parts[job.node_name], f"engine {job.node_name}")

    if jobs:
        in_pool(sweep, unswept)
    return parts


def _engine_or_raise(result: object) -> Engine:
    if isinstance(result, BaseException):
        raise result
    assert isinstance(result, Engine)
    return result


def _engine_part(inventory: Inventory, node: Node, tracker: _Tracker) -> Engine:
    """One node's engine, refreshed from its last read while the node instance is the same;
    tried once, since an engine that is down stays down for a while."""
    try:
        if not node.ip_address:
            raise ClusterError(f"docker engine on {node.name}: the gateway gives no address")
        conn = engine_connection(inventory.profile, node.ip_address)
        return engines.read_node(
            inventory.engine_cache, node.name, node.instance_id, conn, inventory.images
        )
    finally:
        tracker.done(f"engine {node.name}")


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
            errors.append(SourceError("fabric", what, str(exc)))
            return default
        finally:
            tracker.done(what)

    answers = inventory.answers
    nodes = read(
        NODES_READ, lambda c: fabric.list_nodes(c, cache=answers, read_at=inventory.now()), ()
    )
    health = read(HEALTH_READ, lambda c: fabric.cluster_health(c, cache=answers), Health())
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
    elif isinstance(cause, HttpResponseError):
        status = cause.status_code or 0
    else:
        return isinstance(
            cause,
            ClientRequestError
            | requests.RequestException
            | ServiceRequestError
            | ServiceResponseError,
        )
    return status >= 500 or status in (408, 429)


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
