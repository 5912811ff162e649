"""Every mutation sfpatch can send to a cluster, in one place.

A read-write Gateway sends a mutation only while it holds the cluster lease: right before each
one, a property batch checks that the lease's sequence number is still the one this gateway
wrote, so a session whose lease was taken over sends nothing. A read-only session is built with
ReadOnlyGateway, which has no client to send with: no key, command or bug can mutate a cluster
an observer is watching.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from azure.servicefabric import models

from tui.cluster import compute, fabric, lease
from tui.errors import ClusterError, ReadOnlyError
from tui.model import DISABLE_INTENT


class Gateway:
    """Read-write access: disable, enable and restart nodes, scale-set operations, the lease."""

    read_only = False

    def __init__(self, client: Any, compute_client: Any = None, resource_group: str = "") -> None:
        self._client = client
        self._compute = compute_client
        self._resource_group = resource_group
        self._lease: lease.HeldLease | None = None
        self._lease_lock = threading.Lock()  # the poll's renewal and an action's check

    @property
    def held_lease(self) -> lease.HeldLease | None:
        """The lease this gateway holds (None before it took one, after release or loss)."""
        return self._lease

    def disable_node(self, name: str, intent: str = DISABLE_INTENT) -> None:
        self._send(f"disable {name}", self._client.disable_node, name, deactivation_intent=intent)

    def enable_node(self, name: str) -> None:
        self._send(f"enable {name}", self._client.enable_node, name)

    def restart_node(self, name: str, instance_id: str = "0") -> None:
        self._send(f"restart {name}", self._client.restart_node, name, node_instance_id=instance_id)

    def _send(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._hold_lease(what)
        return fabric.call(what, fn, *args, **kwargs)

    # ------------------------------------------------------------------ scale sets (ARM)
    # Each starts a long-running operation and returns at once; wait with .result().

    def restart_instance(self, scale_set: str, instance_id: str) -> compute.ComputeOperation:
        """Reboot one VM: its Service Fabric node goes Down and returns."""
        return self._begin(
            f"restart {scale_set}/{instance_id}",
            lambda vms, rg: vms.begin_restart(rg, scale_set, instance_id),
        )

    def reimage_instance(
        self, scale_set: str, instance_id: str, exact_version: str | None = None
    ) -> compute.ComputeOperation:
        """Reimage one VM's OS disk, to `exact_version` (e.g. 17763.6189.240811) if given."""
        body = {"exactVersion": exact_version} if exact_version else None
        return self._begin(
            f"reimage {scale_set}/{instance_id}",
            lambda vms, rg: vms.begin_reimage(
                rg, scale_set, instance_id, vm_scale_set_vm_reimage_input=body
            ),
        )

    def upgrade_instances(
        self, scale_set: str, instance_ids: Sequence[str]
    ) -> compute.ComputeOperation:
        """Manual upgrade: bring the VMs to the scale set's latest model."""
        ids = {"instanceIds": list(instance_ids)}
        return self._begin(
            f"upgrade {scale_set}/{','.join(instance_ids)} to the latest model",
            lambda vms, rg: self._compute.virtual_machine_scale_sets.begin_update_instances(
                rg, scale_set, ids
            ),
        )

    def run_powershell(
        self, scale_set: str, instance_id: str, script: str | Sequence[str]
    ) -> compute.ComputeOperation:
        """RunPowerShellScript on one VM; .result() is a CommandOutput."""
        lines = script.splitlines() if isinstance(script, str) else list(script)
        body = {"commandId": "RunPowerShellScript", "script": lines}
        return self._begin(
            f"run command on {scale_set}/{instance_id}",
            lambda vms, rg: vms.begin_run_command(rg, scale_set, instance_id, body),
            convert=compute.command_output,
        )

    def start_os_rolling_upgrade(self, scale_set: str) -> compute.ComputeOperation:
        """Move every VM to the latest platform image, upgrade domain by upgrade domain."""
        return self._begin(
            f"OS rolling upgrade of {scale_set}",
            lambda vms, rg: (
                self._compute.virtual_machine_scale_set_rolling_upgrades.begin_start_os_upgrade(
                    rg, scale_set
                )
            ),
        )

    def set_image_version(self, scale_set: str, version: str) -> compute.ComputeOperation:
        """PATCH the model's imageReference.version ("latest" or e.g. 17763.6189.240811)."""
        body = {
            "properties": {
                "virtualMachineProfile": {
                    "storageProfile": {"imageReference": {"version": version}}
                }
            }
        }
        return self._begin(
            f"set the image of {scale_set} to {version}",
            lambda vms, rg: self._compute.virtual_machine_scale_sets.begin_update(
                rg, scale_set, body
            ),
            convert=compute.scale_set_from_sdk,
        )

    def _begin(
        self,
        what: str,
        start: Callable[[Any, str], Any],
        convert: Callable[[Any], Any] | None = None,
    ) -> compute.ComputeOperation:
        if self._compute is None:
            raise ClusterError(f"{what}: this profile has no [arm] section")
        self._hold_lease(what)
        vms = self._compute.virtual_machine_scale_set_vms
        poller = compute.call(what, start, vms, self._resource_group)
        return compute.ComputeOperation(what, poller, convert)

    # ------------------------------------------------------------------ lease (see lease.py)

    def read_lease(self, cluster_name: str) -> lease.LeaseState | None:
        """The cluster's lease as it is now; None when there is none."""
        return read_lease(self._client, cluster_name)

    def acquire_lease(
        self,
        cluster_name: str,
        holder: str,
        session_id: str,
        ttl_seconds: float = lease.DEFAULT_TTL_SECONDS,
        now: datetime | None = None,
        expected: lease.LeaseState | None = None,
    ) -> lease.HeldLease:
        """Take the cluster's lease if it is free, expired or ours; LeaseHeld otherwise.

        With `expected` (what read_lease returned), take it only if it is still exactly that."""
        now = now or datetime.now(UTC)
        name = lease.lease_name(cluster_name)
        with self._lease_lock:
            self._ensure_name(name)
            current = expected or self._read_lease(name)
            previous = None
            if current is None:
                guard: Any = models.CheckExistsPropertyBatchOperation(
                    property_name=lease.LEASE_PROPERTY, exists=False
                )
            else:
                record = current.record
                if record is not None and not lease.may_take(record, holder, session_id, now):
                    raise lease.LeaseHeld(
                        f"{cluster_name} is leased by {lease.describe(record)}", record
                    )
                guard = _check_sequence(current.sequence_number)
                if not lease.is_ours(record, holder, session_id):
                    previous = record
            held = self._write_lease(
                name, guard, lease.new_record(holder, session_id, now, ttl_seconds), previous
            )
            if held is None:  # another session wrote between our read and our batch
                winner = self._read_lease(name)
                record = winner.record if winner else None
                who = lease.describe(record) if record else "another session"
                raise lease.LeaseHeld(f"{cluster_name} was just leased by {who}", record)
            self._lease = held
            return held

    def renew_lease(
        self,
        held: lease.HeldLease,
        ttl_seconds: float = lease.DEFAULT_TTL_SECONDS,
        now: datetime | None = None,
    ) -> lease.HeldLease:
        """Push the expiry forward, if the lease is still the one we wrote; LeaseLost otherwise."""
        record = lease.new_record(
            held.record.holder, held.record.session_id, now or datetime.now(UTC), ttl_seconds
        )
        with self._lease_lock:
            renewed = self._write_lease(held.name, _check_sequence(held.sequence_number), record)
            if renewed is None:
                self._lease = None
                raise self._lost(held, "no change can be sent any more")
            self._lease = renewed
            return renewed

    def release_lease(self, held: lease.HeldLease) -> None:
        """Delete the lease, if it is still the one we wrote; LeaseLost otherwise."""
        operations = [
            _check_sequence(held.sequence_number),
            models.DeletePropertyBatchOperation(property_name=lease.LEASE_PROPERTY),
        ]
        with self._lease_lock:
            result = self._submit(f"release lease {held.name}", held.name, operations)
            self._lease = None
            if result.kind != "Successful":
                raise self._lost(held, "not released")

    def _hold_lease(self, what: str) -> None:
        """Check, in one property batch, that the lease is still the one we wrote, before `what`
        is sent; LeaseLost (naming who holds it now) if not, and then nothing is sent."""
        with self._lease_lock:
            held = self._lease
            if held is None:
                raise lease.LeaseLost(f"{what}: not sent, this session holds no cluster lease")
            check = [_check_sequence(held.sequence_number)]
            result = self._submit(f"check lease {held.name} before {what}", held.name, check)
            if result.kind != "Successful":
                self._lease = None
                raise self._lost(held, f"{what} was not sent")

    def _lost(self, held: lease.HeldLease, consequence: str) -> lease.LeaseLost:
        """The LeaseLost for a lease that changed since we wrote it, naming who holds it now."""
        try:
            now = self._read_lease(held.name)
        except ClusterError as exc:
            return lease.LeaseLost(
                f"lease {held.name} changed since we wrote it (who holds it now could not be "
                f"read: {exc}); {consequence}"
            )
        if now is None:
            who = "it was released"
        elif now.record is None:
            who = "its value is no lease record"
        else:
            who = f"now held by {lease.describe(now.record)}"
        holder = now.record if now else None
        return lease.LeaseLost(
            f"lease {held.name} changed since we wrote it, {who}; {consequence}", holder
        )

    def _ensure_name(self, name: str) -> None:
        try:
            fabric.call(f"create name {name}", self._client.create_name, name)
        except ClusterError as exc:
            if _fabric_code(exc) != "FABRIC_E_NAME_ALREADY_EXISTS":
                raise

    def _read_lease(self, name: str) -> lease.LeaseState | None:
        return _read_lease_property(self._client, name)

    def _write_lease(
        self,
        name: str,
        guard: Any,
        record: lease.LeaseRecord,
        previous: lease.LeaseRecord | None = None,
    ) -> lease.HeldLease | None:
        operations = [
            guard,
            models.PutPropertyBatchOperation(
                property_name=lease.LEASE_PROPERTY,
                value=models.StringPropertyValue(data=lease.encode(record)),
            ),
            models.GetPropertyBatchOperation(property_name=lease.LEASE_PROPERTY),
        ]
        result = self._submit(f"write lease {name}", name, operations)
        if result.kind != "Successful":
            return None
        written = result.properties[str(len(operations) - 1)]
        return lease.HeldLease(name, record, written.metadata.sequence_number, previous)

    def _submit(self, what: str, name: str, operations: list[Any]) -> Any:
        return fabric.call(
            what,
            self._client.submit_property_batch,
            lease.name_id(name),
            operations=operations,
        )


