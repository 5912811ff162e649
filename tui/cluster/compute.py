"""VM scale sets through azure-mgmt-compute: the client and the read calls.

Mutations live in tui/cluster/gateway.py and start long-running operations that come back
wrapped as ComputeOperation. What leaves this module is tui.model values, never SDK objects.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import AzureError, HttpResponseError
from azure.core.rest import HttpRequest
from azure.mgmt.compute import ComputeManagementClient, models

# The SDK's own request for VirtualMachineScaleSetVMsOperations.list (same path, api-version).
from azure.mgmt.compute.operations._operations import (
    build_virtual_machine_scale_set_vms_list_request,
)

from tui.cluster import readonly
from tui.cluster.answers import AnswerCache, built, decode_json, joined
from tui.config import ArmProfile
from tui.errors import ClusterError, ConfigError
from tui.model import CommandOutput, Instance, ScaleSet

# The SDK's default is 30 s between status polls when ARM sends no Retry-After.
POLLING_INTERVAL = 30.0
SOCKET_TIMEOUT = 30
SF_EXTENSION_TYPE = "ServiceFabricNode"
RUN_COMMAND_EXTENSION = "runcommandwindows"  # Microsoft.CPlat.Core.RunCommandWindows
SIMULATOR_TOKEN = "sfpatch-simulator"


@dataclass(frozen=True)
class ComputeConnection:
    """How to reach ARM for one cluster's scale sets."""

    subscription: str
    resource_group: str
    endpoint: str | None = None  # None: the public cloud's ARM endpoint
    ca: Path | None = None
    credential: str = "default"  # default | azure-cli | static-token
    token: str | None = None  # the bearer token for credential = "static-token"
    polling_interval: float = POLLING_INTERVAL


def connection_from_endpoints(
    arm: dict[str, str], polling_interval: float = POLLING_INTERVAL
) -> ComputeConnection:
    """The simulator's endpoints.json "arm" entry as a connection (it takes any token)."""
    return ComputeConnection(
        subscription=arm["subscription"],
        resource_group=arm["resource_group"],
        endpoint=arm["endpoint"],
        ca=Path(arm["ca"]) if arm.get("ca") else None,
        credential="static-token",
        token=SIMULATOR_TOKEN,
        polling_interval=polling_interval,
    )


def connection_from_profile(
    arm: ArmProfile, polling_interval: float | None = None
) -> ComputeConnection:
    """A cluster profile's [arm] table as a connection."""
    return ComputeConnection(
        subscription=arm.subscription,
        resource_group=arm.resource_group,
        endpoint=arm.endpoint,
        ca=arm.ca,
        credential=arm.credential,
        token=arm.token,
        polling_interval=arm.poll_interval if polling_interval is None else polling_interval,
    )


class StaticTokenCredential(TokenCredential):
    """A credential that always presents the same bearer token."""

    def __init__(self, token: str, lifetime: int = 3600) -> None:
        self._token = token
        self._lifetime = lifetime

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + self._lifetime)


def make_credential(conn: ComputeConnection) -> TokenCredential:
    """The azure-identity credential the connection names, or the static token."""
    if conn.credential == "static-token":
        if not conn.token:
            raise ConfigError('arm: credential = "static-token" needs a token')
        return StaticTokenCredential(conn.token)
    if conn.credential == "azure-cli":
        from azure.identity import AzureCliCredential

        return AzureCliCredential()
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def build_client(conn: ComputeConnection, read_only: bool = False) -> ComputeManagementClient:
    """A ComputeManagementClient for the connection (CA pinned when given, no retries);
    `read_only`: on a transport that sends only the reads in tui/cluster/readonly.py."""
    prepare_models()
    transport: dict[str, Any] = {
        "connection_timeout": SOCKET_TIMEOUT,
        "read_timeout": SOCKET_TIMEOUT,
    }
    if conn.ca:
        transport["connection_verify"] = str(conn.ca)
    kwargs: dict[str, Any] = {
        "polling_interval": conn.polling_interval,
        # One attempt per call: POSTs must not repeat, and the poll loops retry on their own.
        "retry_total": 0,
        **transport,
    }
    if read_only:
        kwargs["transport"] = readonly.ReadOnlyTransport(**transport)
    if conn.endpoint:
        kwargs["base_url"] = conn.endpoint
    return ComputeManagementClient(make_credential(conn), conn.subscription, **kwargs)


# What the reads and Run Command answer with; every model they contain is reached from these.
ANSWER_MODELS = ("VirtualMachineScaleSet", "VirtualMachineScaleSetVM", "RunCommandResult")
_prepared: set[type] = set()
_prepare_lock = threading.Lock()


