"""Scale set and Service Fabric settings that make patching unsafe or unpredictable."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from tui.model import ClusterSnapshot, Finding, Instance, ScaleSet, Severity
from tui.rules.containers import host_version

AUTO_UPDATES_WITH_AUTO_OS_UPGRADE = "config.auto-updates-with-auto-os-upgrade"
AUTO_UPDATES_WITH_MANUAL_PATCHING = "config.auto-updates-with-manual-patching"
AUTO_OS_UPGRADE_BRONZE = "config.auto-os-upgrade-bronze"
AUTO_OS_UPGRADE_IMAGE_VERSION = "config.auto-os-upgrade-image-not-latest"
SF_EXTENSION_VERSION = "config.sf-extension-version"
DURABILITY_MISMATCH = "config.durability-mismatch"
NOT_LATEST_MODEL = "config.instance-not-latest-model"
MIXED_HOST_REVISIONS = "config.mixed-host-revisions"

MIN_SF_EXTENSION = (1, 1)


def scale_set_findings(
    scale_set: ScaleSet, cluster_durability: str | None = None, stateless: bool = False
) -> list[Finding]:
    """Settings of one scale set, judged against the cluster's durability for its node type."""
    s = scale_set
    auto_os = s.automatic_os_upgrade
    durability = (s.sf_durability or "").capitalize()
    findings = []

    def add(rule_id: str, severity: Severity, message: str) -> None:
        findings.append(Finding(rule_id, severity, s.name, message, "arm"))

    if auto_os and s.enable_automatic_updates:
        add(
            AUTO_UPDATES_WITH_AUTO_OS_UPGRADE,
            "error",
            f"{s.name}: enableAutomaticUpdates is true with automatic OS upgrade on; from Compute "
            f"API 2019-03-01 it must be false (Windows Update would patch nodes outside the "
            f"upgrade-domain rollout, and SF scale sets do not support it)",
        )
    if not auto_os and s.enable_automatic_updates is not False:
        default = " (not set; the default is true)" if s.enable_automatic_updates is None else ""
        add(
            AUTO_UPDATES_WITH_MANUAL_PATCHING,
            "warning",
            f"{s.name}: enableAutomaticUpdates is true{default} while nodes are patched manually: "
            f"Windows Update reboots nodes on its own schedule, outside any upgrade-domain order",
        )
    if auto_os and durability == "Bronze" and not stateless:
        add(
            AUTO_OS_UPGRADE_BRONZE,
            "error",
            f"{s.name}: automatic OS upgrade on a Bronze node type ({s.node_type}); it needs "
            f"Silver or Gold durability unless the node type is stateless-only",
        )
    if auto_os and s.image_version.lower() != "latest":
        add(
            AUTO_OS_UPGRADE_IMAGE_VERSION,
            "error",
            f"{s.name}: automatic OS upgrade needs image version 'latest', the model pins "
            f"{s.image_version or '(none)'}",
        )
    version = _handler_version(s.sf_extension_version)
    if version is not None and version < MIN_SF_EXTENSION:
        add(
            SF_EXTENSION_VERSION,
            "error" if auto_os else "warning",
            f"{s.name}: Service Fabric extension {s.sf_extension_version} is older than 1.1, "
            f"which automatic OS upgrade requires",
        )
    if cluster_durability and durability and cluster_durability.capitalize() != durability:
        add(
            DURABILITY_MISMATCH,
            "error",
            f"{s.name}: durability differs between the cluster node type {s.node_type} "
            f"({cluster_durability}) and the scale set's SF extension ({s.sf_durability}); "
            f"upgrades fail until both match",
        )
    return findings


def instance_findings(instances: Iterable[Instance]) -> list[Finding]:
    """Instances that do not run the scale set's latest model."""
    return [
        Finding(
            NOT_LATEST_MODEL,
            "warning",
            i.node_name or f"{i.scale_set}/{i.instance_id}",
            f"{i.node_name or i.instance_id} ({i.scale_set} instance {i.instance_id}) is not on "
            f"the scale set's latest model; a manual upgrade or reimage will change it",
            "arm",
            i.node_name or None,
        )
        for i in instances
        if i.latest_model_applied is False
    ]


def mixed_revision_findings(snapshot: ClusterSnapshot) -> list[Finding]:
    """Node types whose hosts report different Windows versions (a patch left half done)."""
    by_type: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    listed = {n.name: n.node_type for n in snapshot.nodes if n.node_type}  # one pass, not n²
    for name, engine in snapshot.engines.items():
        version = host_version(engine)
        if version is not None:
            by_type[listed.get(name) or node_type_of(snapshot, name)][str(version)].append(name)
    findings = []
    for node_type, versions in sorted(by_type.items()):
        if len(versions) < 2:
            continue
        parts = "; ".join(f"{v}: {', '.join(sorted(n))}" for v, n in sorted(versions.items()))
        findings.append(
            Finding(
                MIXED_HOST_REVISIONS,
                "warning",
                node_type,
                f"Node type {node_type} runs {len(versions)} host versions ({parts})",
                "docker",
            )
        )
    return findings


def config_findings(snapshot: ClusterSnapshot) -> list[Finding]:
    """All settings findings of a snapshot."""
    findings = []
    for s in snapshot.scale_sets:
        findings += scale_set_findings(
            s,
            snapshot.cluster_durability.get(s.node_type),
            s.node_type in snapshot.stateless_node_types,
        )
    findings += instance_findings(snapshot.instances)
    findings += mixed_revision_findings(snapshot)
    return findings


def node_type_of(snapshot: ClusterSnapshot, node_name: str) -> str:
    """A node's type from the gateway, else its scale set, else its `_<NodeType>_<N>` name."""
    node = snapshot.node(node_name)
    if node is not None and node.node_type:
        return node.node_type
    types = {s.name: s.node_type for s in snapshot.scale_sets}
    for instance in snapshot.instances:
        if instance.node_name == node_name and instance.scale_set in types:
            return types[instance.scale_set]
    return node_name.strip("_").rsplit("_", 1)[0]


def _handler_version(text: str | None) -> tuple[int, ...] | None:
    try:
        return tuple(int(p) for p in text.split(".")[:2]) if text else None
    except ValueError:
        return None
