"""ARM compute's view of the simulated cluster: one scale set per node type, its model, its
instances' OS disks, and the long-running operations that patch them.

Host effects go through SimCluster.reboot_host, so the Service Fabric node and the Docker
engine see every reboot. Operations end at a due time on the simulated clock: a status read
after `cluster.advance()` tells whether the work is done. Callers hold `cluster.lock`.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tui.sim import arm_scripts
from tui.sim.docker_wire import computer_name
from tui.sim.scenario import NodeTypeSpec
from tui.sim.state import SimCluster, SimNode
from tui.winver import WindowsVersion, version_from_image_exact_version

# Marketplace image dates (the third field of exactVersion) for the revisions the shipped
# scenarios use; any other revision gets FALLBACK_IMAGE_DATE.
IMAGE_DATES = {
    (14393, 1770): "171010",
    (14393, 1944): "171212",
    (17763, 5576): "240306",
    (17763, 6054): "240703",
    (17763, 6189): "240811",
}
FALLBACK_IMAGE_DATE = "240101"
FAIL_CODE = "InternalExecutionError"


class ArmError(Exception):
    """A request ARM refuses: HTTP status plus the `{"error": {"code", "message"}}` body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def image_version_for(version: WindowsVersion) -> str:
    """The marketplace exactVersion an image of this Windows version carries."""
    date = IMAGE_DATES.get((version.build, version.revision or 0), FALLBACK_IMAGE_DATE)
    return f"{version.build}.{version.revision or 0}.{date}"


@dataclass
class ArmInstance:
    """One VM of a scale set: the image its OS disk came from and the model it runs."""

    index: int
    node_name: str
    vm_id: str
    image_exact: str
    generation: int
    operation: str | None = None  # id of the operation that owns this VM right now
    run_command: str | None = None  # id of the last run command, shown in the instance view


@dataclass
class ArmScaleSet:
    """A scale set's model (mutable through PATCH) and its instances."""

    name: str
    node_type: NodeTypeSpec
    unique_id: str
    upgrade_mode: str
    automatic_os_upgrade: bool
    disable_automatic_rollback: bool
    enable_automatic_updates: bool
    patch_mode: str
    image_version: str
    image_exact: str
    generation: int = 0
    instances: dict[int, ArmInstance] = field(default_factory=dict)
    rolling: RollingUpgrade | None = None

    @property
    def latest_image(self) -> str:
        """The newest image the publisher offers for this SKU: the node type's patch_target."""
        return image_version_for(self.node_type.patch_target)


@dataclass
class RollingUpgrade:
    """An OS rolling upgrade: batches (one per upgrade domain) with their simulated times."""

    operation: str
    started: float
    batches: list[tuple[float, float, tuple[int, ...]]]
    last_action_time: float


@dataclass
class Operation:
    """A long-running operation, as the status monitor and the Location target report it."""

    id: str
    kind: str
    started: float
    due: float
    status: str = "InProgress"
    error: tuple[str, str] | None = None
    result: dict[str, Any] | None = None
    ended: float | None = None
    location: bool = False  # answered with a Location: a success is read there last


