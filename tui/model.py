"""The frozen data the UI, the rules and the transcript work on.

SDK objects never leave tui/cluster.

Every type here is immutable; a refresh builds a new ClusterSnapshot rather than changing one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal

HealthState = Literal["Ok", "Warning", "Error", "Unknown", "Invalid"]
Severity = Literal["info", "warning", "error"]
SEVERITY_RANK: Mapping[str, int] = MappingProxyType({"info": 0, "warning": 1, "error": 2})
HEALTH_RANK: Mapping[str, int] = MappingProxyType(
    {"Ok": 0, "Invalid": 1, "Unknown": 1, "Warning": 2, "Error": 3}
)

# The deactivation intent for patching: replicas close gracefully and come back.
DISABLE_INTENT = "Restart"
# How long a session's cluster lease lasts unless renewed (the runbook renews it in time).
LEASE_TTL_SECONDS = 300

# ---------------------------------------------------------------- Service Fabric


@dataclass(frozen=True)
class DeactivationInfo:
    """NodeInfo.NodeDeactivationInfo: why and how far a node is disabled."""

    intent: str = "Invalid"
    status: str = "None"
    pending_safety_checks: tuple[str, ...] = ()
    task_ids: tuple[str, ...] = ()


def seconds_since(then: datetime | None, moment: datetime) -> int:
    """Whole seconds from `then` to `moment`; none if `then` is not known or not before it."""
    if then is None or moment <= then:
        return 0
    return int((moment - then).total_seconds())


@dataclass(frozen=True)
class Node:
    """One Service Fabric node as the gateway reports it."""

    name: str
    node_type: str
    ip_address: str
    upgrade_domain: str
    fault_domain: str
    status: str
    health_state: str
    is_seed: bool
    code_version: str
    instance_id: str
    node_id: str
    uptime_seconds: int = 0
    up_at: datetime | None = None
    down_at: datetime | None = None
    deactivation: DeactivationInfo = field(default_factory=DeactivationInfo)
    # When uptime_seconds was read, if earlier than the snapshot holding the node: a node that
    # only aged since is kept as it was (see fabric.list_nodes). None: as of the snapshot.
    uptime_at: datetime | None = None

    def uptime_as_of(self, moment: datetime) -> int:
        """The uptime at `moment`: as read, plus the time since it was read (never less)."""
        return self.uptime_after(seconds_since(self.uptime_at, moment))

    def uptime_after(self, gone: int) -> int:
        """The uptime `gone` seconds after it was read (a node not up has none)."""
        return self.uptime_seconds + gone if self.uptime_seconds > 0 else self.uptime_seconds

    @property
    def instance_index(self) -> int | None:
        """Scale set instance number from the `_<NodeType>_<N>` naming, or None."""
        tail = self.name.rsplit("_", 1)[-1]
        return int(tail) if tail.isdigit() else None


@dataclass(frozen=True)
class HealthEvaluation:
    """One unhealthy evaluation, flattened from the gateway's nested wrappers."""

    kind: str
    health_state: str
    description: str
    node_name: str | None = None
    application: str | None = None


@dataclass(frozen=True)
class Health:
    """Aggregated health of the cluster or of one entity, with why it is not Ok."""

    aggregated: str = "Unknown"
    evaluations: tuple[HealthEvaluation, ...] = ()
    node_states: Mapping[str, str] = field(default_factory=dict)
    application_states: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UpgradeDomain:
    """An upgrade domain and how many of its nodes are in each state."""

    name: str
    nodes: tuple[str, ...]
    up: int
    disabled: int
    down: int
    other: int
    state: str = ""  # from GetUpgradeProgress when known (Pending/InProgress/Completed)


# ---------------------------------------------------------------- ARM compute


@dataclass(frozen=True)
class ScaleSet:
    """One VM scale set's model (the settings the rules judge)."""

    name: str
    node_type: str
    location: str = ""
    upgrade_mode: str = "Manual"
    automatic_os_upgrade: bool = False
    disable_automatic_rollback: bool = False
    enable_automatic_updates: bool | None = None
    patch_mode: str | None = None
    image_publisher: str = ""
    image_offer: str = ""
    image_sku: str = ""
    image_version: str = ""
    image_exact_version: str = ""
    sf_extension_version: str | None = None
    sf_durability: str | None = None
    capacity: int = 0


@dataclass(frozen=True)
class Instance:
    """One scale set VM, joined to its Service Fabric node by name."""

    scale_set: str
    instance_id: str
    node_name: str
    latest_model_applied: bool | None = None
    os_name: str = ""
    os_version: str = ""
    power_state: str = ""
    provisioning_state: str = ""
    image_version: str = ""
    run_command: str = ""  # the run command extension's provisioning state, e.g. transitioning

    @property
    def operation(self) -> str:
        """What ARM reports still running on this VM (a Run Command, a reimage...), or ""."""
        if self.run_command.lower() == "transitioning":
            return "a Run Command"
        if self.provisioning_state.lower() not in _SETTLED_PROVISIONING:
            return f"an operation (provisioning state {self.provisioning_state})"
        return ""


# ARM's terminal provisioning states; any other (Updating, Creating, ...) means work is running.
_SETTLED_PROVISIONING = frozenset({"", "succeeded", "failed", "canceled"})


@dataclass(frozen=True)
class CommandOutput:
    """What a run command (RunPowerShellScript) printed on a VM."""

    stdout: str = ""
    stderr: str = ""


# ---------------------------------------------------------------- Docker engines


