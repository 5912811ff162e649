"""Gates: what must hold before a node is disabled or enabled. Pure: a snapshot in, verdicts out.

A failed gate does not forbid the step (the engineer knows things sfpatch does not), but the
console shows it, asks for the node's name to be typed to go on, and the transcript records it.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.model import ClusterSnapshot, Finding, Node

NOT_UP = ("Disabling", "Disabled", "Down", "Enabling")


@dataclass(frozen=True)
class Gate:
    """One check before a step, and why it failed (or what it saw when it passed)."""

    name: str
    passed: bool
    why: str


def disable_gates(
    snapshot: ClusterSnapshot, name: str, findings: tuple[Finding, ...] = ()
) -> tuple[Gate, ...]:
    """Before disabling: one upgrade domain at a time, seed quorum, cluster health, and
    whether the patch that follows will stop containers on this node."""
    node = _node(snapshot, name)
    others = [n for n in snapshot.nodes if n.name != name]
    elsewhere = [
        n for n in others if n.upgrade_domain != node.upgrade_domain and n.status in NOT_UP
    ]
    gates = [
        Gate(
            "one-upgrade-domain",
            not elsewhere,
            _list("not Up in other upgrade domains", elsewhere)
            if elsewhere
            else f"no node outside upgrade domain {node.upgrade_domain} is down or disabled",
        )
    ]
    if node.is_seed:
        seeds_down = [n for n in others if n.is_seed and n.status != "Up"]
        gates.append(
            Gate(
                "seed-quorum",
                not seeds_down,
                _list("other seed nodes not Up", seeds_down)
                if seeds_down
                else "every other seed node is Up",
            )
        )
    health = snapshot.health.aggregated
    gates.append(
        Gate(
            "cluster-health",
            health != "Error",
            f"cluster health is {health}"
            + (": fix or understand it before taking capacity away" if health == "Error" else ""),
        )
    )
    gates.append(_survive_gate(name, findings))
    return tuple(gates)


def _survive_gate(name: str, findings: tuple[Finding, ...]) -> Gate:
    breaks = [
        f
        for f in findings
        if f.node == name and f.rule_id.startswith("predict.") and f.severity == "error"
    ]
    return Gate(
        "containers-survive-patch",
        not breaks,
        breaks[0].message if breaks else "no container on it is predicted to stop",
    )


def patch_gates(
    snapshot: ClusterSnapshot, name: str, findings: tuple[Finding, ...] = ()
) -> tuple[Gate, ...]:
    """Before patching a (disabled) node: will its containers start on the patched host?"""
    node = _node(snapshot, name)
    gates = [Gate("node-disabled", node.status == "Disabled", f"{name} is {node.status}")]
    gates.append(_survive_gate(name, findings))
    return tuple(gates)


def enable_gates(snapshot: ClusterSnapshot, name: str) -> tuple[Gate, ...]:
    """Before enabling: the node is back, and its containers run on the patched host."""
    node = _node(snapshot, name)
    gates = [
        Gate(
            "node-back",
            node.status != "Down",
            f"{name} is {node.status}"
            + (": wait until it is back from its reboot" if node.status == "Down" else ""),
        )
    ]
    engine = snapshot.engines.get(name)
    if engine is None:
        gates.append(Gate("containers-running", False, f"{name}'s Docker engine was not read"))
    else:
        stopped = [c for c in engine.containers if c.state != "running"]
        gates.append(
            Gate(
                "containers-running",
                not stopped,
                f"{len(stopped)} of {len(engine.containers)} containers not running: "
                + ", ".join(c.name for c in stopped[:5])
                if stopped
                else f"all {len(engine.containers)} containers running",
            )
        )
    return tuple(gates)


def _node(snapshot: ClusterSnapshot, name: str) -> Node:
    node = snapshot.node(name)
    if node is None:
        raise KeyError(name)
    return node


def _list(what: str, nodes: list[Node]) -> str:
    shown = ", ".join(f"{n.name} (UD {n.upgrade_domain}, {n.status})" for n in nodes[:5])
    more = f" and {len(nodes) - 5} more" if len(nodes) > 5 else ""
    return f"{what}: {shown}{more}"
