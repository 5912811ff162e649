"""The simulated cluster's state and every change to it, driven by the scaled clock.

Protocol servers (fabric_api, arm, docker_api) only read this state and call its operations;
the wire formats live with them. Time-based transitions are queued events that `advance()`
applies in order, so a frozen clock plus `clock.advance()` replays a run exactly.
All public methods take the lock: servers and tests call them from different threads.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tui.sim.clock import SimClock
from tui.sim.faults import Faults
from tui.sim.lro_reads import LroReads
from tui.sim.scenario import ContainerSpec, NodeTypeSpec, Scenario
from tui.winver import WindowsVersion

INTENTS = {"Pause": 1, "Restart": 2, "RemoveData": 3, "RemoveNode": 4}
INTENT_BY_NUMBER = {number: name for name, number in INTENTS.items()}
# FM raises a Warning when deactivation runs longer than this (ExpectedNodeDeactivationDuration).
EXPECTED_DEACTIVATION_SECONDS = 30 * 60


class SimError(Exception):
    """An operation the real service would refuse; protocol layers map `code` to the wire."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class SimContainer:
    """A container on a node's engine."""

    id: str
    name: str
    image: str
    isolation: str
    application: str
    created: datetime
    running: bool = True
    exit_code: int = 0
    error: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass
class SimNode:
    """One node: the Service Fabric node and the VM (host) under it."""

    name: str
    node_type: str
    index: int
    upgrade_domain: str
    fault_domain: str
    address: str
    is_seed: bool
    node_id: str
    instance_id: int
    host_version: WindowsVersion
    patch_target: WindowsVersion
    containers: list[SimContainer]
    images: tuple[str, ...]
    fabric_up: bool = True
    host_up: bool = True
    intent: str = "Invalid"
    deactivation_status: str = "None"
    pending_checks: list[tuple[str, str | None]] = field(default_factory=list)
    deactivation_started: float | None = None
    activating: bool = False
    up_at: datetime | None = None
    down_at: datetime | None = None
    up_since: float = 0.0
    down_since: float = 0.0
    degraded_application: str | None = None
    # Bumped by every lifecycle change, so a queued transition of an older phase is dropped.
    phase: int = 0

    @property
    def status(self) -> str:
        """NodeStatus exactly as FM derives it (sf-rest.md section 5)."""
        if not self.fabric_up:
            return "Down"
        if self.intent != "Invalid":
            return "Disabled" if self.deactivation_status == "Completed" else "Disabling"
        if self.activating:
            return "Enabling"
        return "Up"


