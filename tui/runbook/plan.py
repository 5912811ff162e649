"""The plan: which nodes a run patches, in what order, each with its strategy and where it
starts. Pure: a snapshot and options in, planned nodes out.

Nodes go in upgrade-domain order, then by name, one at a time. A node already on its patch
target and Up is "nothing to do"; one found part-way (Disabled, Down) starts at the step it is
actually in, so a resumed run never repeats a mutation that already took effect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tui.errors import UsageError
from tui.model import ClusterSnapshot, Node, _ud_sort_key
from tui.runbook.strategies import DEFAULT_STRATEGY, STRATEGIES
from tui.winver import WindowsVersion, parse_version

# The steps of one node, in order. Waits are the steps named wait-*, check-* and settle.
STEPS = (
    "gates",
    "disable",
    "wait-disabled",
    "patch",
    "wait-rebooted",
    "check-host",
    "check-containers",
    "enable",
    "settle",
)
DONE = "done"


@dataclass(frozen=True)
class PlanOptions:
    """The subset a run covers (empty: every node) and a strategy for all of it."""

    nodes: tuple[str, ...] = ()
    node_types: tuple[str, ...] = ()
    upgrade_domains: tuple[str, ...] = ()
    strategy: str | None = None


@dataclass(frozen=True)
class PlannedNode:
    """One node of the plan: what it is, what it should become, and how."""

    name: str
    node_type: str
    upgrade_domain: str
    is_seed: bool
    host: WindowsVersion | None
    target: WindowsVersion | None
    strategy: str
    entry: str  # the step it starts at; DONE when there is nothing to do
    why: str  # why it starts there, in words

    @property
    def todo(self) -> bool:
        return self.entry != DONE


def host_version(snapshot: ClusterSnapshot, name: str) -> WindowsVersion | None:
    """The host's full Windows version: from its Docker engine, else from its VM's instance view."""
    texts = []
    engine = snapshot.engines.get(name)
    if engine is not None:
        texts.append(engine.os_version)
    texts += [i.os_version for i in snapshot.instances if i.node_name == name]
    for text in texts:
        try:
            version = parse_version(text) if text else None
        except UsageError:
            version = None
        if version is not None and version.revision is not None:
            return version
    return None


def entry_step(
    node: Node, host: WindowsVersion | None, target: WindowsVersion | None
) -> tuple[str, str]:
    """(step, why): where a node's procedure starts, judged from its live state."""
    on_target = host is not None and target is not None and host >= target
    if node.status == "Up":
        if on_target:
            return DONE, f"nothing to do: already on {host}"
        return "gates", f"on {host or 'an unknown revision'}, target {target}"
    if node.status == "Disabling":
        return "wait-disabled", "found Disabling: waiting for it to finish"
    if node.status == "Disabled":
        if on_target:
            return "check-containers", f"found Disabled on {host}: checking it before enabling"
        return "patch", "found Disabled: it is patched next"
    if node.status == "Down":
        return "wait-rebooted", "found Down: waiting for it to come back"
    if node.status == "Enabling":
        return "settle", "found Enabling: waiting for it to settle"
    return "gates", f"found {node.status}"


def plan_nodes(
    snapshot: ClusterSnapshot,
    targets: Mapping[str, WindowsVersion],
    options: PlanOptions = PlanOptions(),
    strategies: Mapping[str, str] | None = None,
    patches_in_flight: frozenset[str] = frozenset(),
) -> tuple[PlannedNode, ...]:
    """The nodes to patch in order; UsageError for a subset naming what the cluster lacks.

    `patches_in_flight` names nodes whose patch a crashed session sent without seeing its end:
    they wait for the patch to show rather than be sent another."""
    nodes = _select(snapshot.nodes, options)
    chosen = options.strategy
    if chosen is not None and chosen not in STRATEGIES:
        raise UsageError(f"unknown strategy {chosen!r}; known: {', '.join(sorted(STRATEGIES))}")
    planned = []
    for node in sorted(nodes, key=lambda n: (_ud_sort_key(n.upgrade_domain), n.name)):
        target = targets.get(node.node_type)
        host = host_version(snapshot, node.name)
        strategy = chosen or (strategies or {}).get(node.node_type, DEFAULT_STRATEGY)
        if target is None:
            entry, why = DONE, f"no patch target for node type {node.node_type}"
        else:
            entry, why = entry_step(node, host, target)
            if entry == "patch" and node.name in patches_in_flight:
                entry, why = "wait-rebooted", "its patch was sent before the crash: waiting for it"
        planned.append(
            PlannedNode(
                node.name,
                node.node_type,
                node.upgrade_domain,
                node.is_seed,
                host,
                target,
                strategy,
                entry,
                why,
            )
        )
    return tuple(planned)


def _select(nodes: Sequence[Node], options: PlanOptions) -> list[Node]:
    names = {n.name for n in nodes}
    _known("node", options.nodes, names)
    _known("node type", options.node_types, {n.node_type for n in nodes})
    _known("upgrade domain", options.upgrade_domains, {n.upgrade_domain for n in nodes})
    return [
        n
        for n in nodes
        if (not options.nodes or n.name in options.nodes)
        and (not options.node_types or n.node_type in options.node_types)
        and (not options.upgrade_domains or n.upgrade_domain in options.upgrade_domains)
    ]


def _known(what: str, given: Sequence[str], known: set[str]) -> None:
    unknown = [g for g in given if g not in known]
    if unknown:
        raise UsageError(
            f"no {what} {', '.join(unknown)} in this cluster (it has: "
            f"{', '.join(sorted(known, key=_ud_sort_key))})"
        )
