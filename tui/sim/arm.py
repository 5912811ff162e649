"""ARM compute (virtual machine scale sets) over HTTPS, as azure-mgmt-compute 39 speaks it.

Routes and long-running operations follow shared/research/compute-docker-windows.md sections
1.2-1.4: paths and query keys match case-insensitively, any api-version is accepted, errors are
`{"error": {"code", "message"}}`, POST actions answer 202 with absolute Azure-AsyncOperation
and Location headers. The server takes any bearer token and asks for no client certificate.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from aiohttp import web

from tui.sim import arm_wire
from tui.sim.arm_state import ArmError, ArmScaleSet, ArmState, Operation
from tui.sim.state import SimError
from tui.sim.unexpected import unexpected_errors

if TYPE_CHECKING:
    from tui.sim.server import ServeContext

# VMs per page of virtualMachines; tests lower it to exercise nextLink.
PAGE_SIZE = 100
# Longest Retry-After sent, in real seconds, so a sped-up clock is still polled often.
MAX_RETRY_AFTER = 10

Handler = Callable[["Call"], Awaitable[web.Response]]


class Call:
    """One routed request: the parsed parts every handler needs."""

    def __init__(self, request: web.Request, state: ArmState, args: list[str], body: Any) -> None:
        self.request = request
        self.state = state
        self.args = args
        self.body = body
        self.query = {k.lower(): v for k, v in request.query.items()}
        self.base = f"{request.scheme}://{request.host}"

    @property
    def api_version(self) -> str:
        return self.query["api-version"]

    def scale_set(self) -> ArmScaleSet:
        return self.state.scale_set(self.args[0])


def arm_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


# ------------------------------------------------------------------ reads


async def list_scale_sets(call: Call) -> web.Response:
    state = call.state
    items = [arm_wire.scale_set_json(state, s) for s in state.scale_sets.values()]
    return web.json_response({"value": items})


async def get_scale_set(call: Call) -> web.Response:
    return web.json_response(arm_wire.scale_set_json(call.state, call.scale_set()))


async def get_scale_set_view(call: Call) -> web.Response:
    scale_set = call.scale_set()
    running = sum(call.state.node(i).host_up for i in scale_set.instances.values())
    counts = [
        ("PowerState/running", running),
        ("PowerState/starting", len(scale_set.instances) - running),
    ]
    return web.json_response(
        {
            "virtualMachine": {
                "statusesSummary": [{"code": code, "count": n} for code, n in counts if n]
            },
            "extensions": [
                {
                    "name": f"ServiceFabricNodeVmExt_{scale_set.name}",
                    "statusesSummary": [
                        {"code": "ProvisioningState/succeeded", "count": len(scale_set.instances)}
                    ],
                }
            ],
            "statuses": [
                {
                    "code": "ProvisioningState/succeeded",
                    "level": "Info",
                    "displayStatus": "Provisioning succeeded",
                }
            ],
        }
    )


async def list_vms(call: Call) -> web.Response:
    """Paged list; nextLink is absolute and carries its own api-version and $skiptoken."""
    scale_set = call.scale_set()
    with_view = call.query.get("$expand", "").lower() == "instanceview"
    wanted = _latest_model_filter(call.query.get("$filter", ""))
    instances = [
        i
        for i in scale_set.instances.values()
        if wanted is None or (i.generation == scale_set.generation) == wanted
    ]
    skip = call.query.get("$skiptoken", "0")
    start = int(skip) if skip.isdigit() else 0
    page = instances[start : start + max(1, PAGE_SIZE)]
    body: dict[str, Any] = {
        "value": [arm_wire.vm_json(call.state, scale_set, i, with_view) for i in page]
    }
    if start + len(page) < len(instances):
        query = {k: v for k, v in call.request.query.items() if k.lower() != "$skiptoken"}
        query["$skiptoken"] = str(start + len(page))
        encoded = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in query.items())
        body["nextLink"] = f"{call.base}{call.request.path}?{encoded}"
    return web.json_response(body)


def _latest_model_filter(text: str) -> bool | None:
    compact = " ".join(text.lower().split())
    if compact == "properties/latestmodelapplied eq true":
        return True
    if compact == "properties/latestmodelapplied eq false":
        return False
    return None


async def get_vm(call: Call) -> web.Response:
    scale_set = call.scale_set()
    instance = call.state.instance(scale_set, call.args[1])
    with_view = call.query.get("$expand", "").lower() == "instanceview"
    return web.json_response(arm_wire.vm_json(call.state, scale_set, instance, with_view))


async def get_vm_view(call: Call) -> web.Response:
    scale_set = call.scale_set()
    instance = call.state.instance(scale_set, call.args[1])
    node = call.state.node(instance)
    return web.json_response(arm_wire.instance_view_json(call.state, scale_set, instance, node))


async def rolling_latest(call: Call) -> web.Response:
    scale_set = call.scale_set()
    if scale_set.rolling is None:
        return arm_error(
            404, "NotFound", f"No rolling upgrade has been run on scale set {scale_set.name}."
        )
    return web.json_response(arm_wire.rolling_upgrade_json(call.state, scale_set))


# ------------------------------------------------------------------ long-running operations


def _operation_url(call: Call, operation: Operation, monitor: bool) -> str:
    scenario = call.state.scenario
    query = f"api-version={quote(call.api_version, safe='')}"
    if monitor:
        query = "monitor=true&" + query
    return (
        f"{call.base}/subscriptions/{scenario.subscription}/providers/Microsoft.Compute"
        f"/locations/{scenario.location}/operations/{operation.id}?{query}"
    )


def _retry_after(call: Call, operation: Operation) -> str:
    """Real seconds until the work is due; 0 (= use the client's interval) when frozen."""
    clock = call.state.cluster.clock
    if clock.speed == 0:
        return "0"
    remaining = max(0.0, operation.due - clock.elapsed())
    return str(max(1, min(MAX_RETRY_AFTER, math.ceil(clock.real_seconds(remaining)))))


def accepted(call: Call, operation: Operation) -> web.Response:
    """202 with the status monitor (Azure-AsyncOperation) and the result (Location)."""
    headers = {
        "Azure-AsyncOperation": _operation_url(call, operation, monitor=False),
        "Location": _operation_url(call, operation, monitor=True),
        "Retry-After": _retry_after(call, operation),
    }
    operation.location = True
    return web.Response(status=202, headers=headers)


async def get_operation(call: Call) -> web.Response:
    """Status monitor, or with monitor=true the Location target (202 until done)."""
    operation = call.state.operation(call.args[0])
    monitor = call.query.get("monitor", "").lower() == "true"
    # The poller's last read of an end: a failure's status, else the result at the Location.
    ended = operation.status != "InProgress"
    last = ended and (monitor or operation.error is not None or not operation.location)
    call.state.cluster.lro_reads.read(operation.id, ended, last)
    if not monitor:
        headers = {}
        if operation.status == "InProgress":
            headers["Retry-After"] = _retry_after(call, operation)
        return web.json_response(arm_wire.operation_json(call.state, operation), headers=headers)
    if operation.status == "InProgress":
        headers = {
            "Location": str(call.request.url),
            "Retry-After": _retry_after(call, operation),
        }
        return web.Response(status=202, headers=headers)
    if operation.error:
        return arm_error(400, *operation.error)
    if operation.result is None:
        return web.Response(status=200)
    return web.json_response(operation.result)


def _instance_ids(call: Call, required: bool = False) -> list[str]:
    body = call.body if isinstance(call.body, dict) else {}
    ids = body.get("instanceIds")
    if ids is None:
        if required:
            raise ArmError(400, "InvalidParameter", "Required parameter 'instanceIds' is missing.")
        return []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ArmError(400, "InvalidParameter", "instanceIds must be a list of strings.")
    return ids


def _exact_version(call: Call) -> str | None:
    body = call.body if isinstance(call.body, dict) else {}
    value = body.get("exactVersion")
    if value is not None and not isinstance(value, str):
        raise ArmError(400, "InvalidParameter", "exactVersion must be a string.")
    return value or None


async def restart_vm(call: Call) -> web.Response:
    return accepted(call, call.state.restart(call.scale_set(), [call.args[1]]))


async def restart_scale_set(call: Call) -> web.Response:
    return accepted(call, call.state.restart(call.scale_set(), _instance_ids(call)))


async def reimage_vm(call: Call) -> web.Response:
    scale_set = call.scale_set()
    call.state.instance(scale_set, call.args[1])
    operation = call.state.reimage(scale_set, [call.args[1]], _exact_version(call))
    return accepted(call, operation)


async def reimage_scale_set(call: Call) -> web.Response:
    operation = call.state.reimage(call.scale_set(), _instance_ids(call), _exact_version(call))
    return accepted(call, operation)


async def manual_upgrade(call: Call) -> web.Response:
    operation = call.state.manual_upgrade(call.scale_set(), _instance_ids(call, required=True))
    return accepted(call, operation)


async def run_command(call: Call) -> web.Response:
    body = call.body if isinstance(call.body, dict) else {}
    command_id = body.get("commandId")
    script = body.get("script") or []
    if not isinstance(command_id, str) or not command_id:
        raise ArmError(400, "InvalidParameter", "Required parameter 'commandId' is missing.")
    if not isinstance(script, list) or not all(isinstance(line, str) for line in script):
        raise ArmError(400, "InvalidParameter", "script must be a list of strings.")
    operation = call.state.run_command(call.scale_set(), call.args[1], command_id, script)
    return accepted(call, operation)


async def os_rolling_upgrade(call: Call) -> web.Response:
    return accepted(call, call.state.os_rolling_upgrade(call.scale_set()))


async def patch_scale_set(call: Call) -> web.Response:
    """PATCH the model: 200 with the model and Azure-AsyncOperation until it is applied."""
    if not isinstance(call.body, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content must be a JSON object.")
    scale_set = call.scale_set()
    operation = call.state.update_model(scale_set, call.body)
    headers = {
        "Azure-AsyncOperation": _operation_url(call, operation, monitor=False),
        "Retry-After": _retry_after(call, operation),
    }
    return web.json_response(arm_wire.scale_set_json(call.state, scale_set), headers=headers)


# ------------------------------------------------------------------ routing

# (method, lowercased path pattern after .../virtualMachineScaleSets, handler); "*" = a name.
SCALE_SET_ROUTES: list[tuple[str, tuple[str, ...], Handler]] = [
    ("GET", (), list_scale_sets),
    ("GET", ("*",), get_scale_set),
    ("PATCH", ("*",), patch_scale_set),
    ("GET", ("*", "instanceview"), get_scale_set_view),
    ("POST", ("*", "restart"), restart_scale_set),
    ("POST", ("*", "reimage"), reimage_scale_set),
    ("POST", ("*", "manualupgrade"), manual_upgrade),
    ("POST", ("*", "osrollingupgrade"), os_rolling_upgrade),
    ("GET", ("*", "rollingupgrades", "latest"), rolling_latest),
    ("GET", ("*", "virtualmachines"), list_vms),
    ("GET", ("*", "virtualmachines", "*"), get_vm),
    ("GET", ("*", "virtualmachines", "*", "instanceview"), get_vm_view),
    ("POST", ("*", "virtualmachines", "*", "restart"), restart_vm),
    ("POST", ("*", "virtualmachines", "*", "reimage"), reimage_vm),
    ("POST", ("*", "virtualmachines", "*", "runcommand"), run_command),
]


def route(state: ArmState, method: str, segments: list[str]) -> tuple[Handler, list[str]]:
    """The handler and its name arguments, or an ArmError saying what is wrong."""
    lower = [s.lower() for s in segments]
    scenario = state.scenario
    if len(lower) < 2 or lower[0] != "subscriptions":
        raise ArmError(404, "InvalidResourceType", f"No route for /{'/'.join(segments)}.")
    if lower[1] != scenario.subscription.lower():
        raise ArmError(
            404, "SubscriptionNotFound", f"The subscription '{segments[1]}' could not be found."
        )
    rest = lower[2:]
    is_operation = len(rest) == 6 and rest[4] == "operations" and method == "GET"
    if is_operation and rest[:3] == ["providers", "microsoft.compute", "locations"]:
        return get_operation, [segments[7]]
    if len(rest) >= 2 and rest[0] == "resourcegroups":
        if rest[1] != scenario.resource_group.lower():
            raise ArmError(
                404, "ResourceGroupNotFound", f"Resource group '{segments[3]}' could not be found."
            )
        tail = rest[2:]
        if tail[:3] == ["providers", "microsoft.compute", "virtualmachinescalesets"]:
            names = segments[7:]
            for verb, pattern, handler in SCALE_SET_ROUTES:
                if len(pattern) != len(names):
                    continue
                if all(p == "*" or p == n.lower() for p, n in zip(pattern, names, strict=True)):
                    if verb != method:
                        continue
                    args = [n for p, n in zip(pattern, names, strict=True) if p == "*"]
                    return handler, args
    raise ArmError(404, "InvalidResourceType", f"No route for {method} /{'/'.join(segments)}.")


def make_app(state: ArmState, log_request: Callable[..., None]) -> web.Application:
    """ARM compute as an aiohttp application (served over TLS by tui.sim.server)."""
    cluster = state.cluster

    async def dispatch(request: web.Request) -> web.Response:
        response = await _answer(request)
        log_request("arm", request.method, request.path_qs, response.status)
        return response

    async def _answer(request: web.Request) -> web.Response:
        if not request.headers.get("Authorization", "").lower().startswith("bearer "):
            return arm_error(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header "
                "is missing or is not a bearer token.",
            )
        if not any(k.lower() == "api-version" for k in request.query):
            return arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        raw = request.raw_path.split("?", 1)[0]
        segments = [unquote(s) for s in raw.strip("/").split("/") if s]
        text = await request.text()
        try:
            body = json.loads(text) if text.strip() else None
        except ValueError:
            return arm_error(400, "InvalidRequestContent", "The request content is not valid JSON.")
        try:
            with cluster.lock:
                cluster.advance()
                handler, args = route(state, request.method, segments)
                return await handler(Call(request, state, args, body))
        except ArmError as exc:
            return arm_error(exc.status, exc.code, exc.message)
        except SimError as exc:
            return arm_error(409, exc.code, exc.message)

    app = web.Application(
        middlewares=[
            unexpected_errors(
                "arm", log_request, lambda message: arm_error(500, "InternalServerError", message)
            )
        ]
    )
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app


async def serve(ctx: ServeContext) -> dict[str, Any]:
    """Start the ARM listener (TLS, bearer token, no client certificate)."""
    state = ArmState(ctx.cluster)
    port = await ctx.listen(make_app(state, ctx.log_request), client_cert_required=False)
    scenario = ctx.cluster.scenario
    return {
        "arm": {
            "endpoint": f"https://127.0.0.1:{port}",
            "subscription": scenario.subscription,
            "resource_group": scenario.resource_group,
            "ca": str(ctx.tls.ca),
        }
    }
