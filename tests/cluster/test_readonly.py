"""Read-only is enforced in the HTTP layer: the allow-list, the transports, and a read-only
session whose every reachable client, session, adapter, pool and connection is tried."""

from __future__ import annotations

import collections
import gc
import json
import socket
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
import urllib3
from azure.core.pipeline import Pipeline
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest
from azure.mgmt.compute import ComputeManagementClient
from azure.servicefabric import ServiceFabricClientAPIs
from msrest.service_client import ServiceClient

from tui.cluster import engines, readonly
from tui.cluster.readonly import ARM, DOCKER, FABRIC, is_allowed_read
from tui.commands.demo import build_session
from tui.errors import ReadOnlyError

SCALE_SETS = (
    "/subscriptions/8f3c/resourceGroups/contoso-rg/providers/Microsoft.Compute"
    "/virtualMachineScaleSets"
)

READS = [
    # what azure-servicefabric sends for the reads sfpatch makes
    (FABRIC, "GET", "/Nodes?api-version=6.3&NodeStatusFilter=all&MaxResults=0&timeout=30", True),
    (FABRIC, "GET", "/Nodes/_Legacy_0?api-version=6.0", True),
    (FABRIC, "GET", "/$/GetClusterHealth?api-version=6.0&ExcludeHealthStatistics=true", True),
    (FABRIC, "GET", "/$/GetUpgradeProgress?api-version=6.0", True),
    (FABRIC, "GET", "/$/GetClusterVersion?api-version=6.4", True),
    (FABRIC, "GET", "/$/GetAadMetadata?api-version=6.0", True),
    (FABRIC, "GET", "/Names/sfpatch~contoso/$/GetProperties?api-version=6.0", True),
    (FABRIC, "GET", "https://sf.example:19080/nodes?api-version=6.3", True),  # proxy form, case
    # Service Fabric mutations, and reads sent as POST
    (FABRIC, "POST", "/Nodes/_Legacy_0/$/Deactivate?api-version=6.0", False),
    (FABRIC, "POST", "/Nodes/_Legacy_0/$/Activate?api-version=6.0", False),
    (FABRIC, "POST", "/Nodes/_Legacy_0/$/Restart?api-version=6.0", False),
    (FABRIC, "POST", "/$/GetClusterHealth?api-version=6.0", False),
    (FABRIC, "POST", "/Names/sfpatch~contoso/$/GetProperties/$/SubmitBatch", False),
    (FABRIC, "PUT", "/Names/$/Create?api-version=6.0", False),
    (FABRIC, "DELETE", "/Names/sfpatch~contoso?api-version=6.0", False),
    (FABRIC, "get", "/Nodes?api-version=6.3", False),  # a method is case-sensitive on the wire
    (FABRIC, "HEAD", "/Nodes?api-version=6.3", False),
    (FABRIC, "GET", "/Nodes/_Legacy_0/$/GetHealth?api-version=6.0", False),  # not a read we make
    (FABRIC, "GET", "/Nodes/../$/GetClusterHealth?api-version=6.0", False),
    (FABRIC, "GET", "/Nodes/%2e%2e/$/GetClusterVersion", False),
    (FABRIC, "GET", "/Nodes/a\\..\\b", False),
    (FABRIC, "GET", "/Nodes//", False),
    # what azure-mgmt-compute sends
    (ARM, "GET", SCALE_SETS + "?api-version=2024-11-01", True),
    (ARM, "GET", SCALE_SETS + "/Legacy?api-version=2024-11-01", True),
    (ARM, "GET", SCALE_SETS + "/Legacy/virtualMachines?$expand=instanceView", True),
    (ARM, "GET", SCALE_SETS + "/Legacy/virtualMachines/0?$expand=instanceView", True),
    (ARM, "GET", SCALE_SETS + "/Legacy/virtualMachines/0/instanceView", True),
    (ARM, "GET", SCALE_SETS.lower() + "/legacy/virtualmachines?$skiptoken=x", True),  # nextLink
    (
        ARM,
        "GET",
        "/subscriptions/8f3c/providers/Microsoft.Compute/locations/westeurope"
        "/operations/1b2c?api-version=2024-11-01",
        True,
    ),  # fmt: skip
    (ARM, "POST", SCALE_SETS + "/Legacy/virtualMachines/0/restart", False),
    (ARM, "POST", SCALE_SETS + "/Legacy/virtualMachines/0/runCommand", False),
    (ARM, "POST", SCALE_SETS + "/Legacy/virtualMachines/0/reimage", False),
    (ARM, "POST", SCALE_SETS + "/Legacy/manualupgrade", False),
    (ARM, "PATCH", SCALE_SETS + "/Legacy", False),
    (ARM, "PUT", SCALE_SETS + "/Legacy", False),
    (ARM, "DELETE", SCALE_SETS + "/Legacy/virtualMachines/0", False),
    (ARM, "POST", "/subscriptions/8f3c/providers/Microsoft.Compute/register", False),
    (ARM, "GET", SCALE_SETS + "/Legacy/virtualMachines/0/runCommands", False),
    (
        ARM,
        "GET",
        "/subscriptions/8f3c/resourceGroups/contoso-rg/providers/Microsoft.Storage",
        False,
    ),
    # what docker-py sends
    (DOCKER, "GET", "/_ping", True),
    (DOCKER, "GET", "/v1.41/version", True),
    (DOCKER, "GET", "/v1.41/info", True),
    (DOCKER, "GET", "/v1.41/containers/json?all=1&limit=-1&size=0&trunc_cmd=0", True),
    (DOCKER, "GET", "/v1.41/containers/3f2a9c/json", True),
    (DOCKER, "GET", "/v1.41/images/json?only_ids=0&all=0", True),
    (DOCKER, "GET", "/v1.41/images/sha256:4f1e/json", True),
    (DOCKER, "GET", "/v1.41/images/mcr.microsoft.com/windows/servercore:ltsc2019/json", True),
    (DOCKER, "POST", "/v1.41/containers/create", False),
    (DOCKER, "POST", "/v1.41/containers/3f2a9c/stop", False),
    (DOCKER, "POST", "/v1.41/containers/3f2a9c/exec", False),
    (DOCKER, "DELETE", "/v1.41/containers/3f2a9c", False),
    (DOCKER, "POST", "/v1.41/images/create?fromImage=x", False),
    (DOCKER, "GET", "/v1.41/containers/3f2a9c/attach/ws", False),  # a websocket writes stdin
    (DOCKER, "GET", "/v1.41/containers/3f2a9c/export", False),
    (DOCKER, "GET", "/v1.41/Info", False),  # the engine routes case-sensitively
    (DOCKER, "GET", "/v1.41/images/../containers/3f2a9c/attach/ws/json", False),
    # an unknown service has no reads
    ("winrm", "GET", "/wsman", False),
]


