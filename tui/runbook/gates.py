"""Gates: what must hold before a node is disabled, patched or enabled. Pure: a snapshot in,
verdicts out.

A gate is passed, failed, or UNKNOWN when its inputs were not read (the node list or health
could not be read, the engine is down or was read before the node restarted, a prediction
cannot be decided). UNKNOWN counts as failed: a gate never passes on data it did not read.
A failed gate does not forbid the step (the engineer knows things sfpatch does not), but the
console shows it, asks for the node's name to be typed to go on, and the transcript records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tui.model import HEALTH_READ, NODES_READ, ClusterSnapshot, Engine, Node
from tui.rules.containers import PREDICT_UNKNOWN_RULE, host_version, predict_patch
from tui.winver import WindowsVersion

NOT_UP = ("Disabling", "Disabled", "Down", "Enabling")
KNOWN_STATUS = ("Up", *NOT_UP)
KNOWN_HEALTH = ("Ok", "Warning", "Error")

GateState = Literal["passed", "failed", "unknown"]
PASSED: GateState = "passed"
FAILED: GateState = "failed"
UNKNOWN: GateState = "unknown"


@dataclass(frozen=True)
class Gate:
    """One check before a step: passed, failed or unknown, and why (or what it saw)."""

    name: str
    state: GateState
    why: str

    @property
    def passed(self) -> bool:
        return self.state == PASSED


def _judged(name: str, ok: bool, why: str) -> Gate:
    return Gate(name, PASSED if ok else FAILED, why)


def disable_gates(
    snapshot: ClusterSnapshot, name: str, target: WindowsVersion | None = None
) -> tuple[Gate, ...]:
    """Before disabling: one upgrade domain at a time, seed quorum, cluster health, and
    whether patching to `target` afterwards will stop containers on this node."""
    node = _node(snapshot, name)
    gates = [_one_upgrade_domain(snapshot, node)]
    if node.is_seed:
        gates.append(_seed_quorum(snapshot, node))
    gates.append(_cluster_health(snapshot))
    gates.append(_survive_gate(snapshot, node, target))
    return tuple(gates)


def patch_gates(
    snapshot: ClusterSnapshot, name: str, target: WindowsVersion | None = None
) -> tuple[Gate, ...]:
    """Before patching a (disabled) node: will its containers start on the patched host?"""
    node = _node(snapshot, name)
    stale = _nodes_stale(snapshot)
    if stale:
        disabled = Gate("node-disabled", UNKNOWN, stale)
    else:
        disabled = _judged("node-disabled", node.status == "Disabled", f"{name} is {node.status}")
    return (disabled, _survive_gate(snapshot, node, target))


def enable_gates(snapshot: ClusterSnapshot, name: str) -> tuple[Gate, ...]:
    """Before enabling: the node is back, and its containers run on the patched host."""
    node = _node(snapshot, name)
    return (_node_back(snapshot, node), _containers_running(snapshot, node))


# ------------------------------------------------------------------ the gates


def _one_upgrade_domain(snapshot: ClusterSnapshot, node: Node) -> Gate:
    gate = "one-upgrade-domain"
    stale = _nodes_stale(snapshot)
    if stale:
        return Gate(gate, UNKNOWN, stale)
    others = [n for n in snapshot.nodes if n.upgrade_domain != node.upgrade_domain]
    elsewhere = [n for n in others if n.status in NOT_UP]
    if elsewhere:
        return Gate(gate, FAILED, _list("not Up in other upgrade domains", elsewhere))
    unknown = [n for n in others if n.status not in KNOWN_STATUS]
    if unknown:
        return Gate(gate, UNKNOWN, _list("status not known in other upgrade domains", unknown))
    return Gate(
        gate, PASSED, f"no node outside upgrade domain {node.upgrade_domain} is down or disabled"
    )


def _seed_quorum(snapshot: ClusterSnapshot, node: Node) -> Gate:
    gate = "seed-quorum"
    stale = _nodes_stale(snapshot)
    if stale:
        return Gate(gate, UNKNOWN, stale)
    seeds = [n for n in snapshot.nodes if n.is_seed and n.name != node.name]
    down = [n for n in seeds if n.status in NOT_UP]
    if down:
        return Gate(gate, FAILED, _list("other seed nodes not Up", down))
    unknown = [n for n in seeds if n.status not in KNOWN_STATUS]
    if unknown:
        return Gate(gate, UNKNOWN, _list("other seed nodes whose status is not known", unknown))
    return Gate(gate, PASSED, "every other seed node is Up")


def _cluster_health(snapshot: ClusterSnapshot) -> Gate:
    gate = "cluster-health"
    health = snapshot.health.aggregated
    if snapshot.unread("fabric", HEALTH_READ) or health not in KNOWN_HEALTH:
        return Gate(gate, UNKNOWN, f"cluster health was not read (it shows {health})")
    if health == "Error":
        why = "cluster health is Error: fix or understand it before taking capacity away"
        return Gate(gate, FAILED, why)
    return Gate(gate, PASSED, f"cluster health is {health}")


def _survive_gate(snapshot: ClusterSnapshot, node: Node, target: WindowsVersion | None) -> Gate:
    """Whether patching the node to `target` stops a container that runs on it now."""
    gate = "containers-survive-patch"
    engine, why_not = _current_engine(snapshot, node)
    if engine is None:
        return Gate(gate, UNKNOWN, f"{why_not}: cannot tell whether the patch stops its containers")
    running = [c for c in engine.containers if c.state in ("running", "")]
    if not running:
        return Gate(gate, PASSED, f"no container runs on {node.name}")
    if target is None:
        return Gate(
            gate,
            UNKNOWN,
            f"no patch target is known for node type {node.node_type}: cannot tell whether "
            f"its {len(running)} running containers start after the patch",
        )
    if host_version(engine) is None:
        return Gate(
            gate,
            UNKNOWN,
            f"{node.name}'s engine reported no host revision ({engine.os_version or 'none'}): "
            "cannot tell which containers the patch breaks",
        )
    findings = predict_patch(engine, target)
    breaks = [f for f in findings if f.severity == "error"]
    if breaks:
        return Gate(gate, FAILED, "; ".join(f.message for f in breaks))
    undecided = [f for f in findings if f.rule_id == PREDICT_UNKNOWN_RULE]
    if undecided:
        return Gate(gate, UNKNOWN, undecided[0].message)
    return Gate(gate, PASSED, f"no container on it is predicted to stop at {target}")


def _node_back(snapshot: ClusterSnapshot, node: Node) -> Gate:
    gate = "node-back"
    stale = _nodes_stale(snapshot)
    if stale:
        return Gate(gate, UNKNOWN, stale)
    if node.status == "Down":
        return Gate(gate, FAILED, f"{node.name} is Down: wait until it is back from its reboot")
    if node.status not in KNOWN_STATUS:
        return Gate(gate, UNKNOWN, f"{node.name}'s status is not known ({node.status or 'none'})")
    return Gate(gate, PASSED, f"{node.name} is {node.status}")


def _containers_running(snapshot: ClusterSnapshot, node: Node) -> Gate:
    gate = "containers-running"
    if node.status == "Down" and not _nodes_stale(snapshot):
        return Gate(gate, UNKNOWN, f"{node.name} is Down: its Docker engine cannot be read")
    engine, why_not = _current_engine(snapshot, node)
    if engine is None:
        return Gate(gate, UNKNOWN, why_not)
    stopped = [c for c in engine.containers if c.state != "running"]
    total = len(engine.containers)
    if stopped:
        names = ", ".join(c.name for c in stopped[:5])
        return Gate(gate, FAILED, f"{len(stopped)} of {total} containers not running: {names}")
    if not total:
        return Gate(gate, PASSED, f"no container on {node.name}'s engine")
    return Gate(gate, PASSED, f"all {total} containers running")


# ------------------------------------------------------------------ inputs


def _nodes_stale(snapshot: ClusterSnapshot) -> str:
    """Why the node statuses are not evidence (the list was not read this time), or ""."""
    if snapshot.unread("fabric", NODES_READ):
        return "the node list could not be read: the statuses shown are from an earlier read"
    return ""


def _current_engine(snapshot: ClusterSnapshot, node: Node) -> tuple[Engine | None, str]:
    """The node's engine if it was read under the node's current instance, else why not.

    An engine read before the node restarted (a reboot gives it a new InstanceId) describes a
    host that has changed since, so it is not evidence either."""
    stale = _nodes_stale(snapshot)
    if stale:
        return None, stale
    engine = snapshot.engines.get(node.name)
    if engine is None:
        return None, f"{node.name}'s Docker engine was not read"
    if not node.instance_id or engine.node_instance_id != node.instance_id:
        return None, (
            f"{node.name}'s Docker engine was read before the node's current instance "
            f"({node.instance_id or 'unknown'}) started"
        )
    return engine, ""


def _node(snapshot: ClusterSnapshot, name: str) -> Node:
    node = snapshot.node(name)
    if node is None:
        raise KeyError(name)
    return node


def _list(what: str, nodes: list[Node]) -> str:
    shown = ", ".join(f"{n.name} (UD {n.upgrade_domain}, {n.status})" for n in nodes[:5])
    more = f" and {len(nodes) - 5} more" if len(nodes) > 5 else ""
    return f"{what}: {shown}{more}"