def prepare_models(roots: tuple[str, ...] = ANSWER_MODELS) -> None:
    """Have the SDK set up each model class our answers contain, once, in one thread.

    azure-mgmt-compute sets a model class up on its first instantiation by iterating the class
    __dict__, and adds attributes to that __dict__ at the end. Two threads doing it for the same
    class (the inventory reads scale sets concurrently) make one fail with "dictionary changed
    size during iteration", which the SDK swallows, answering with the raw JSON dict in place of
    the model: `'dict' object has no attribute 'os_profile'`. Once set up, a class is only read."""
    with _prepare_lock:
        pending = [getattr(models, name) for name in roots]
        while pending:
            cls = pending.pop()
            if cls in _prepared or not _is_model_class(cls):
                continue
            _prepared.add(cls)
            cls.__new__(cls)  # the SDK's one-time set-up of the class; no instance is kept
            for klass in cls.__mro__:
                for annotation in vars(klass).get("__annotations__", {}).values():
                    names = re.findall(r"_models\.(\w+)", str(annotation))
                    pending += [getattr(models, name, None) for name in names]
            pending += list(getattr(cls, "__mapping__", {}).values())  # polymorphic kinds


def _is_model_class(cls: Any) -> bool:
    # The SDK's models are mappings over the JSON; its enums are not. Looked for in the MRO:
    # issubclass() would have the ABC walk every model class to say no to each enum.
    return isinstance(cls, type) and MutableMapping in cls.__mro__


def describe_error(exc: Exception) -> str:
    """One line for an SDK or transport failure."""
    if isinstance(exc, HttpResponseError):
        error = getattr(exc, "error", None)
        if error is not None and getattr(error, "code", None):
            return f"{error.code}: {error.message}"
        status = getattr(exc, "status_code", None) or "?"
        return f"HTTP {status}: {str(exc).splitlines()[0][:160]}"
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "the ARM endpoint's certificate is not trusted (check ca)"
    first = text.splitlines()[0] if text else type(exc).__name__
    return first[:200]