@dataclass(frozen=True)
class Container:
    """A container on a node's engine."""

    id: str
    name: str
    image: str
    image_id: str = ""
    isolation: str = "process"
    state: str = ""
    # The engine's STATUS text ('Up 3 hours') as of the read that built this container: a
    # later list that differs only in such durations gives back the same container.
    status: str = ""
    exit_code: int | None = None
    error: str = ""


@dataclass(frozen=True)
class Image:
    """An image on a node's engine, with the Windows version it was built on."""

    id: str
    repo_tags: tuple[str, ...] = ()
    repo_digests: tuple[str, ...] = ()
    os: str = "windows"
    os_version: str = ""
    created: str = ""
    size: int = 0


@dataclass(frozen=True)
class Engine:
    """A node's Docker engine: the host OS it reports and what it runs."""

    node_name: str
    endpoint: str
    os_version: str = ""  # full host version with revision, e.g. 10.0.17763.6054
    operating_system: str = ""
    kernel_version: str = ""
    isolation: str = "process"
    server_version: str = ""
    containers: tuple[Container, ...] = ()
    images: tuple[Image, ...] = ()
    # The Service Fabric node InstanceId this was read under: a read from before the node's
    # current instance (a host reboot restarts the node) is not evidence about the host now.
    node_instance_id: str = ""


# ---------------------------------------------------------------- Findings and snapshots


@dataclass(frozen=True)
class Finding:
    """A warning a rule raised: what, about whom, how bad, and which source it came from."""

    rule_id: str
    severity: Severity
    subject: str
    message: str
    source: str
    node: str | None = None


# The subjects of the gateway reads in SourceError: what a snapshot holds for these when they
# fail is a default (health "Unknown") or the last read (nodes), never a fresh read.
NODES_READ = "nodes"
HEALTH_READ = "cluster health"

# What one read covered (ClusterSnapshot.scope): "full" is every source; "health" is the
# gateway's nodes and cluster health; "node" is those plus one node's VM and engine
# (ClusterSnapshot.scope_node). What a "health" or "node" read did not cover is carried over
# from the full read taken at ClusterSnapshot.full_taken_at.
ReadScope = Literal["full", "health", "node"]
FULL_SCOPE: ReadScope = "full"
HEALTH_SCOPE: ReadScope = "health"
NODE_SCOPE: ReadScope = "node"


@dataclass(frozen=True)
class SourceError:
    """A part of the snapshot that could not be gathered; the rest is still shown."""

    source: str  # "fabric", "arm", "docker"
    subject: str  # node name, scale set name, the gateway read ("nodes", ...) or ""
    message: str


@dataclass(frozen=True)
class ClusterSnapshot:
    """Everything known about the cluster at one moment, from all three sources."""

    taken_at: datetime
    cluster_name: str
    endpoint: str
    code_version: str = ""
    nodes: tuple[Node, ...] = ()
    health: Health = field(default_factory=Health)
    upgrade_domain_states: Mapping[str, str] = field(default_factory=dict)
    scale_sets: tuple[ScaleSet, ...] = ()
    instances: tuple[Instance, ...] = ()
    engines: Mapping[str, Engine] = field(default_factory=dict)
    errors: tuple[SourceError, ...] = ()
    # Service Fabric cluster-side settings per node type (the cluster resource's nodeTypes),
    # for comparing with the scale set's SF extension.
    cluster_durability: Mapping[str, str] = field(default_factory=dict)
    stateless_node_types: frozenset[str] = frozenset()
    scope: ReadScope = FULL_SCOPE
    scope_node: str = ""  # the node whose VM and engine a "node" read read
    full_taken_at: datetime | None = None  # of the full read the rest is from (None: this one)

    @property
    def full(self) -> bool:
        """Whether every source was read for this snapshot (nothing carried over)."""
        return self.scope == FULL_SCOPE

    @property
    def full_read_at(self) -> datetime:
        """When the last full read behind this snapshot was taken (its own, if it is one)."""
        return self.taken_at if self.full or self.full_taken_at is None else self.full_taken_at

    def node(self, name: str) -> Node | None:
        return next((n for n in self.nodes if n.name == name), None)

    def unread(self, source: str, subject: str) -> bool:
        """Whether that part (e.g. "fabric", NODES_READ) failed to be read for this snapshot."""
        return any(e.source == source and e.subject == subject for e in self.errors)

    @property
    def upgrade_domains(self) -> tuple[UpgradeDomain, ...]:
        return summarize_upgrade_domains(self.nodes, self.upgrade_domain_states)


def summarize_upgrade_domains(
    nodes: Iterable[Node], states: Mapping[str, str] | None = None
) -> tuple[UpgradeDomain, ...]:
    """Group nodes by upgrade domain and count them per status, ordered by UD name."""
    by_ud: dict[str, list[Node]] = {}
    for node in nodes:
        by_ud.setdefault(node.upgrade_domain, []).append(node)
    result = []
    for name in sorted(by_ud, key=_ud_sort_key):
        members = by_ud[name]
        up = sum(n.status == "Up" for n in members)
        disabled = sum(n.status in ("Disabling", "Disabled") for n in members)
        down = sum(n.status == "Down" for n in members)
        result.append(
            UpgradeDomain(
                name=name,
                nodes=tuple(n.name for n in members),
                up=up,
                disabled=disabled,
                down=down,
                other=len(members) - up - disabled - down,
                state=(states or {}).get(name, ""),
            )
        )
    return tuple(result)


def _ud_sort_key(name: str) -> tuple[int, str]:
    return (int(name), "") if name.isdigit() else (1 << 30, name)