class ReadOnlyGateway:
    """The gateway of an observer or auditor: every mutation is refused before any I/O."""

    read_only = True

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise ReadOnlyError("this session is read-only: no change can be sent to the cluster")

    disable_node = enable_node = restart_node = _refuse
    acquire_lease = renew_lease = release_lease = _refuse
    restart_instance = reimage_instance = upgrade_instances = _refuse
    run_powershell = start_os_rolling_upgrade = set_image_version = _refuse


def read_lease(client: Any, cluster_name: str) -> lease.LeaseState | None:
    """The cluster's lease as it is now (None when there is none): a read, so an observer's
    read-only client can make it too."""
    try:
        return _read_lease_property(client, lease.lease_name(cluster_name))
    except ClusterError as exc:
        if _fabric_code(exc) == "FABRIC_E_NAME_DOES_NOT_EXIST":
            return None
        raise


def _read_lease_property(client: Any, name: str) -> lease.LeaseState | None:
    """The lease property's record and sequence number, or None when there is none."""
    page = fabric.call(
        f"read lease {name}",
        client.get_property_info_list,
        lease.name_id(name),
        include_values=True,
    )
    for info in page.properties or []:
        if info.name == lease.LEASE_PROPERTY:
            data = getattr(info.value, "data", None)
            record = lease.decode(data) if isinstance(data, str) else None
            return lease.LeaseState(record, info.metadata.sequence_number)
    return None


def _check_sequence(sequence_number: str) -> Any:
    return models.CheckSequencePropertyBatchOperation(
        property_name=lease.LEASE_PROPERTY, sequence_number=sequence_number
    )


def _fabric_code(exc: ClusterError) -> str | None:
    """The FabricError code behind a ClusterError raised by fabric.call, if any."""
    error = getattr(getattr(exc.__cause__, "error", None), "error", None)
    return getattr(error, "code", None)
