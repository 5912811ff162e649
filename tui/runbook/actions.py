"""The mutations the runbook sends, one typed object each: what it is, how it is recorded,
and the one gateway call that sends it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from tui.model import DISABLE_INTENT
from tui.runbook.ports import Gateway, Operation

# Windows Update inside the VM with the PSWindowsUpdate module, as operations teams commonly do;
# -AutoReboot restarts the VM when an update needs it.
PATCH_SCRIPT = (
    "Install-PackageProvider -Name NuGet -Force | Out-Null",
    "Install-Module PSWindowsUpdate -Force -Scope AllUsers",
    "Install-WindowsUpdate -MicrosoftUpdate -AcceptAll -AutoReboot -Verbose",
)


@dataclass(frozen=True)
class Disable:
    """Deactivate a node with intent Restart: its replicas close or move."""

    node: str
    action: ClassVar[str] = "disable"

    def describe(self) -> str:
        return f"disable {self.node} with intent {DISABLE_INTENT}"

    def params(self) -> Mapping[str, str]:
        return {"intent": DISABLE_INTENT}

    def send(self, gateway: Gateway) -> Operation | None:
        gateway.disable_node(self.node, DISABLE_INTENT)
        return None


@dataclass(frozen=True)
class Enable:
    """Activate a node again: Service Fabric places replicas on it."""

    node: str
    action: ClassVar[str] = "enable"

    def describe(self) -> str:
        return f"enable {self.node}"

    def params(self) -> Mapping[str, str]:
        return {}

    def send(self, gateway: Gateway) -> Operation | None:
        gateway.enable_node(self.node)
        return None


@dataclass(frozen=True)
class InstallUpdates:
    """Windows Update in the node's VM through Run Command; the VM reboots when it needs to."""

    node: str
    scale_set: str
    instance_id: str
    action: ClassVar[str] = "patch"

    def describe(self) -> str:
        return (
            f"install Windows updates on {self.node} ({self.scale_set}/{self.instance_id}); "
            "it reboots"
        )

    def params(self) -> Mapping[str, str]:
        return {
            "method": "windows-update",
            "scale_set": self.scale_set,
            "instance_id": self.instance_id,
        }

    def send(self, gateway: Gateway) -> Operation | None:
        return gateway.run_powershell(self.scale_set, self.instance_id, PATCH_SCRIPT)


@dataclass(frozen=True)
class SetImageVersion:
    """Point the scale set's model at an image version; no VM changes until it is upgraded."""

    node: str
    scale_set: str
    version: str
    action: ClassVar[str] = "set-image"

    def describe(self) -> str:
        return f"set the image of scale set {self.scale_set} to {self.version}"

    def params(self) -> Mapping[str, str]:
        return {"scale_set": self.scale_set, "version": self.version}

    def send(self, gateway: Gateway) -> Operation | None:
        return gateway.set_image_version(self.scale_set, self.version)


@dataclass(frozen=True)
class UpgradeInstance:
    """Manual upgrade of one VM to the scale set's model: a new image means a reimage."""

    node: str
    scale_set: str
    instance_id: str
    action: ClassVar[str] = "patch"

    def describe(self) -> str:
        return (
            f"upgrade {self.node} ({self.scale_set}/{self.instance_id}) to the scale set's "
            "model; its OS disk is reimaged"
        )

    def params(self) -> Mapping[str, str]:
        return {"method": "reimage", "scale_set": self.scale_set, "instance_id": self.instance_id}

    def send(self, gateway: Gateway) -> Operation | None:
        return gateway.upgrade_instances(self.scale_set, [self.instance_id])


Action = Disable | Enable | InstallUpdates | SetImageVersion | UpgradeInstance
