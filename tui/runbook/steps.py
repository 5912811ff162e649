"""What the console asks before a step on a node, or why it refuses to. Pure: no UI, no I/O.

One function per step keeps the wording, the preconditions and the gates of disable, patch
and enable together, where they can be tested with a table of snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.model import ClusterSnapshot
from tui.runbook.actions import Action, Disable, Enable, InstallUpdates
from tui.runbook.gates import Gate, disable_gates, enable_gates, patch_gates
from tui.winver import WindowsVersion


@dataclass(frozen=True)
class Question:
    """A confirmation to show: risky ones (a seed node, a gate not passed) need the node's
    name typed."""

    action: str
    node: str
    title: str
    details: str
    gates: tuple[Gate, ...]
    risky: bool
    step: Action  # what is sent if the engineer agrees


@dataclass(frozen=True)
class Refusal:
    """Why the step cannot be asked for now."""

    message: str


def ask(
    action: str,
    snapshot: ClusterSnapshot,
    name: str,
    target: WindowsVersion | None = None,
) -> Question | Refusal:
    """The question before `action` on node `name` (to be patched to `target`), or the reason
    not to ask at all."""
    node = snapshot.node(name)
    if node is None:
        return Refusal("Select a node first.")
    if action == "disable":
        if node.status in ("Disabling", "Disabled"):
            return Refusal(f"{name} is already {node.status}.")
        details = (
            f"Upgrade domain {node.upgrade_domain}, node type {node.node_type}, now "
            f"{node.status}.\nService Fabric moves or closes its replicas; patch it once it "
            "shows Disabled."
        )
        if node.is_seed:
            details += "\nThis is a SEED node: disabling waits for seed quorum."
        gates = disable_gates(snapshot, name, target)
        title = f"Disable {name} with intent Restart?"
        step: Action = Disable(name)
    elif action == "patch":
        instance = next((i for i in snapshot.instances if i.node_name == name), None)
        if instance is not None and instance.operation:
            return Refusal(
                f"ARM reports {instance.operation} still in progress on {name}'s VM "
                f"{instance.scale_set}/{instance.instance_id}: wait until it ends (r re-reads "
                "the VMs) before patching it again."
            )
        if node.status != "Disabled":
            return Refusal(
                f"{name} is {node.status}: disable it (d) and wait until it is Disabled before "
                "patching, so its replicas are closed or moved."
            )
        if instance is None:
            return Refusal(
                f"{name}'s VM is not known: the profile has no [arm] section, or ARM was not read."
            )
        gates = patch_gates(snapshot, name, target)
        title = f"Install Windows updates on {name}?"
        details = (
            f"Runs Windows Update inside VM {instance.scale_set}/{instance.instance_id} through "
            "Run Command. The VM reboots: the node goes Down and comes back.\n"
            + (f"Expected to reach {target}. " if target else "")
            + "This takes minutes; the console keeps refreshing."
        )
        step = InstallUpdates(name, instance.scale_set, instance.instance_id)
    elif action == "enable":
        if node.status not in ("Disabling", "Disabled", "Down"):
            return Refusal(f"{name} is {node.status}: nothing to enable.")
        gates = enable_gates(snapshot, name)
        title = f"Enable {name}?"
        details = f"Now {node.status}. Service Fabric places replicas on it again."
        step = Enable(name)
    else:
        raise ValueError(f"unknown step {action!r}")
    risky = node.is_seed or not all(g.passed for g in gates)
    return Question(action, name, title, details, gates, risky, step)
