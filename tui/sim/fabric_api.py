"""The Service Fabric HTTP gateway's REST protocol, as azure-servicefabric 8.2 and sfctl speak it.

Field names, enums, status codes and FabricError bodies follow shared/research/sf-rest.md
sections 2-3. Every non-2xx answer carries `{"Error": {"Code", "Message"}}`: the SDK raises a
bare TypeError on an empty error body.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tui.model import HEALTH_RANK
from tui.sim.state import INTENT_BY_NUMBER, SimCluster, SimError, SimNode
from tui.sim.unexpected import unexpected_errors

NEVER = "0001-01-01T00:00:00.000Z"
INFINITE_TTL = "P10675199DT2H48M5.4775807S"

# FabricError code -> HTTP status (SF HttpUtil.cpp ErrorCodeToHttpStatus).
STATUS_FOR_CODE = {
    "E_INVALIDARG": 400,
    "FABRIC_E_NODE_IS_UP": 400,
    "FABRIC_E_NODE_IS_DOWN": 400,
    "FABRIC_E_INVALID_OPERATION": 400,
    "FABRIC_E_INVALID_NAME_URI": 400,
    "E_ACCESSDENIED": 403,
    "FABRIC_E_NODE_NOT_FOUND": 404,
    "FABRIC_E_HEALTH_ENTITY_NOT_FOUND": 404,
    "FABRIC_E_APPLICATION_NOT_FOUND": 404,
    "FABRIC_E_NAME_DOES_NOT_EXIST": 404,
    "FABRIC_E_PROPERTY_DOES_NOT_EXIST": 404,
    "FABRIC_E_INSTANCE_ID_MISMATCH": 409,
    "FABRIC_E_NAME_ALREADY_EXISTS": 409,
    "FABRIC_E_PROPERTY_CHECK_FAILED": 409,
    "FABRIC_E_SERVICE_TOO_BUSY": 503,
    "FABRIC_E_TIMEOUT": 504,
}
NODE_STATUS_FILTERS = {
    "default": {"Up", "Down", "Enabling", "Disabling", "Disabled"},
    "all": {"Up", "Down", "Enabling", "Disabling", "Disabled", "Unknown", "Removed"},
    "up": {"Up"},
    "down": {"Down"},
    "enabling": {"Enabling"},
    "disabling": {"Disabling"},
    "disabled": {"Disabled"},
    "unknown": {"Unknown"},
    "removed": {"Removed"},
}
HEALTH_FILTER_BITS = {"Ok": 2, "Warning": 4, "Error": 8}

Handler = Callable[[web.Request, SimCluster, list[str]], Awaitable[web.Response]]


def iso(moment: datetime | None) -> str:
    if moment is None:
        return NEVER
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def fabric_error(code: str, message: str, status: int | None = None) -> web.Response:
    return web.json_response(
        {"Error": {"Code": code, "Message": message}},
        status=status or STATUS_FOR_CODE.get(code, 500),
    )


def worst(states: list[str]) -> str:
    return max(states, key=lambda s: HEALTH_RANK.get(s, 0), default="Ok")


def passes_health_filter(state: str, flags: int) -> bool:
    """HealthStateFilter flags: 0 (Default) and 65535 (All) match everything."""
    if flags in (0, 65535):
        return True
    return bool(flags & HEALTH_FILTER_BITS.get(state, 0))


# ------------------------------------------------------------------ wire shapes


def node_info(cluster: SimCluster, node: SimNode) -> dict[str, Any]:
    tasks = []
    if node.intent != "Invalid":
        tasks.append(
            {
                "NodeDeactivationTaskId": {
                    "Id": node.node_id,
                    "NodeDeactivationTaskType": "Client",
                },
                "NodeDeactivationIntent": node.intent,
            }
        )
    checks = []
    for kind, partition in node.pending_checks:
        check: dict[str, Any] = {"Kind": kind}
        if partition:
            check["PartitionId"] = partition
        checks.append({"SafetyCheck": check})
    return {
        "Name": node.name,
        "IpAddressOrFQDN": node.address,
        "Type": node.node_type,
        "CodeVersion": cluster.scenario.code_version,
        "ConfigVersion": "5",
        "NodeStatus": node.status,
        "NodeUpTimeInSeconds": str(cluster.uptime_seconds(node)),
        "HealthState": node_health_state(cluster, node),
        "IsSeedNode": node.is_seed,
        "UpgradeDomain": node.upgrade_domain,
        "FaultDomain": node.fault_domain,
        "Id": {"Id": node.node_id},
        "InstanceId": str(node.instance_id),
        "NodeDeactivationInfo": {
            "NodeDeactivationIntent": node.intent,
            "NodeDeactivationStatus": node.deactivation_status,
            "NodeDeactivationTask": tasks,
            "PendingSafetyChecks": checks,
        },
        "IsStopped": False,
        "NodeDownTimeInSeconds": str(cluster.downtime_seconds(node)),
        "NodeUpAt": iso(node.up_at),
        "NodeDownAt": iso(node.down_at),
        "NodeTags": [],
        "IsNodeByNodeUpgradeInProgress": False,
        "InfrastructurePlacementID": "",
    }


def health_event(cluster: SimCluster, event: tuple[str, str, str, str], since: datetime) -> dict:
    source, prop, state, description = event
    stamp = iso(cluster.clock.now())
    return {
        "SourceId": source,
        "Property": prop,
        "HealthState": state,
        "TimeToLiveInMilliSeconds": INFINITE_TTL,
        "Description": description,
        "SequenceNumber": str(int(cluster.clock.elapsed() * 1000) + 1),
        "RemoveWhenExpired": False,
        "IsExpired": False,
        "SourceUtcTimestamp": stamp,
        "LastModifiedUtcTimestamp": stamp,
        "LastOkTransitionAt": iso(since) if state == "Ok" else NEVER,
        "LastWarningTransitionAt": iso(since) if state == "Warning" else NEVER,
        "LastErrorTransitionAt": iso(since) if state == "Error" else NEVER,
    }


def node_health_state(cluster: SimCluster, node: SimNode) -> str:
    return worst([e[2] for e in cluster.node_health_events(node)])


def application_states(cluster: SimCluster) -> dict[str, dict[str, list]]:
    """application -> node -> unhealthy events, for every deployed application."""
    result: dict[str, dict[str, list]] = {}
    for node in cluster.nodes.values():
        for app, events in cluster.deployed_application_events(node).items():
            result.setdefault(app, {})[node.name] = events
    return dict(sorted(result.items()))


def _event_evaluation(cluster: SimCluster, event: tuple, since: datetime) -> dict:
    return {
        "HealthEvaluation": {
            "Kind": "Event",
            "AggregatedHealthState": event[2],
            "Description": f"Error event: SourceId='{event[0]}', Property='{event[1]}'."
            if event[2] == "Error"
            else f"Warning event: SourceId='{event[0]}', Property='{event[1]}'.",
            "ConsiderWarningAsError": False,
            "UnhealthyEvent": health_event(cluster, event, since),
        }
    }


def _since(cluster: SimCluster, node: SimNode) -> datetime:
    return (node.up_at if node.fabric_up else node.down_at) or cluster.clock.now()


def cluster_health(cluster: SimCluster, query: dict[str, str]) -> dict[str, Any]:
    nodes_filter = _int(query, "NodesHealthStateFilter")
    apps_filter = _int(query, "ApplicationsHealthStateFilter")
    node_states = {n.name: node_health_state(cluster, n) for n in cluster.nodes.values()}
    apps = application_states(cluster)
    app_states = {
        app: worst([e[2] for events in by_node.values() for e in events])
        for app, by_node in apps.items()
    }
    evaluations = []
    unhealthy_nodes = [n for n in cluster.nodes.values() if node_states[n.name] != "Ok"]
    if unhealthy_nodes:
        total = len(cluster.nodes)
        percent = len(unhealthy_nodes) * 100 // total
        evaluations.append(
            {
                "HealthEvaluation": {
                    "Kind": "Nodes",
                    "AggregatedHealthState": worst([node_states[n.name] for n in unhealthy_nodes]),
                    "Description": f"{percent}% ({len(unhealthy_nodes)}/{total}) nodes are"
                    " unhealthy. The evaluation tolerates 0% unhealthy nodes.",
                    "MaxPercentUnhealthyNodes": 0,
                    "TotalCount": total,
                    "UnhealthyEvaluations": [
                        {
                            "HealthEvaluation": {
                                "Kind": "Node",
                                "NodeName": n.name,
                                "AggregatedHealthState": node_states[n.name],
                                "Description": f"Node '{n.name}' is in {node_states[n.name]}.",
                                "UnhealthyEvaluations": [
                                    _event_evaluation(cluster, e, _since(cluster, n))
                                    for e in cluster.node_health_events(n)
                                    if e[2] != "Ok"
                                ],
                            }
                        }
                        for n in unhealthy_nodes
                    ],
                }
            }
        )
    unhealthy_apps = [a for a, s in app_states.items() if s != "Ok"]
    if unhealthy_apps:
        evaluations.append(
            {
                "HealthEvaluation": {
                    "Kind": "Applications",
                    "AggregatedHealthState": worst([app_states[a] for a in unhealthy_apps]),
                    "Description": f"{len(unhealthy_apps) * 100 // len(app_states)}% "
                    f"({len(unhealthy_apps)}/{len(app_states)}) applications are unhealthy."
                    " The evaluation tolerates 0% unhealthy applications.",
                    "MaxPercentUnhealthyApplications": 0,
                    "TotalCount": len(app_states),
                    "UnhealthyEvaluations": [
                        _application_evaluation(cluster, app, apps[app], app_states[app])
                        for app in unhealthy_apps
                    ],
                }
            }
        )
    body: dict[str, Any] = {
        "AggregatedHealthState": worst(list(node_states.values()) + list(app_states.values())),
        "HealthEvents": [],
        "UnhealthyEvaluations": evaluations,
        "NodeHealthStates": [
            {"Name": n.name, "Id": {"Id": n.node_id}, "AggregatedHealthState": node_states[n.name]}
            for n in cluster.nodes.values()
            if passes_health_filter(node_states[n.name], nodes_filter)
        ],
        "ApplicationHealthStates": [
            {"Name": app, "AggregatedHealthState": state}
            for app, state in app_states.items()
            if passes_health_filter(state, apps_filter)
        ],
    }
    if query.get("ExcludeHealthStatistics", "false").lower() != "true":
        body["HealthStatistics"] = {
            "HealthStateCountList": [
                _count("Node", list(node_states.values())),
                _count("Application", list(app_states.values())),
            ]
        }
    return body


def _application_evaluation(cluster: SimCluster, app: str, by_node: dict, state: str) -> dict:
    deployed = [
        {
            "HealthEvaluation": {
                "Kind": "DeployedApplication",
                "NodeName": node,
                "Name": app,
                "AggregatedHealthState": worst([e[2] for e in events]),
                "Description": f"Deployed application '{app}' on node '{node}' is in Error.",
                "UnhealthyEvaluations": [
                    _event_evaluation(cluster, e, cluster.clock.now()) for e in events
                ],
            }
        }
        for node, events in by_node.items()
        if events
    ]
    return {
        "HealthEvaluation": {
            "Kind": "Application",
            "ApplicationName": app,
            "AggregatedHealthState": state,
            "Description": f"Application '{app}' is in {state}.",
            "UnhealthyEvaluations": [
                {
                    "HealthEvaluation": {
                        "Kind": "DeployedApplications",
                        "AggregatedHealthState": state,
                        "Description": f"{len(deployed)} deployed applications are unhealthy.",
                        "MaxPercentUnhealthyDeployedApplications": 0,
                        "TotalCount": len(by_node),
                        "UnhealthyEvaluations": deployed,
                    }
                }
            ],
        }
    }


def _count(kind: str, states: list[str]) -> dict:
    return {
        "EntityKind": kind,
        "HealthStateCount": {
            "OkCount": states.count("Ok"),
            "WarningCount": states.count("Warning"),
            "ErrorCount": states.count("Error"),
        },
    }


def _int(query: dict[str, str], key: str, default: int = 0) -> int:
    try:
        return int(query.get(key, default))
    except ValueError:
        raise SimError("E_INVALIDARG", f"Invalid value for {key}.") from None


# ------------------------------------------------------------------ handlers


async def get_root(request: web.Request, cluster: SimCluster, args: list[str]) -> web.Response:
    # The real gateway serves Service Fabric Explorer here; sfctl `cluster select` wants a 2xx.
    return web.Response(
        text="<html><body>Service Fabric (sfpatch simulator)</body></html>",
        content_type="text/html",
    )


async def get_nodes(request: web.Request, cluster: SimCluster, args: list[str]) -> web.Response:
    query = _query(request)
    status_filter = query.get("NodeStatusFilter", "default").lower()
    if status_filter not in NODE_STATUS_FILTERS:
        raise SimError("E_INVALIDARG", f"Invalid NodeStatusFilter {status_filter!r}.")
    max_results = _int(query, "MaxResults")
    if max_results < 0:
        raise SimError("E_INVALIDARG", "MaxResults must be >= 0.")
    token = query.get("ContinuationToken", "")
    nodes = [n for n in cluster.nodes.values() if n.status in NODE_STATUS_FILTERS[status_filter]]
    if token:
        ids = [n.node_id for n in nodes]
        start = next((i + 1 for i, node_id in enumerate(ids) if node_id == token), None)
        if start is None:
            raise SimError("E_INVALIDARG", "Invalid continuation token.")
        nodes = nodes[start:]
    page = nodes[:max_results] if max_results else nodes
    more = len(page) < len(nodes)
    items = [node_info(cluster, n) for n in page]
    if request.query.get("api-version") == "1.0":
        return web.json_response(items)
    return web.json_response(
        {"ContinuationToken": page[-1].node_id if more else "", "Items": items}
    )


async def get_node(request: web.Request, cluster: SimCluster, args: list[str]) -> web.Response:
    node = cluster.nodes.get(args[0])
    if node is None:
        return web.Response(status=204)  # the SDK turns this into None
    return web.json_response(node_info(cluster, node))


async def get_node_health(
    request: web.Request, cluster: SimCluster, args: list[str]
) -> web.Response:
    node = cluster.nodes.get(args[0])
    if node is None:
        raise SimError("FABRIC_E_HEALTH_ENTITY_NOT_FOUND", "Entity not found in Health Store.")
    events = cluster.node_health_events(node)
    events_filter = _int(_query(request), "EventsHealthStateFilter")
    since = _since(cluster, node)
    state = worst([e[2] for e in events])
    return web.json_response(
        {
            "Name": node.name,
            "AggregatedHealthState": state,
            "HealthEvents": [
                health_event(cluster, e, since)
                for e in events
                if passes_health_filter(e[2], events_filter)
            ],
            "UnhealthyEvaluations": [
                _event_evaluation(cluster, e, since) for e in events if e[2] != "Ok"
            ],
            "HealthStatistics": {"HealthStateCountList": []},
        }
    )


async def deactivate(request: web.Request, cluster: SimCluster, args: list[str]) -> web.Response:
    try:
        body = json.loads(await request.text() or "{}")
    except json.JSONDecodeError:
        raise SimError("E_INVALIDARG", "The request body could not be parsed.") from None
    intent = body.get("DeactivationIntent") if isinstance(body, dict) else None
    if isinstance(intent, int) and not isinstance(intent, bool):
        intent = INTENT_BY_NUMBER.get(intent)  # SFX sends the number
    if not isinstance(intent, str):
        raise SimError("E_INVALIDARG", "DeactivationIntent is required.")
    cluster.deactivate(args[0], intent)
    return web.Response(status=200)


async def activate(request: web.Request, cluster: SimCluster, args: list[str]) -> web.Response:
    cluster.activate(args[0])
    return web.Response(status=200)


async def restart(request: web.Request, cluster: SimCluster, args: list[str]) -> web.Response:
    try:
        body = json.loads(await request.text() or "{}")
    except json.JSONDecodeError:
        raise SimError("E_INVALIDARG", "The request body could not be parsed.") from None
    instance = str(body.get("NodeInstanceId", "0")) if isinstance(body, dict) else "0"
    cluster.restart_fabric(args[0], instance)
    return web.Response(status=200)


async def cluster_health_handler(request: web.Request, cluster: SimCluster, args: list[str]):
    return web.json_response(cluster_health(cluster, _query(request)))


async def cluster_version(request: web.Request, cluster: SimCluster, args: list[str]):
    return web.json_response({"Version": cluster.scenario.code_version})


async def upgrade_progress(request: web.Request, cluster: SimCluster, args: list[str]):
    domains = sorted({n.upgrade_domain for n in cluster.nodes.values()}, key=int)
    return web.json_response(
        {
            "CodeVersion": cluster.scenario.code_version,
            "ConfigVersion": "5",
            "UpgradeDomains": [{"Name": d, "State": "Completed"} for d in domains],
            "UpgradeUnits": [],
            "UpgradeState": "RollingForwardCompleted",
            "NextUpgradeDomain": "",
            "RollingUpgradeMode": "UnmonitoredAuto",
            "UpgradeDurationInMilliseconds": "0",
            "UpgradeDomainDurationInMilliseconds": "0",
            "UnhealthyEvaluations": [],
            "CurrentUpgradeDomainProgress": {"DomainName": "", "NodeUpgradeProgressList": []},
            "StartTimestampUtc": NEVER,
            "FailureTimestampUtc": NEVER,
            "FailureReason": "None",
            "IsNodeByNode": False,
        }
    )


async def aad_metadata(request: web.Request, cluster: SimCluster, args: list[str]):
    return web.json_response({"type": "", "metadata": {}})


# (method, path segments lower-cased with "*" for a node name, minimum api-version, handler)
ROUTES: list[tuple[str, tuple[str, ...], float | None, Handler]] = [
    ("GET", (), None, get_root),
    ("GET", ("nodes",), 6.3, get_nodes),
    ("GET", ("nodes", "*"), 6.0, get_node),
    ("GET", ("nodes", "*", "$", "gethealth"), 6.0, get_node_health),
    ("POST", ("nodes", "*", "$", "gethealth"), 6.0, get_node_health),
    ("POST", ("nodes", "*", "$", "deactivate"), 6.0, deactivate),
    ("POST", ("nodes", "*", "$", "activate"), 6.0, activate),
    ("POST", ("nodes", "*", "$", "restart"), 6.0, restart),
    ("GET", ("$", "getclusterhealth"), 6.0, cluster_health_handler),
    ("POST", ("$", "getclusterhealth"), 6.0, cluster_health_handler),
    ("GET", ("$", "getclusterversion"), 6.4, cluster_version),
    ("GET", ("$", "getupgradeprogress"), 6.0, upgrade_progress),
    ("GET", ("$", "getaadmetadata"), 6.0, aad_metadata),
]
EXTRA_ROUTES: list[tuple[str, tuple[str, ...], float | None, Handler]] = []  # added by lease.py


def _query(request: web.Request) -> dict[str, str]:
    return dict(request.query)


def _match(method: str, segments: list[str]) -> tuple[Handler, float | None, list[str]] | None:
    lowered = [s.lower() for s in segments]
    for verb, pattern, min_version, handler in ROUTES + EXTRA_ROUTES:
        if verb != method or len(pattern) != len(segments):
            continue
        args = []
        for want, got, raw in zip(pattern, lowered, segments, strict=True):
            if want == "*":
                args.append(raw)
            elif want != got:
                break
        else:
            return handler, min_version, args
    return None


def _api_version_ok(request: web.Request, minimum: float) -> bool:
    text = request.query.get("api-version", "")
    try:
        major, _, rest = text.partition(".")
        version = float(f"{int(major)}.{rest.split('-')[0] or 0}")
    except ValueError:
        return False
    return version >= minimum or text == "1.0"


def make_app(cluster: SimCluster, log_request: Callable[..., None]) -> web.Application:
    """The gateway as an aiohttp application (served over mutual TLS by tui.sim.server)."""
    flaky = random.Random(cluster.scenario.seed)

    async def dispatch(request: web.Request) -> web.Response:
        response = await _answer(request)
        log_request("fabric", request.method, request.path_qs, response.status)
        return response

    async def _answer(request: web.Request) -> web.Response:
        delay = cluster.faults.delay("gateway-slow")
        if delay is not None:
            await asyncio.sleep(delay)
        rate = cluster.faults.arg("gateway-flaky")
        if rate and flaky.random() < float(rate):
            return fabric_error("FABRIC_E_SERVICE_TOO_BUSY", "The service is too busy.", 503)
        raw = request.raw_path.split("?", 1)[0]
        segments = [unquote(s) for s in raw.strip("/").split("/") if s]
        found = _match(request.method, segments)
        if found is None:
            return fabric_error("E_INVALIDARG", f"No such route: {request.method} {raw}", 404)
        handler, min_version, args = found
        await request.read()  # the body is cached, so handlers do not yield while holding the lock
        if min_version is not None and not _api_version_ok(request, min_version):
            return fabric_error(
                "FABRIC_E_INVALID_API_VERSION"
                if request.query.get("api-version")
                else "E_INVALIDARG",
                f"api-version {min_version} or later is required.",
                400,
            )
        try:
            with cluster.lock:
                cluster.advance()
                return await handler(request, cluster, args)
        except SimError as exc:
            return fabric_error(exc.code, exc.message)

    app = web.Application(
        middlewares=[
            unexpected_errors(
                "fabric", log_request, lambda message: fabric_error("E_FAIL", message, 500)
            )
        ]
    )
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app