def call(what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one SDK call; any failure becomes a ClusterError naming what was attempted."""
    try:
        return fn(*args, **kwargs)
    except AzureError as exc:
        raise ClusterError(f"{what}: {describe_error(exc)}") from exc


class ComputeOperation:
    """A started ARM long-running operation: poll it with done(), collect it with result()."""

    def __init__(self, what: str, poller: Any, convert: Callable[[Any], Any] | None = None):
        self.what = what
        self._poller = poller
        self._convert = convert

    def done(self) -> bool:
        return bool(call(self.what, self._poller.done))

    def status(self) -> str:
        """InProgress, Succeeded, Failed or Canceled, as ARM last reported it."""
        return str(call(self.what, self._poller.status))

    def result(self, timeout: float | None = None) -> Any:
        """Wait for the end; a Failed operation raises ClusterError with ARM's error code."""
        value = call(self.what, self._poller.result, timeout)
        return self._convert(value) if self._convert else value


# ------------------------------------------------------------------ reads


def list_scale_sets(client: ComputeManagementClient, resource_group: str) -> tuple[ScaleSet, ...]:
    """Every scale set in the resource group."""
    items = call(
        f"list scale sets in {resource_group}",
        lambda: list(client.virtual_machine_scale_sets.list(resource_group)),
    )
    return tuple(scale_set_from_sdk(item) for item in items)


def get_scale_set(client: ComputeManagementClient, resource_group: str, name: str) -> ScaleSet:
    item = call(
        f"get scale set {name}", client.virtual_machine_scale_sets.get, resource_group, name
    )
    return scale_set_from_sdk(item)


def list_instances(
    client: ComputeManagementClient,
    resource_group: str,
    scale_set: ScaleSet,
    cache: AnswerCache | None = None,
) -> tuple[Instance, ...]:
    """The scale set's VMs with their instance view, following nextLink to the last page.

    The request is the SDK's own, sent through its pipeline (credential, retries, read-only
    transport); the pages are read as JSON, since building the SDK's models of every VM costs
    ten times what reading the few fields we use does (~0.7 ms a VM). With `cache`, pages the
    same as last time give back the same instances (the same tuple when every page is)."""
    what = f"list instances of {scale_set.name}"
    key = ("instances", scale_set.name, scale_set.node_type)
    first = build_virtual_machine_scale_set_vms_list_request(
        resource_group, scale_set.name, client._config.subscription_id, expand="instanceView"
    )

    def page_of(body: bytes) -> tuple[tuple[Instance, ...], str | None]:
        try:
            page = decode_json(body)
        except ValueError:
            raise ClusterError(f"{what}: ARM's answer is not JSON") from None
        if not isinstance(page, dict):
            raise ClusterError(f"{what}: ARM's answer is not a JSON object")
        items = page.get("value") or []
        return tuple(instance_from_sdk(item, scale_set) for item in items), page.get("nextLink")

    def pages() -> tuple[Instance, ...]:
        found: list[tuple[Instance, ...]] = []
        request: HttpRequest | None = first
        while request is not None:
            # As a stream, read here: otherwise the pipeline decodes each page's JSON too.
            response = client.send_request(request, stream=True)
            body = response.read()
            response.raise_for_status()
            instances, link = built(cache, (*key, len(found)), body, page_of)
            found.append(instances)
            request = HttpRequest("GET", link) if link else None
        return built(cache, key, tuple(found), joined)

    return call(what, pages)


def get_instance(
    client: ComputeManagementClient, resource_group: str, scale_set: ScaleSet, instance_id: str
) -> Instance:
    """One VM, with its instance view."""
    item = call(
        f"get instance {scale_set.name}/{instance_id}",
        client.virtual_machine_scale_set_vms.get,
        resource_group,
        scale_set.name,
        instance_id,
        expand="instanceView",
    )
    return instance_from_sdk(item, scale_set)


def scale_set_from_sdk(item: Any) -> ScaleSet:
    props = item.properties
    policy = props.upgrade_policy if props else None
    auto = policy.automatic_os_upgrade_policy if policy else None
    profile = props.virtual_machine_profile if props else None
    windows = profile.os_profile.windows_configuration if profile and profile.os_profile else None
    image = profile.storage_profile.image_reference if profile and profile.storage_profile else None
    extension = _sf_extension(profile)
    ext_props = extension.properties if extension else None
    settings = (ext_props.settings if ext_props else None) or {}
    return ScaleSet(
        name=item.name,
        node_type=settings.get("nodeTypeRef") or item.name,
        location=item.location or "",
        upgrade_mode=_text(policy.mode if policy else None) or "Manual",
        automatic_os_upgrade=bool(auto and auto.enable_automatic_os_upgrade),
        disable_automatic_rollback=bool(auto and auto.disable_automatic_rollback),
        enable_automatic_updates=windows.enable_automatic_updates if windows else None,
        patch_mode=(
            _text(windows.patch_settings.patch_mode) if windows and windows.patch_settings else None
        ),
        image_publisher=(image.publisher if image else None) or "",
        image_offer=(image.offer if image else None) or "",
        image_sku=(image.sku if image else None) or "",
        image_version=(image.version if image else None) or "",
        image_exact_version=(image.exact_version if image else None) or "",
        sf_extension_version=ext_props.type_handler_version if ext_props else None,
        sf_durability=settings.get("durabilityLevel"),
        capacity=int(item.sku.capacity or 0) if item.sku else 0,
    )


def _text(value: Any) -> str:
    """An SDK enum member or plain string, as its wire text."""
    return str(getattr(value, "value", value) or "")


def _sf_extension(profile: Any) -> Any:
    extensions = (
        profile.extension_profile.extensions
        if profile and profile.extension_profile and profile.extension_profile.extensions
        else []
    )
    for extension in extensions:
        props = extension.properties
        if props and (props.type or "").lower() == SF_EXTENSION_TYPE.lower():
            return extension
    return None


def instance_from_sdk(item: Mapping[str, Any], scale_set: ScaleSet) -> Instance:
    """A VM from its wire JSON: a page's raw dict, or the SDK's model (a mapping of the same
    keys), so one reading serves both."""
    props = item.get("properties") or {}
    view = props.get("instanceView") or {}
    codes = [s.get("code") or "" for s in view.get("statuses") or []]
    image = (props.get("storageProfile") or {}).get("imageReference") or {}
    instance_id = item.get("instanceId") or ""
    return Instance(
        scale_set=scale_set.name,
        instance_id=instance_id,
        node_name=f"_{scale_set.node_type}_{instance_id}",
        latest_model_applied=props.get("latestModelApplied"),
        os_name=view.get("osName") or "",
        os_version=view.get("osVersion") or "",
        power_state=_status_value(codes, "PowerState/"),
        provisioning_state=props.get("provisioningState") or "",
        image_version=image.get("exactVersion") or "",
        run_command=_run_command_state(view),
    )


def _run_command_state(view: Mapping[str, Any]) -> str:
    """The provisioning state of the extension Run Command works through (RunCommandWindows)."""
    for extension in view.get("extensions") or []:
        if RUN_COMMAND_EXTENSION in (extension.get("type") or extension.get("name") or "").lower():
            codes = [s.get("code") or "" for s in extension.get("statuses") or []]
            return _status_value(codes, "ProvisioningState/")
    return ""


def _status_value(codes: list[str], prefix: str) -> str:
    return next((c[len(prefix) :] for c in codes if c.startswith(prefix)), "")


def command_output(result: Any) -> CommandOutput:
    """RunCommandResult -> the two streams, from the ComponentStatus/StdOut|StdErr entries."""
    stdout = stderr = ""
    for status in (result.value if result is not None else None) or []:
        code = (status.code or "").lower()
        if "/stdout/" in code:
            stdout = status.message or ""
        elif "/stderr/" in code:
            stderr = status.message or ""
    return CommandOutput(stdout=stdout, stderr=stderr)