class SimCluster:
    """All simulated state of one cluster, with the operations the services expose."""

    def __init__(self, scenario: Scenario, clock: SimClock, seed: int | None = None) -> None:
        self.scenario = scenario
        self.clock = clock
        self.faults = Faults()
        self.lro_reads = LroReads()  # ARM's operations as their pollers have read them
        self.lock = threading.RLock()
        self._rng = random.Random(scenario.seed if seed is None else seed)
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._event_seq = itertools.count()
        self._running_due: float | None = None
        self.nodes: dict[str, SimNode] = {}
        self.partitions = {
            app: self._guid()
            for app in sorted({c.application for nt in scenario.node_types for c in nt.containers})
        }
        for type_index, node_type in enumerate(scenario.node_types):
            for index in range(node_type.instances):
                self._add_node(type_index, node_type, index)

    # ------------------------------------------------------------------ construction

    def _add_node(self, type_index: int, spec: NodeTypeSpec, index: int) -> None:
        number = len(self.nodes)
        name = f"_{spec.name}_{index}"
        now = self.clock.now()
        containers = [
            self._new_container(c, name, now)
            for c in spec.containers
            if not c.instances or index in c.instances
        ]
        self.nodes[name] = SimNode(
            name=name,
            node_type=spec.name,
            index=index,
            upgrade_domain=str(index % self.scenario.upgrade_domains),
            fault_domain=f"fd:/{index % self.scenario.fault_domains}",
            # Each node gets its own loopback address, as each VM has its own IP.
            address=f"127.{type_index + 1}.{number // 250}.{number % 250 + 2}",
            is_seed=index in spec.seed_instances,
            node_id=f"{self._rng.getrandbits(128):032x}",
            instance_id=133_700_000_000_000_000 + self._rng.randrange(10**12),
            host_version=spec.host_overrides.get(index, spec.host_version),
            patch_target=spec.patch_target,
            containers=containers,
            images=tuple(dict.fromkeys(c.image for c in containers)),
            up_at=self.clock.at(-86_400 * 12 - self._rng.randrange(86_400)),
            up_since=-86_400 * 12.0,
        )

    def _new_container(self, spec: ContainerSpec, node: str, now: datetime) -> SimContainer:
        container_id = f"{self._rng.getrandbits(256):064x}"
        # Created 2 to 9 days before it was (re)started; taken from the id, not a further draw,
        # so the rest of the seeded sequence stays as it was.
        created = now - timedelta(seconds=86_400 * 2 + int(container_id[:8], 16) % (86_400 * 7))
        return SimContainer(
            id=container_id,
            name=f"sf-{spec.name}-{node.strip('_').lower().replace('_', '-')}",
            image=spec.image,
            isolation=spec.isolation,
            application=spec.application,
            created=created,
            started_at=now,
        )

    def _guid(self) -> str:
        h = f"{self._rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    # ------------------------------------------------------------------ time

    def schedule(self, delay: float, action: Callable[[], None]) -> None:
        """Run `action` once simulated time has moved `delay` seconds past now.

        Inside a transition, "now" is that transition's due time, so a chain of transitions
        lands at the same moments however far a single clock.advance() jumps.
        """
        base = self._running_due if self._running_due is not None else self.clock.elapsed()
        due = base + delay
        heapq.heappush(self._events, (due, next(self._event_seq), action))

    def advance(self) -> None:
        """Apply every queued transition that is due; call before reading state."""
        with self.lock:
            now = self.clock.elapsed()
            while self._events and self._events[0][0] <= now:
                due, _, action = heapq.heappop(self._events)
                previous, self._running_due = self._running_due, due
                try:
                    action()
                finally:
                    self._running_due = previous

    def _at_phase(self, node: SimNode, action: Callable[[], None]) -> Callable[[], None]:
        phase = node.phase

        def guarded() -> None:
            if node.phase == phase:
                action()

        return guarded

    def _bump(self, node: SimNode) -> None:
        node.phase += 1

    # ------------------------------------------------------------------ lookups

    def node(self, name: str) -> SimNode:
        node = self.nodes.get(name)
        if node is None:
            raise SimError("FABRIC_E_NODE_NOT_FOUND", f"Node {name} not found.")
        return node

    def uptime_seconds(self, node: SimNode) -> int:
        return int(self.clock.elapsed() - node.up_since) if node.fabric_up else 0

    def downtime_seconds(self, node: SimNode) -> int:
        return 0 if node.fabric_up else int(self.clock.elapsed() - node.down_since)

    # ------------------------------------------------------------------ Service Fabric operations

    def deactivate(self, name: str, intent: str) -> None:
        """POST Deactivate: safety checks, then replica close, then Disabled."""
        with self.lock:
            self.advance()
            node = self.node(name)
            if intent not in INTENTS:
                raise SimError("E_INVALIDARG", f"Invalid deactivation intent {intent!r}.")
            if node.intent != "Invalid" and INTENTS[intent] < INTENTS[node.intent]:
                raise SimError(
                    "FABRIC_E_INVALID_OPERATION",
                    "The deactivation intent can be increased, but not decreased.",
                )
            already = node.intent != "Invalid"
            node.intent = intent
            node.activating = False
            if already:
                return
            self._bump(node)
            node.deactivation_started = self.clock.elapsed()
            if not node.fabric_up or intent == "Pause":
                node.deactivation_status = "Completed"
                return
            node.deactivation_status = "SafetyCheckInProgress"
            node.pending_checks = self._safety_checks(node)
            timing = self.scenario.timing
            if self.faults.active("stuck-disabling", name):
                return  # EnsureSeedNodeQuorum never clears: the field's "stuck Disabling"
            self.schedule(
                timing.safety_checks, self._at_phase(node, lambda: self._checks_done(node))
            )

    def _safety_checks(self, node: SimNode) -> list[tuple[str, str | None]]:
        checks: list[tuple[str, str | None]] = []
        if node.is_seed or self.faults.active("stuck-disabling", node.name):
            checks.append(("EnsureSeedNodeQuorum", None))
        for app in sorted({c.application for c in node.containers}):
            checks.append(("EnsurePartitionQuorum", self.partitions[app]))
        return checks

    def _checks_done(self, node: SimNode) -> None:
        node.deactivation_status = "SafetyCheckComplete"
        node.pending_checks = []
        self.schedule(
            self.scenario.timing.replica_close,
            self._at_phase(node, lambda: setattr(node, "deactivation_status", "Completed")),
        )

    def activate(self, name: str) -> None:
        """POST Activate: drop the client deactivation; Enabling, then Up. No-op if not disabled."""
        with self.lock:
            self.advance()
            node = self.node(name)
            if node.intent == "Invalid":
                return
            self._bump(node)
            node.intent = "Invalid"
            node.deactivation_status = "None"
            node.pending_checks = []
            node.deactivation_started = None
            if not node.fabric_up:
                return
            node.activating = True
            self.schedule(
                self.scenario.timing.activate,
                self._at_phase(node, lambda: setattr(node, "activating", False)),
            )

    def restart_fabric(self, name: str, instance_id: str) -> None:
        """POST Restart: the node process goes Down and returns with a new InstanceId."""
        with self.lock:
            self.advance()
            node = self.node(name)
            if instance_id not in ("0", str(node.instance_id)):
                raise SimError(
                    "FABRIC_E_INSTANCE_ID_MISMATCH",
                    f"Instance id {instance_id} does not match node instance {node.instance_id}.",
                )
            if not node.fabric_up:
                raise SimError("FABRIC_E_NODE_IS_DOWN", "Node is down.")
            self._fabric_down(node)
            self._return_after(node, self.scenario.timing.restart)

    def _fabric_down(self, node: SimNode) -> None:
        self._bump(node)
        node.fabric_up = False
        node.activating = False
        node.down_at = self.clock.now()
        node.down_since = self.clock.elapsed()
        if node.intent != "Invalid":
            node.deactivation_status = "Completed"  # FM forces Completed on NodeDown
            node.pending_checks = []

    def _return_after(self, node: SimNode, seconds: float, then: Callable[[], None] | None = None):
        def come_back() -> None:
            if then:
                then()
            if self.faults.active("no-return", node.name):
                return
            self._fabric_up(node)

        self.schedule(seconds, self._at_phase(node, come_back))

    def _fabric_up(self, node: SimNode) -> None:
        self._bump(node)
        node.fabric_up = True
        node.host_up = True
        node.instance_id += 1 + int(self.clock.elapsed() * 10_000_000)
        node.up_at = self.clock.now()
        node.up_since = self.clock.elapsed()

    # ------------------------------------------------------------------ host (VM) operations

    def reboot_host(
        self,
        name: str,
        busy_seconds: float = 0.0,
        new_version: WindowsVersion | None = None,
    ) -> None:
        """The VM works `busy_seconds` (installing), reboots, and comes back maybe patched.

        While rebooting the engine and the Service Fabric node are both down; afterwards each
        container restarts under the Windows version rules for the host it finds.
        """
        with self.lock:
            self.advance()
            node = self.node(name)

            def go_down() -> None:
                self._fabric_down(node)
                node.host_up = False
                for container in node.containers:
                    if container.running:
                        container.running = False
                        container.exit_code = 1073807364  # shutdown, as Windows reports it
                        container.finished_at = self.clock.now()
                self._return_after(node, self.scenario.timing.restart, then=come_up)

            def come_up() -> None:
                if new_version is not None:
                    self._set_host_version(node, new_version)
                node.host_up = True
                self._restart_containers(node)

            if busy_seconds:
                self.schedule(busy_seconds, go_down)
            else:
                go_down()

    def _set_host_version(self, node: SimNode, version: WindowsVersion) -> None:
        patched = version != node.host_version
        node.host_version = version
        if patched and self.faults.active("health-degrade", node.name):
            apps = sorted({c.application for c in node.containers})
            node.degraded_application = apps[0] if apps else "fabric:/System"

    def _restart_containers(self, node: SimNode) -> None:
        from tui.rules.compat import CONTAINER_OS_MISMATCH, check  # one source for the rules

        now = self.clock.now()
        for container in node.containers:
            image = self.scenario.images[container.image]
            verdict = check(node.host_version, image.os_version, container.isolation)
            container.started_at = now
            if verdict.compatible:
                container.running, container.exit_code, container.error = True, 0, ""
            else:
                container.running = False
                container.exit_code = 3221684481  # 0xC0370101 as an unsigned exit code
                container.error = (
                    "container "
                    + container.id
                    + " encountered an error during hcs::System::Start: failure in a Windows "
                    "system call: " + CONTAINER_OS_MISMATCH
                )
                container.finished_at = now

    # ------------------------------------------------------------------ health

    def node_health_events(self, node: SimNode) -> list[tuple[str, str, str, str]]:
        """(source, property, state, description) of the events System.FM reports on a node."""
        if not node.fabric_up:
            text = "Fabric seed node is down." if node.is_seed else "Fabric node is down."
            return [("System.FM", "State", "Error", text)]
        events = [("System.FM", "State", "Ok", "Fabric node is up.")]
        started = node.deactivation_started
        if (
            node.intent != "Invalid"
            and node.deactivation_status != "Completed"
            and started is not None
            and self.clock.elapsed() - started > EXPECTED_DEACTIVATION_SECONDS
        ):
            events.append(
                (
                    "System.FM",
                    "State",
                    "Warning",
                    "Fabric node is taking longer than expected to deactivate.",
                )
            )
        return events

    def deployed_application_events(
        self, node: SimNode
    ) -> dict[str, list[tuple[str, str, str, str]]]:
        """Per application deployed on the node: its unhealthy events (empty list when Ok)."""
        result: dict[str, list[tuple[str, str, str, str]]] = {}
        for container in node.containers:
            events = result.setdefault(container.application, [])
            if node.host_up and not container.running and container.error:
                events.append(
                    (
                        "System.Hosting",
                        f"CodePackageActivation:{container.name}:EntryPoint",
                        "Error",
                        f"There was an error during CodePackage activation. {container.error}",
                    )
                )
        if node.degraded_application and node.fabric_up:
            result.setdefault(node.degraded_application, []).append(
                (
                    "Watchdog",
                    "Availability",
                    "Error",
                    "Requests failing after the host was patched.",
                )
            )
        return result