@pytest.mark.parametrize(("service", "method", "path", "allowed"), READS)
def test_only_the_reads_sfpatch_makes_are_allowed(service, method, path, allowed) -> None:
    assert is_allowed_read(service, method, path) is allowed


# ------------------------------------------------------------------ nothing leaves the host


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback port that would see any connection attempt (accept() finds it queued)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        yield server


def connected(server: socket.socket) -> bool:
    try:
        client, _ = server.accept()
    except BlockingIOError:
        return False
    client.close()
    return True


def attempts(url: str) -> list[tuple[str, Callable[[], Any]]]:
    """A POST through each layer of the read-only requests and azure-core stacks."""
    session = requests.Session()
    readonly.mount_read_only(session, DOCKER)
    adapter = session.get_adapter(url)
    prepared = requests.Request("POST", url + "/v1.41/containers/create", json={}).prepare()
    manager = adapter.poolmanager
    pool = manager.connection_from_url(url)
    host, port = url.removeprefix("http://").split(":")
    return [
        ("session", lambda: session.post(url + "/v1.41/containers/create", json={})),
        ("adapter", lambda: adapter.send(prepared)),
        ("pool manager", lambda: manager.urlopen("POST", url + "/v1.41/containers/create")),
        ("pool", lambda: pool.urlopen("POST", "/v1.41/containers/create")),
        ("connection", lambda: pool.ConnectionCls(host, int(port)).request("POST", "/")),
        (
            "azure-core transport",
            lambda: readonly.ReadOnlyTransport().send(
                HttpRequest("POST", url + "/subscriptions/1/providers/Microsoft.Compute/register")
            ),
        ),  # fmt: skip
    ]


