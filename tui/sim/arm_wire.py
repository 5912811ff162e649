"""ARM compute JSON shapes, field names exactly as on the wire (research: compute-docker-windows
section 1.4). Pure functions of the simulated state; no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tui.sim.arm_state import ArmInstance, ArmScaleSet, ArmState, Operation
from tui.sim.docker_wire import computer_name
from tui.sim.state import SimNode
from tui.winver import BUILD_NAMES

VM_AGENT_VERSION = "2.7.41491.1102"
SF_PUBLISHER = "Microsoft.Azure.ServiceFabric"
RUN_COMMAND_TYPE = "Microsoft.CPlat.Core.RunCommandWindows"
RUN_COMMAND_VERSION = "1.1.22"


def arm_time(moment: datetime) -> str:
    """ARM's timestamp format: seven fractional digits and an explicit offset."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0+00:00"


def scale_set_id(state: ArmState, scale_set: ArmScaleSet) -> str:
    scenario = state.scenario
    return (
        f"/subscriptions/{scenario.subscription}/resourceGroups/{scenario.resource_group}"
        f"/providers/Microsoft.Compute/virtualMachineScaleSets/{scale_set.name}"
    )


def _image_reference(scale_set: ArmScaleSet, exact: str) -> dict[str, Any]:
    spec = scale_set.node_type.scale_set
    return {
        "publisher": spec.image_publisher,
        "offer": spec.image_offer,
        "sku": spec.image_sku,
        "version": scale_set.image_version,
        "exactVersion": exact,
    }


def _sf_extension(state: ArmState, scale_set: ArmScaleSet) -> dict[str, Any]:
    spec = scale_set.node_type.scale_set
    return {
        "name": f"ServiceFabricNodeVmExt_{scale_set.name}",
        "properties": {
            "publisher": SF_PUBLISHER,
            "type": "ServiceFabricNode",
            "typeHandlerVersion": spec.sf_extension_version,
            "autoUpgradeMinorVersion": True,
            "settings": {
                "clusterEndpoint": f"https://{state.scenario.location}.servicefabric.azure.com"
                f"/runtime/clusters/{scale_set.unique_id}",
                "nodeTypeRef": scale_set.node_type.name,
                "dataPath": "D:\\\\SvcFab",
                "durabilityLevel": spec.sf_durability,
                "enableParallelJobs": True,
                "certificate": {"thumbprint": "0" * 40, "x509StoreName": "My"},
            },
            "provisioningState": "Succeeded",
        },
    }


def scale_set_json(state: ArmState, scale_set: ArmScaleSet) -> dict[str, Any]:
    """GET virtualMachineScaleSets/{name}: the model, trimmed to what patching needs."""
    spec = scale_set.node_type.scale_set
    busy = any(
        op.kind == "update" and op.status == "InProgress" for op in state.operations.values()
    )
    return {
        "id": scale_set_id(state, scale_set),
        "name": scale_set.name,
        "type": "Microsoft.Compute/virtualMachineScaleSets",
        "location": state.scenario.location,
        "sku": {"name": spec.vm_size, "tier": "Standard", "capacity": len(scale_set.instances)},
        "etag": f'"{scale_set.generation + 1}"',
        "properties": {
            "provisioningState": "Updating" if busy else "Succeeded",
            "uniqueId": scale_set.unique_id,
            "overprovision": False,
            "singlePlacementGroup": True,
            "orchestrationMode": "Uniform",
            "upgradePolicy": {
                "mode": scale_set.upgrade_mode,
                "rollingUpgradePolicy": _rolling_policy(),
                "automaticOSUpgradePolicy": {
                    "enableAutomaticOSUpgrade": scale_set.automatic_os_upgrade,
                    "disableAutomaticRollback": scale_set.disable_automatic_rollback,
                    "useRollingUpgradePolicy": False,
                    "osRollingUpgradeDeferral": False,
                },
            },
            "virtualMachineProfile": {
                "osProfile": {
                    "computerNamePrefix": scale_set.node_type.name,
                    "adminUsername": "sfadmin",
                    "windowsConfiguration": {
                        "provisionVMAgent": True,
                        "enableAutomaticUpdates": scale_set.enable_automatic_updates,
                        "patchSettings": {
                            "patchMode": scale_set.patch_mode,
                            "enableHotpatching": False,
                            "assessmentMode": "ImageDefault",
                        },
                    },
                    "secrets": [],
                },
                "storageProfile": {
                    "imageReference": _image_reference(scale_set, scale_set.image_exact),
                    "osDisk": {
                        "createOption": "FromImage",
                        "caching": "ReadOnly",
                        "managedDisk": {"storageAccountType": "StandardSSD_LRS"},
                    },
                },
                "extensionProfile": {"extensions": [_sf_extension(state, scale_set)]},
            },
        },
    }