class ArmState:
    """The scale sets of one simulated cluster and the operations running on them."""

    def __init__(self, cluster: SimCluster) -> None:
        self.cluster = cluster
        self.scenario = cluster.scenario
        self.scale_sets: dict[str, ArmScaleSet] = {}
        self.operations: dict[str, Operation] = {}
        self._ids = itertools.count(1)
        for node_type in self.scenario.node_types:
            spec = node_type.scale_set
            model_image = image_version_for(node_type.host_version)
            scale_set = ArmScaleSet(
                name=spec.name,
                node_type=node_type,
                unique_id=_guid_from(cluster, spec.name),
                upgrade_mode=spec.upgrade_mode,
                automatic_os_upgrade=spec.automatic_os_upgrade,
                disable_automatic_rollback=spec.disable_automatic_rollback,
                enable_automatic_updates=spec.enable_automatic_updates,
                patch_mode=spec.patch_mode,
                image_version=spec.image_version,
                image_exact=model_image,
            )
            for index in range(node_type.instances):
                node = cluster.node(f"_{node_type.name}_{index}")
                scale_set.instances[index] = ArmInstance(
                    index=index,
                    node_name=node.name,
                    vm_id=_guid_from(cluster, node.name),
                    image_exact=image_version_for(node.host_version),
                    generation=0,
                )
            self.scale_sets[spec.name.lower()] = scale_set

    # ------------------------------------------------------------------ lookups

    def scale_set(self, name: str) -> ArmScaleSet:
        found = self.scale_sets.get(name.lower())
        if found is None:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Compute/virtualMachineScaleSets/{name}' under resource "
                f"group '{self.scenario.resource_group}' was not found.",
            )
        return found

    def instance(self, scale_set: ArmScaleSet, instance_id: str) -> ArmInstance:
        found = scale_set.instances.get(int(instance_id)) if instance_id.isdigit() else None
        if found is None:
            raise ArmError(
                404,
                "NotFound",
                f"The entity was not found in this Azure location. (virtual machine "
                f"{scale_set.name}_{instance_id})",
            )
        return found

    def node(self, instance: ArmInstance) -> SimNode:
        return self.cluster.node(instance.node_name)

    def operation(self, op_id: str) -> Operation:
        self.cluster.advance()
        found = self.operations.get(op_id)
        if found is None:
            raise ArmError(404, "NotFound", f"Operation {op_id} was not found.")
        return found

    # ------------------------------------------------------------------ operations

    def restart(self, scale_set: ArmScaleSet, instance_ids: list[str]) -> Operation:
        """Reboot the VMs: the SF nodes go Down and come back with a new InstanceId."""
        instances = self._claim_all(scale_set, instance_ids)

        def work() -> float:
            for instance in instances:
                self.cluster.reboot_host(instance.node_name)
            return self.scenario.timing.restart

        return self._start("restart", instances, work)

    def reimage(
        self, scale_set: ArmScaleSet, instance_ids: list[str], exact_version: str | None
    ) -> Operation:
        """Reimage the OS disks: to exact_version, or to the image each disk already has."""
        image = self._check_image(scale_set, exact_version) if exact_version else None
        instances = self._claim_all(scale_set, instance_ids)

        def work() -> float:
            for instance in instances:
                self._reimage(scale_set, instance, image or instance.image_exact, 0.0)
            return self.scenario.timing.reimage + self.scenario.timing.restart

        return self._start("reimage", instances, work)

    def manual_upgrade(self, scale_set: ArmScaleSet, instance_ids: list[str]) -> Operation:
        """Bring the instances to the latest model; a new image means a reimage."""
        if not instance_ids:
            raise ArmError(400, "InvalidParameter", "instanceIds must name at least one VM.")
        instances = self._claim_all(scale_set, instance_ids)

        def work() -> float:
            timing = self.scenario.timing
            longest = timing.arm_operation
            for instance in instances:
                if instance.generation == scale_set.generation:
                    continue
                if instance.image_exact != scale_set.image_exact:
                    self._reimage(scale_set, instance, scale_set.image_exact, 0.0)
                    longest = max(longest, timing.reimage + timing.restart)
                else:
                    instance.generation = scale_set.generation
            return longest

        return self._start("manualupgrade", instances, work)

    def run_command(
        self, scale_set: ArmScaleSet, instance_id: str, command_id: str, script: list[str]
    ) -> Operation:
        """RunPowerShellScript: installs updates, reboots, or reads (see arm_scripts)."""
        if command_id.lower() != "runpowershellscript":
            raise ArmError(
                404, "NotFound", f"The entity was not found in this Azure location. ({command_id})"
            )
        instance = self.instance(scale_set, instance_id)
        node = self.node(instance)
        last = self.operations.get(instance.run_command or "")
        if last is not None and last.status == "InProgress":
            # What ARM answers while the RunCommandWindows extension still runs a script
            # (Azure/azure-cli#19137, MicrosoftDocs/azure-docs#43356).
            raise ArmError(
                409,
                "Conflict",
                "Run command extension execution is in progress. Please wait for completion "
                "before invoking a run command.",
            )
        if not node.host_up:
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Run command cannot run on {scale_set.name}_{instance.index}: the VM agent is "
                "not ready (the VM is starting).",
            )
        instances = self._claim_all(scale_set, [instance_id])
        text = "\n".join(script)
        computer = computer_name(node)

        def work() -> tuple[float, dict[str, Any]]:
            timing = self.scenario.timing
            kind = arm_scripts.classify(text)
            before = node.host_version
            if kind == "install":
                after = max(before, node.patch_target)
                stdout = arm_scripts.install_output(before, after)
                if after == before:
                    return timing.arm_operation, run_command_result(stdout)
                self.cluster.reboot_host(node.name, timing.install_updates, after)
                return timing.install_updates + timing.restart, run_command_result(stdout)
            if kind == "reboot":
                self.cluster.reboot_host(node.name)
                return timing.restart, run_command_result("")
            stdout = arm_scripts.read_output(text, before, computer)
            return timing.arm_operation, run_command_result(stdout)

        operation = self._start("runCommand", instances, work)
        instance.run_command = operation.id
        return operation

    def os_rolling_upgrade(self, scale_set: ArmScaleSet) -> Operation:
        """Move every instance not on the latest image to it, one upgrade domain per batch."""
        if scale_set.image_version.lower() != "latest":
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"OS rolling upgrade needs imageReference.version 'latest' on {scale_set.name} "
                f"(it is {scale_set.image_version!r}).",
            )
        running = scale_set.rolling and self.operations[scale_set.rolling.operation]
        if running and running.status == "InProgress":
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"A rolling upgrade is already running on {scale_set.name}.",
            )
        latest = scale_set.latest_image
        by_domain: dict[str, list[ArmInstance]] = {}
        for instance in scale_set.instances.values():
            if instance.image_exact != latest:
                by_domain.setdefault(self.node(instance).upgrade_domain, []).append(instance)
        instances = [i for ud in by_domain.values() for i in ud]
        self._check_free(scale_set, instances)
        timing = self.scenario.timing
        batch_seconds = timing.reimage + timing.restart
        fails = self.cluster.faults.active("arm-fail", "osRollingUpgrade")

        def work() -> float:
            now = self.cluster.clock.elapsed()
            batches: list[tuple[float, float, tuple[int, ...]]] = []
            scale_set.rolling = RollingUpgrade(op_id, now, batches, now)
            if fails:
                return timing.arm_operation
            scale_set.image_exact = latest
            for number, domain in enumerate(sorted(by_domain, key=_domain_key)):
                start = number * batch_seconds
                members = by_domain[domain]
                for instance in members:
                    self._reimage(scale_set, instance, latest, start)
                batches.append(
                    (now + start, now + start + batch_seconds, tuple(i.index for i in members))
                )
            if not batches:
                for instance in scale_set.instances.values():
                    instance.generation = scale_set.generation
            return max(timing.arm_operation, len(batches) * batch_seconds)

        op_id = self._next_id()
        return self._start("osRollingUpgrade", instances, work, op_id=op_id, always_work=True)

    def update_model(self, scale_set: ArmScaleSet, patch: dict[str, Any]) -> Operation:
        """PATCH the model. A changed virtualMachineProfile makes every instance out of date."""
        changes = self._model_changes(scale_set, patch)

        def work() -> float:
            profile_changed = False
            for attribute, value, in_profile in changes:
                if getattr(scale_set, attribute) != value:
                    setattr(scale_set, attribute, value)
                    profile_changed |= in_profile
            if profile_changed:
                scale_set.generation += 1
            return self.scenario.timing.arm_operation

        return self._start("update", [], work)

    # ------------------------------------------------------------------ internals

    def _next_id(self) -> str:
        return f"{next(self._ids):08x}-5f1a-4c3e-9a7b-{self.cluster.scenario.seed:012x}"

    def _claim_all(self, scale_set: ArmScaleSet, instance_ids: list[str]) -> list[ArmInstance]:
        if not instance_ids:
            instances = list(scale_set.instances.values())
        else:
            instances = [self.instance(scale_set, str(i)) for i in dict.fromkeys(instance_ids)]
        self._check_free(scale_set, instances)
        return instances

    def _check_free(self, scale_set: ArmScaleSet, instances: list[ArmInstance]) -> None:
        for instance in instances:
            if instance.operation is not None:
                kind = self.operations[instance.operation].kind
                raise ArmError(
                    409,
                    "OperationNotAllowed",
                    f"Operation cannot be started on VM {scale_set.name}_{instance.index} "
                    f"while operation '{kind}' is in progress on it.",
                )

    def _start(
        self,
        kind: str,
        instances: list[ArmInstance],
        work: Callable[[], float | tuple[float, dict[str, Any]]],
        op_id: str | None = None,
        always_work: bool = False,
    ) -> Operation:
        """Run `work` (unless the arm-fail fault names this operation) and queue the end."""
        op_id = op_id or self._next_id()
        now = self.cluster.clock.elapsed()
        fails = self.cluster.faults.active("arm-fail", kind)
        result = None
        if fails and not always_work:
            seconds: float = self.scenario.timing.arm_operation
        else:
            answer = work()
            seconds, result = answer if isinstance(answer, tuple) else (answer, None)
        if fails:
            seconds = self.scenario.timing.arm_operation
        operation = Operation(op_id, kind, now, now + seconds, result=result)
        self.operations[op_id] = operation
        for instance in instances:
            instance.operation = op_id

        def finish() -> None:
            operation.ended = self.cluster.clock.elapsed()
            self.cluster.lro_reads.ended(op_id)
            for instance in instances:
                if instance.operation == op_id:
                    instance.operation = None
            if fails:
                operation.status = "Failed"
                operation.error = (
                    FAIL_CODE,
                    f"An internal execution error occurred during '{kind}' "
                    f"(simulated by the fault arm-fail:{kind}).",
                )
            else:
                operation.status = "Succeeded"

        self.cluster.schedule(seconds, finish)
        return operation

    def _reimage(
        self, scale_set: ArmScaleSet, instance: ArmInstance, image: str, delay: float
    ) -> None:
        """Reimage one VM `delay` seconds from now; it takes timing.reimage, then reboots."""
        version = version_from_image_exact_version(image)
        self.cluster.reboot_host(instance.node_name, delay + self.scenario.timing.reimage, version)
        total = delay + self.scenario.timing.reimage + self.scenario.timing.restart

        def done() -> None:
            instance.image_exact = image
            if image == scale_set.image_exact:
                instance.generation = scale_set.generation

        self.cluster.schedule(total, done)

    def _check_image(self, scale_set: ArmScaleSet, exact_version: str) -> str:
        node_type = scale_set.node_type
        version = version_from_image_exact_version(exact_version)
        if version is None or version.build != node_type.host_version.build:
            raise ArmError(
                400,
                "InvalidParameter",
                f"The value '{exact_version}' of parameter 'exactVersion' is not valid for "
                f"image sku '{node_type.scale_set.image_sku}' (expected "
                f"{node_type.host_version.build}.<revision>.<yymmdd>).",
            )
        if version > node_type.patch_target:
            raise ArmError(
                404,
                "PlatformImageNotFound",
                f"The platform image '{node_type.scale_set.image_publisher}:"
                f"{node_type.scale_set.image_offer}:{node_type.scale_set.image_sku}:"
                f"{exact_version}' is not available.",
            )
        return exact_version

    def _model_changes(
        self, scale_set: ArmScaleSet, patch: dict[str, Any]
    ) -> list[tuple[str, Any, bool]]:
        """(attribute, new value, is it in virtualMachineProfile) for the fields sfpatch sets."""
        props = _dict(patch.get("properties"))
        policy = _dict(props.get("upgradePolicy"))
        auto = _dict(policy.get("automaticOSUpgradePolicy"))
        profile = _dict(props.get("virtualMachineProfile"))
        windows = _dict(_dict(profile.get("osProfile")).get("windowsConfiguration"))
        image = _dict(_dict(profile.get("storageProfile")).get("imageReference"))
        changes: list[tuple[str, Any, bool]] = []
        if "mode" in policy:
            if policy["mode"] not in ("Manual", "Automatic", "Rolling"):
                raise _invalid("upgradePolicy.mode", policy["mode"])
            changes.append(("upgrade_mode", policy["mode"], False))
        for key, attribute in (
            ("enableAutomaticOSUpgrade", "automatic_os_upgrade"),
            ("disableAutomaticRollback", "disable_automatic_rollback"),
        ):
            if key in auto:
                changes.append((attribute, _bool(auto[key], key), False))
        if "enableAutomaticUpdates" in windows:
            changes.append(
                (
                    "enable_automatic_updates",
                    _bool(windows["enableAutomaticUpdates"], "enableAutomaticUpdates"),
                    True,
                )
            )
        patch_mode = _dict(windows.get("patchSettings")).get("patchMode")
        if patch_mode is not None:
            if patch_mode not in ("Manual", "AutomaticByOS", "AutomaticByPlatform"):
                raise _invalid("patchSettings.patchMode", patch_mode)
            changes.append(("patch_mode", patch_mode, True))
        version = image.get("version")
        if version is not None:
            if not isinstance(version, str):
                raise _invalid("imageReference.version", version)
            if version.lower() == "latest":
                exact = scale_set.latest_image
            else:
                exact = self._check_image(scale_set, version)
            changes.append(("image_version", version, True))
            changes.append(("image_exact", exact, True))
        return changes


def run_command_result(stdout: str, stderr: str = "") -> dict[str, Any]:
    """RunCommandResult as the wire carries it: one status per stream."""
    return {
        "value": [
            {
                "code": "ComponentStatus/StdOut/succeeded",
                "level": "Info",
                "displayStatus": "Provisioning succeeded",
                "message": arm_scripts.truncate(stdout),
            },
            {
                "code": "ComponentStatus/StdErr/succeeded",
                "level": "Info",
                "displayStatus": "Provisioning succeeded",
                "message": arm_scripts.truncate(stderr),
            },
        ]
    }


def _guid_from(cluster: SimCluster, name: str) -> str:
    digest = hashlib.sha256(f"{cluster.scenario.seed}:{name}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _domain_key(name: str) -> tuple[int, str]:
    return (int(name), "") if name.isdigit() else (1 << 30, name)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise _invalid(key, value)
    return value


def _invalid(key: str, value: Any) -> ArmError:
    return ArmError(
        400, "InvalidParameter", f"The value {value!r} of parameter '{key}' is invalid."
    )