@pytest.mark.parametrize("layer", [name for name, _ in attempts("http://127.0.0.1:9")])
def test_a_refused_request_sends_no_byte(listener, layer) -> None:
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    send = dict(attempts(url))[layer]
    with pytest.raises(ReadOnlyError, match="read-only: POST /"):
        send()
    assert not connected(listener)


def test_the_same_adapter_sends_a_read(listener) -> None:
    """The guard is not a closed door: a read goes out (and fails here only on the reply)."""
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    session = requests.Session()
    readonly.mount_read_only(session, DOCKER)
    with pytest.raises(requests.RequestException):
        session.get(url + "/v1.41/info", timeout=(5, 0.01))  # no reply comes
    assert connected(listener)


# ------------------------------------------------------------------ a read-only session


def reachable(root: object, limit: int = 400_000) -> list[object]:
    """Every object reachable from `root` through references (bounded). Modules and classes are
    not followed (they reach the whole interpreter), nor a function's globals: its closure is."""
    seen = {id(root)}
    queue: collections.deque[object] = collections.deque([root])
    found = []
    while queue and len(seen) < limit:
        obj = queue.popleft()
        found.append(obj)
        if isinstance(obj, type | types.ModuleType | types.CodeType):
            continue
        if isinstance(obj, types.FunctionType):
            refs = [cell.cell_contents for cell in obj.__closure__ or ()]
            refs += list(obj.__defaults__ or ())
        else:
            refs = gc.get_referents(obj)
        for ref in refs:
            if id(ref) not in seen:
                seen.add(id(ref))
                queue.append(ref)
    return found


def mutations(
    obj: object, urls: dict[str, str], arm: tuple[str, str], sweep: dict[str, Any]
) -> list[Callable[[], Any]]:
    """Ways to send a mutation through `obj`, by what it is; [] for anything else."""
    group, scale_set = arm
    if isinstance(obj, ServiceFabricClientAPIs):
        return [
            lambda: obj.disable_node("_Legacy_0", deactivation_intent="Restart"),
            lambda: obj.enable_node("_Legacy_0"),
            lambda: obj.restart_node("_Legacy_0", node_instance_id="0"),
        ]
    if isinstance(obj, ServiceClient):  # msrest, below the generated client
        return [lambda: obj.send(obj.post(urls[FABRIC] + "/Nodes/_Legacy_0/$/Deactivate"))]
    if isinstance(obj, ComputeManagementClient):
        vms = obj.virtual_machine_scale_set_vms
        return [
            lambda: vms.begin_restart(group, scale_set, "0"),
            lambda: vms.begin_run_command(group, scale_set, "0", {"commandId": "x"}),
            lambda: obj.virtual_machine_scale_sets.begin_deallocate(group, scale_set),
        ]
    if type(obj).__module__.startswith("azure.mgmt.compute.operations"):  # every operation group
        url = f"{urls[ARM]}/subscriptions/x/resourceGroups/{group}/providers/Microsoft.Compute"
        return [lambda: obj._client.send_request(HttpRequest("POST", url + "/register"))]
    if isinstance(obj, Pipeline):
        return [lambda: obj.run(HttpRequest("DELETE", urls[ARM] + "/subscriptions/x"))]
    if isinstance(obj, HttpTransport):
        return [lambda: obj.send(HttpRequest("PUT", urls[ARM] + "/subscriptions/x"))]
    if isinstance(obj, engines.EngineCache):  # the inventory's engine sweep, below its reads
        d = sweep
        conn = engines.EngineConnection(d["endpoint"], d["ca"], d["client_cert"], d["client_key"])
        return [
            lambda: obj.open(conn).connection().request("POST", "/v1.41/containers/create"),
            lambda: obj.open(conn).connection().request("DELETE", "/v1.41/containers/x"),
            lambda: obj.open(conn).connection().request("GET", "/v1.41/containers/x/logs"),
        ]
    if isinstance(obj, docker.DockerClient):
        return [lambda: obj.containers.create("mcr.microsoft.com/windows/nanoserver:ltsc2022")]
    if isinstance(obj, docker.APIClient):
        return [
            lambda: obj.create_container("x"),
            lambda: obj.stop("x"),
            lambda: obj.post(obj._url("/containers/create"), json={}),  # as a requests.Session
        ]
    if isinstance(obj, requests.Session):
        return [lambda url=url: obj.post(url + "/x", json={}) for url in urls.values()]
    if isinstance(obj, requests.adapters.HTTPAdapter):
        return [
            lambda url=url: obj.send(requests.Request("POST", url + "/x").prepare(), timeout=5)
            for url in urls.values()
        ]
    if isinstance(obj, urllib3.PoolManager):
        return [lambda url=url: obj.urlopen("POST", url + "/x") for url in urls.values()]
    if isinstance(obj, urllib3.HTTPConnectionPool):
        return [lambda: obj.urlopen("POST", "/x")]
    if isinstance(obj, urllib3.connection.HTTPConnection):
        return [lambda: obj.request("POST", "/x")]
    return []


