"""How a disabled node gets its patch: one class per strategy, registered in STRATEGIES.

A strategy only says which mutations to send (in order) and what the engine then waits for;
the engine sends them through the operator, so each is gated, recorded and write-ahead.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from tui.model import Instance
from tui.runbook.actions import Action, InstallUpdates, SetImageVersion, UpgradeInstance
from tui.winver import WindowsVersion

DEFAULT_STRATEGY = "windows-update"


class PatchStrategy(ABC):
    """One way to bring a node's host to its patch target."""

    name: ClassVar[str]
    summary: ClassVar[str]
    needs_vm: ClassVar[bool] = True  # whether it acts on the node's scale set VM through ARM

    @abstractmethod
    def actions(
        self, instance: Instance | None, target: WindowsVersion | None
    ) -> tuple[Action, ...]:
        """The mutations that patch the node, in the order they are sent."""

    def awaiting(self, target: WindowsVersion | None) -> str:
        """What the engine waits for once the actions are sent, in words."""
        return f"the host to reboot onto {target}" if target else "the host to reboot"


class WindowsUpdate(PatchStrategy):
    name = "windows-update"
    summary = "ARM Run Command installs Windows updates in the VM, which reboots"

    def actions(
        self, instance: Instance | None, target: WindowsVersion | None
    ) -> tuple[Action, ...]:
        assert instance is not None  # needs_vm: the engine pauses before when there is none
        return (InstallUpdates(instance.node_name, instance.scale_set, instance.instance_id),)


class Reimage(PatchStrategy):
    name = "reimage"
    summary = (
        "set the scale set model's image to the latest version, then manually upgrade "
        "(reimage) this one instance"
    )

    def actions(
        self, instance: Instance | None, target: WindowsVersion | None
    ) -> tuple[Action, ...]:
        assert instance is not None
        # "latest" is the newest marketplace image; the host check after the reboot proves it
        # is the target. The model change moves no VM while the scale set is Manual.
        return (
            SetImageVersion(instance.node_name, instance.scale_set, "latest"),
            UpgradeInstance(instance.node_name, instance.scale_set, instance.instance_id),
        )


class Manual(PatchStrategy):
    name = "manual"
    summary = "the engineer patches the host outside sfpatch; the engine waits for the revision"
    needs_vm = False

    def actions(
        self, instance: Instance | None, target: WindowsVersion | None
    ) -> tuple[Action, ...]:
        return ()

    def awaiting(self, target: WindowsVersion | None) -> str:
        return f"the host to be patched by hand to {target or 'its target'}"


STRATEGIES: Mapping[str, PatchStrategy] = MappingProxyType(
    {s.name: s for s in (WindowsUpdate(), Reimage(), Manual())}
)