def _rolling_policy() -> dict[str, Any]:
    return {
        "maxBatchInstancePercent": 20,
        "maxUnhealthyInstancePercent": 20,
        "maxUnhealthyUpgradedInstancePercent": 20,
        "pauseTimeBetweenBatches": "PT0S",
        "enableCrossZoneUpgrade": False,
        "prioritizeUnhealthyInstances": False,
        "rollbackFailedInstancesOnPolicyBreach": False,
        "maxSurge": False,
    }


def _status(code: str, display: str, time: str | None = None, **extra: str) -> dict[str, Any]:
    status: dict[str, Any] = {"code": code, "level": "Info", "displayStatus": display}
    if time:
        status["time"] = time
    status.update(extra)
    return status


def instance_view_json(
    state: ArmState, scale_set: ArmScaleSet, instance: ArmInstance, node: SimNode
) -> dict[str, Any]:
    """The VM's instance view; osVersion carries no UBR, as real Azure reports it."""
    now = arm_time(state.cluster.clock.now())
    host = node.host_version
    busy = instance.operation is not None
    provisioning = (
        _status("ProvisioningState/updating", "Updating")
        if busy
        else _status("ProvisioningState/succeeded", "Provisioning succeeded", now)
    )
    power = (
        _status("PowerState/running", "VM running")
        if node.host_up
        else _status("PowerState/starting", "VM starting")
    )
    agent = (
        _status(
            "ProvisioningState/succeeded",
            "Ready",
            now,
            message="GuestAgent is running and processing the extensions.",
        )
        if node.host_up
        else _status(
            "ProvisioningState/Unavailable",
            "Not Ready",
            now,
            message="VM status blob is found but not yet populated.",
        )
    )
    return {
        "platformUpdateDomain": int(node.upgrade_domain) if node.upgrade_domain.isdigit() else 0,
        "platformFaultDomain": int(node.fault_domain.rsplit("/", 1)[-1] or 0),
        "computerName": computer_name(node),
        "osName": f"{BUILD_NAMES.get(host.build, 'Windows Server')} Datacenter",
        "osVersion": f"Microsoft Windows NT {host.major}.{host.minor}.{host.build}.0",
        "vmAgent": {
            "vmAgentVersion": VM_AGENT_VERSION,
            "statuses": [agent],
            "extensionHandlers": [
                {
                    "type": f"{SF_PUBLISHER}.ServiceFabricNode",
                    "typeHandlerVersion": scale_set.node_type.scale_set.sf_extension_version,
                    "status": _status("ProvisioningState/succeeded", "Ready"),
                },
                *(
                    [
                        {
                            "type": RUN_COMMAND_TYPE,
                            "typeHandlerVersion": RUN_COMMAND_VERSION,
                            "status": _status("ProvisioningState/succeeded", "Ready"),
                        }
                    ]
                    if instance.run_command
                    else []
                ),
            ],
        },
        "extensions": [
            {
                "name": f"ServiceFabricNodeVmExt_{scale_set.name}",
                "type": f"{SF_PUBLISHER}.ServiceFabricNode",
                "typeHandlerVersion": scale_set.node_type.scale_set.sf_extension_version,
                "statuses": [_status("ProvisioningState/succeeded", "Provisioning succeeded")],
            },
            *_run_command_view(state, instance),
        ],
        "disks": [
            {
                "name": f"{scale_set.name}_{scale_set.name}_{instance.index}_OsDisk_1",
                "statuses": [_status("ProvisioningState/succeeded", "Provisioning succeeded")],
            }
        ],
        "statuses": [provisioning, power],
    }


def _run_command_view(state: ArmState, instance: ArmInstance) -> list[dict[str, Any]]:
    """The RunCommandWindows extension a run command installs on the VM: Transitioning while
    the script runs, then its outcome with the two output streams as substatuses."""
    operation = state.operations.get(instance.run_command or "")
    if operation is None:
        return []
    view: dict[str, Any] = {
        "name": "RunCommandWindows",
        "type": RUN_COMMAND_TYPE,
        "typeHandlerVersion": RUN_COMMAND_VERSION,
    }
    if operation.status == "InProgress":
        view["statuses"] = [_status("ProvisioningState/transitioning", "Transitioning")]
        return [view]
    ended = arm_time(state.cluster.clock.at(operation.ended or operation.started))
    if operation.error:
        view["statuses"] = [
            {
                **_status("ProvisioningState/failed", "Provisioning failed", ended),
                "level": "Error",
                "message": operation.error[1],
            }
        ]
    else:
        view["statuses"] = [
            _status(
                "ProvisioningState/succeeded",
                "Provisioning succeeded",
                ended,
                message="Finished executing command",
            )
        ]
        view["substatuses"] = list((operation.result or {}).get("value", []))
    return [view]