KINDS = {
    "Service Fabric client": ServiceFabricClientAPIs,
    "msrest ServiceClient": ServiceClient,
    "ComputeManagementClient": ComputeManagementClient,
    "azure-core pipeline": Pipeline,
    "azure-core transport": HttpTransport,
    "engine sweep": engines.EngineCache,
    "requests Session": requests.Session,
    "requests adapter": requests.adapters.HTTPAdapter,
    "urllib3 pool manager": urllib3.PoolManager,
    "urllib3 pool": urllib3.HTTPConnectionPool,
    "urllib3 connection": urllib3.connection.HTTPConnection,
}


def test_nothing_a_read_only_session_holds_can_mutate(sim, tmp_path: Path) -> None:
    session = build_session(sim, tmp_path / "t", "", poll=3600, read_only=True)
    try:
        snapshot = (
            session.engine.observe().snapshot
        )  # reads go through: clients, pools, connections
        assert len(snapshot.nodes) == 8 and len(snapshot.engines) == 8, snapshot.errors
        assert len(snapshot.scale_sets) == 2 and not snapshot.errors
        objects = reachable(session)
        arm = sim.endpoints["arm"]
        d = sim.endpoints["docker"]
        docker_url = d["nodes"]["_Legacy_0"]
        sweep = {
            "endpoint": docker_url,
            **{k: Path(d[k]) for k in ("ca", "client_cert", "client_key")},
        }
        urls = {
            FABRIC: sim.endpoints["fabric"]["endpoint"],
            ARM: arm["endpoint"].rstrip("/"),
            DOCKER: docker_url.replace("tcp://", "https://"),
        }
        tried: collections.Counter[str] = collections.Counter()
        sent = []
        for obj in objects:
            for attempt in mutations(obj, urls, (arm["resource_group"], "Legacy"), sweep):
                kind = next((k for k, cls in KINDS.items() if isinstance(obj, cls)), "ARM group")
                tried[kind] += 1
                try:
                    attempt()
                except ReadOnlyError:
                    continue
                except Exception as exc:  # noqa: BLE001 - anything but a refusal is a failure
                    sent.append(f"{type(obj).__name__}: {type(exc).__name__}: {exc}"[:200])
                else:
                    sent.append(f"{type(obj).__name__}: sent")
        assert not sent, sent
        missing = [kind for kind in [*KINDS, "ARM group"] if not tried[kind]]
        assert not missing, f"the walk found no {missing}"
        assert tried["engine sweep"] == 3 and tried["ARM group"] > 10
    finally:
        session.close()
    log = [json.loads(line) for line in (sim.state_dir / "requests.jsonl").open()]
    assert log and {r["method"] for r in log} == {"GET"}, [r for r in log if r["method"] != "GET"]
    assert sim.cluster.nodes["_Legacy_0"].intent == "Invalid"