def vm_json(
    state: ArmState, scale_set: ArmScaleSet, instance: ArmInstance, with_view: bool
) -> dict[str, Any]:
    """One VMSS VM; `with_view` adds properties.instanceView ($expand=instanceView)."""
    node = state.node(instance)
    spec = scale_set.node_type.scale_set
    properties: dict[str, Any] = {
        "latestModelApplied": instance.generation == scale_set.generation,
        "vmId": instance.vm_id,
        "provisioningState": "Updating" if instance.operation else "Succeeded",
        "modelDefinitionApplied": "VirtualMachineScaleSet",
        "hardwareProfile": {"vmSize": spec.vm_size},
        "storageProfile": {"imageReference": _image_reference(scale_set, instance.image_exact)},
        "osProfile": {
            "computerName": computer_name(node),
            "adminUsername": "sfadmin",
            "windowsConfiguration": {
                "provisionVMAgent": True,
                "enableAutomaticUpdates": scale_set.enable_automatic_updates,
            },
        },
    }
    if with_view:
        properties["instanceView"] = instance_view_json(state, scale_set, instance, node)
    base = scale_set_id(state, scale_set)
    return {
        "id": f"{base}/virtualMachines/{instance.index}",
        "name": f"{scale_set.name}_{instance.index}",
        "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
        "instanceId": str(instance.index),
        "location": state.scenario.location,
        "sku": {"name": spec.vm_size, "tier": "Standard"},
        "properties": properties,
        "resources": [
            {
                "id": f"{base}/virtualMachines/{instance.index}/extensions/"
                f"ServiceFabricNodeVmExt_{scale_set.name}",
                "name": f"ServiceFabricNodeVmExt_{scale_set.name}",
                "properties": {
                    "publisher": SF_PUBLISHER,
                    "type": "ServiceFabricNode",
                    "typeHandlerVersion": spec.sf_extension_version,
                },
            }
        ],
    }


def operation_json(state: ArmState, operation: Operation) -> dict[str, Any]:
    """The Azure-AsyncOperation status monitor body."""
    clock = state.cluster.clock
    body: dict[str, Any] = {
        "name": operation.id,
        "status": operation.status,
        "startTime": arm_time(clock.at(operation.started)),
    }
    if operation.ended is not None:
        body["endTime"] = arm_time(clock.at(operation.ended))
    if operation.error:
        body["error"] = {"code": operation.error[0], "message": operation.error[1]}
    return body


def rolling_upgrade_json(state: ArmState, scale_set: ArmScaleSet) -> dict[str, Any]:
    """GET rollingUpgrades/latest: running status and per-instance progress by batch."""
    rolling = scale_set.rolling
    assert rolling is not None
    operation = state.operations[rolling.operation]
    clock = state.cluster.clock
    now = clock.elapsed()
    done = in_progress = pending = failed = 0
    for start, end, members in rolling.batches:
        if end <= now:
            done += len(members)
        elif start <= now:
            in_progress += len(members)
        else:
            pending += len(members)
    running: dict[str, Any] = {
        "code": {"InProgress": "RollingForward", "Succeeded": "Completed"}.get(
            operation.status, "Faulted"
        ),
        "startTime": arm_time(clock.at(rolling.started)),
        "lastAction": "Start",
        "lastActionTime": arm_time(clock.at(rolling.last_action_time)),
    }
    properties: dict[str, Any] = {
        "policy": _rolling_policy(),
        "runningStatus": running,
        "progress": {
            "successfulInstanceCount": done,
            "failedInstanceCount": failed,
            "inProgressInstanceCount": in_progress,
            "pendingInstanceCount": pending,
        },
    }
    if operation.error:
        properties["error"] = {"code": operation.error[0], "message": operation.error[1]}
    return {
        "id": f"{scale_set_id(state, scale_set)}/rollingUpgrades/latest",
        "name": "latest",
        "type": "Microsoft.Compute/virtualMachineScaleSets/rollingUpgrades",
        "location": state.scenario.location,
        "properties": properties,
    }
