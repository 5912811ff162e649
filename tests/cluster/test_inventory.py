"""The inventory against the simulator: the three SDKs over loopback TLS, joined by node name."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl

import docker
import pytest

from tui.cluster import engines, fabric
from tui.cluster.inventory import Inventory, gather, node_patch_targets, refresh_health
from tui.cluster.inventory import connect as connect_inventory
from tui.config import ClusterProfile, GatewayProfile, load_profile
from tui.errors import ClusterError
from tui.model import (
    HEALTH_READ,
    NODES_READ,
    ClusterSnapshot,
    Container,
    Engine,
    Image,
    SourceError,
)
from tui.rules.compat import CONTAINER_OS_MISMATCH
from tui.sim.faults import parse_fault
from tui.sim.server import SimServer
from tui.sim.state import SimContainer
from tui.winver import parse_version


@pytest.fixture
def profile(sim: SimServer) -> ClusterProfile:
    """The profile the simulator wrote for itself."""
    return load_profile("contoso-prod", sim.profile_path)


@pytest.fixture
def connect(sim: SimServer) -> Iterator[Callable[..., Inventory]]:
    """tui.cluster.inventory.connect, with each inventory closed before the simulator stops
    (an inventory keeps its docker clients, and their connections, across gathers)."""
    made: list[Inventory] = []

    def build(profile: ClusterProfile, now: Callable[[], datetime] | None = None) -> Inventory:
        made.append(connect_inventory(profile, now))
        return made[-1]

    yield build
    for inventory in made:
        inventory.close()


def test_every_node_joins_its_instance_and_engine(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    snapshot = gather(connect(profile, sim.clock.now))
    names = [n.name for n in snapshot.nodes]
    assert sorted(names) == sorted(
        [f"_FrontEnd_{i}" for i in range(5)] + ["_Legacy_0", "_Legacy_1", "_Legacy_2"]
    )
    assert snapshot.errors == ()
    assert sorted(s.name for s in snapshot.scale_sets) == ["FrontEnd", "Legacy"]
    assert sorted(i.node_name for i in snapshot.instances) == sorted(names)
    assert sorted(snapshot.engines) == sorted(names)
    for node in snapshot.nodes:
        engine = snapshot.engines[node.name]
        assert engine.node_name == node.name
        assert engine.endpoint.startswith(f"tcp://{node.ip_address}:")
    legacy = {n: e.os_version for n, e in snapshot.engines.items() if n.startswith("_Legacy_")}
    assert set(legacy.values()) == {"10.0.14393.1770"}
    assert snapshot.engines["_FrontEnd_4"].os_version == "10.0.17763.5576"
    assert snapshot.engines["_FrontEnd_0"].os_version == "10.0.17763.6054"
    batch = snapshot.engines["_Legacy_0"]
    assert {c.image for c in batch.containers} == {
        "contoso/billing-api:2.3",
        "contoso/ledger-worker:1.8",
        "microsoft/windowsservercore:10.0.14393.1770",
    }
    assert {i.os_version for i in batch.images} == {"10.0.14393.1770"}
    frontend = snapshot.engines["_FrontEnd_2"].containers
    reports = next(c for c in frontend if c.image == "contoso/reports:1.2")
    assert reports.isolation == "hyperv"
    assert snapshot.code_version == "10.1.2175.9590"
    assert snapshot.health.aggregated == "Ok"
    assert snapshot.taken_at == sim.clock.now()


def test_engine_down_degrades_only_that_node(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    sim.cluster.faults.add(parse_fault("engine-down:_Legacy_1"))
    snapshot = gather(connect(profile))
    assert "_Legacy_1" not in snapshot.engines
    assert len(snapshot.engines) == 7 and len(snapshot.nodes) == 8
    [error] = snapshot.errors
    assert (error.source, error.subject) == ("docker", "_Legacy_1")
    assert "_Legacy_1" in error.message and "\n" not in error.message


def test_gateway_down_keeps_the_scale_sets(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    sim.cluster.faults.add(parse_fault("gateway-flaky:1"))
    snapshot = gather(connect(profile))
    assert snapshot.nodes == () and snapshot.engines == {}
    assert snapshot.health.aggregated == "Unknown"
    assert len(snapshot.scale_sets) == 2 and len(snapshot.instances) == 8
    assert {e.source for e in snapshot.errors} == {"fabric"}
    assert [e.message.split(":")[0] for e in snapshot.errors] == [
        "list nodes",
        "get cluster health",
        "get upgrade progress",
        "get cluster version",
    ]


def test_flaky_gateway_is_retried(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    # The simulator's flaky gateway draws from a seeded RNG and the gateway reads run in a fixed
    # order, so which calls fail is the same every run: with retries nothing is lost.
    sim.cluster.faults.add(parse_fault("gateway-flaky:0.5"))
    patient = replace(profile, inventory=replace(profile.inventory, retries=5))
    snapshot = gather(connect(patient))
    assert snapshot.errors == ()
    assert len(snapshot.nodes) == 8 and len(snapshot.engines) == 8
    requests = (sim.state_dir / "requests.jsonl").read_text()
    assert '"status": 503' in requests  # the fault did bite
    without_retries = replace(profile, inventory=replace(profile.inventory, retries=0))
    sim.cluster.faults.add(parse_fault("gateway-flaky:1"))
    assert gather(connect(without_retries)).nodes == ()


def test_health_refresh_reuses_arm_and_docker(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    inventory = connect(profile, sim.clock.now)
    first = gather(inventory)
    sim.cluster.deactivate("_FrontEnd_1", "Restart")
    sim.cluster.faults.add(parse_fault("engine-down:_Legacy_0"))  # not read by a health refresh
    sim.clock.advance(60)
    second = refresh_health(inventory, first)
    assert second.node("_FrontEnd_1").status in ("Disabling", "Disabled")
    assert first.node("_FrontEnd_1").status == "Up"
    assert second.engines == first.engines and second.scale_sets is first.scale_sets
    assert second.instances is first.instances and second.errors == ()
    assert second.taken_at == first.taken_at.replace() + (second.taken_at - first.taken_at)
    assert (second.taken_at - first.taken_at).total_seconds() == 60


def test_health_refresh_keeps_last_nodes_when_the_gateway_fails(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    inventory = connect(profile)
    first = gather(inventory)
    sim.cluster.faults.add(parse_fault("gateway-flaky:1"))
    second = refresh_health(inventory, first)
    assert second.nodes == first.nodes
    assert second.health.aggregated == "Unknown"
    assert [e.source for e in second.errors] == ["fabric", "fabric"]


class Calls:
    """Counts the calls of `module.name`, which still does its work."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> None:
        self.count = 0
        real = getattr(module, name)

        def counted(*args: object, **kwargs: object) -> object:
            self.count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)


def test_an_unchanged_gateway_answer_builds_nothing_and_is_still_read(
    sim: SimServer,
    profile: ClusterProfile,
    connect: Callable[..., Inventory],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    moments = iter(datetime(2026, 11, 26, 9, 0, s, tzinfo=UTC) for s in range(60))
    inventory = connect(profile, lambda: next(moments))
    first = gather(inventory)
    nodes = Calls(monkeypatch, fabric, "node_from_json")
    healths = Calls(monkeypatch, fabric, "_health_from_json")
    served = len((sim.state_dir / "requests.jsonl").read_text().splitlines())
    second = refresh_health(inventory, first)
    assert second.nodes is first.nodes and second.health is first.health
    assert second.errors is first.errors
    assert (nodes.count, healths.count) == (0, 0)  # nothing built from them again
    log = (sim.state_dir / "requests.jsonl").read_text().splitlines()[served:]
    assert [json.loads(r)["path"].split("?")[0] for r in log] == ["/Nodes", "/$/GetClusterHealth"]
    assert second.taken_at > first.taken_at  # a new read, of the same answer


def test_a_changed_node_is_built_again_and_shows(
    sim: SimServer,
    profile: ClusterProfile,
    connect: Callable[..., Inventory],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inventory = connect(profile)
    first = refresh_health(inventory, gather(inventory))
    nodes = Calls(monkeypatch, fabric, "node_from_json")
    sim.cluster.deactivate("_FrontEnd_1", "Restart")
    second = refresh_health(inventory, first)
    assert second.node("_FrontEnd_1").status in ("Disabling", "Disabled")
    assert second.nodes is not first.nodes and nodes.count == len(first.nodes)


def test_a_failed_read_after_unchanged_ones_leaves_the_nodes_unread(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    without_retries = replace(profile, inventory=replace(profile.inventory, retries=0))
    inventory = connect(without_retries)
    first = refresh_health(inventory, gather(inventory))
    fault = parse_fault("gateway-flaky:1")
    sim.cluster.faults.add(fault)
    failed = refresh_health(inventory, first)
    assert failed.unread("fabric", NODES_READ) and failed.unread("fabric", HEALTH_READ)
    assert failed.nodes is first.nodes  # kept, and marked as not read now
    sim.cluster.faults.remove(fault)
    again = refresh_health(inventory, failed)
    assert again.errors == () and again.nodes is first.nodes  # read, the same answer


def test_missing_scale_set_degrades_only_arm(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    assert profile.arm is not None
    arm = replace(profile.arm, scale_sets={"FrontEnd": "FrontEnd", "Legacy": "legacy-vmss"})
    snapshot = gather(connect(replace(profile, arm=arm)))
    assert [s.name for s in snapshot.scale_sets] == ["FrontEnd"]
    [error] = snapshot.errors
    assert (error.source, error.subject) == ("arm", "legacy-vmss")
    assert len(snapshot.engines) == 8


def test_progress_counts_every_call(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    seen: list[tuple[int, int, str]] = []
    gather(connect(profile), lambda done, total, what: seen.append((done, total, what)))
    # 4 gateway reads, 2 per scale set, 1 per engine.
    assert max(done for done, _, _ in seen) == 4 + 2 * 2 + 8
    assert seen[-1][0] == seen[-1][1]
    assert {what for _, _, what in seen} >= {"nodes", "engine _Legacy_2", "instances of Legacy"}


def served(sim: SimServer) -> list[dict]:
    return [json.loads(x) for x in (sim.state_dir / "requests.jsonl").read_text().splitlines()]


def test_with_a_screen_to_fill_in_arm_and_the_engines_wait_for_the_gateways_part(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    # A screen drawing a thousand nodes is slowed to seconds by reads running beside it.
    before = len(served(sim))
    read_by_then: list[set[str]] = []

    def on_gateway(part: ClusterSnapshot) -> None:
        read_by_then.append({r["protocol"] for r in served(sim)[before:]})
        assert len(part.nodes) == 8 and not part.engines and not part.instances

    snapshot = gather(connect(profile), on_gateway=on_gateway)
    assert read_by_then == [{"fabric"}]
    assert len(snapshot.instances) == 8 and len(snapshot.engines) == 8
    assert {r["protocol"] for r in served(sim)[before:]} == {"fabric", "arm", "docker"}


def test_the_full_snapshot_is_the_gateways_part_with_the_rest_added(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    parts: list[ClusterSnapshot] = []
    snapshot = gather(connect(profile, sim.clock.now), on_gateway=parts.append)
    [part] = parts
    for name in ("cluster_name", "endpoint", "code_version", "nodes", "health"):
        assert getattr(snapshot, name) == getattr(part, name), name
    assert snapshot.upgrade_domain_states == part.upgrade_domain_states
    assert snapshot.code_version and snapshot.upgrade_domain_states
    assert snapshot.cluster_durability == {
        n: nt.durability for n, nt in profile.node_types.items() if nt.durability
    }


def test_pinned_server_thumbprint(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    thumbprint = sim.endpoints["fabric"]["server_thumbprint"]
    pinned = replace(
        profile, gateway=replace(profile.gateway, ca=None, server_thumbprints=(thumbprint,))
    )
    assert len(gather(connect(pinned)).nodes) == 8
    wrong = replace(pinned, gateway=replace(pinned.gateway, server_thumbprints=("0" * 40,)))
    snapshot = gather(connect(wrong))
    assert snapshot.nodes == ()
    assert "not trusted" in snapshot.errors[0].message


def test_aad_token_needs_a_scope_the_cluster_does_not_publish(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    aad = replace(profile, gateway=replace(profile.gateway, aad=True))
    with pytest.raises(ClusterError, match="publishes no AAD metadata: set aad_scope"):
        connect(aad)
    scoped = replace(aad, gateway=replace(aad.gateway, aad_scope="api://contoso-prod/.default"))
    assert len(gather(connect(scoped)).nodes) == 8


def test_profile_without_arm_or_docker_reads_the_gateway_only(
    sim: SimServer, tmp_path: Path, connect: Callable[..., Inventory]
) -> None:
    f = sim.endpoints["fabric"]
    gateway = GatewayProfile(f["endpoint"], client_pem=Path(f["client_pem"]), ca=Path(f["ca"]))
    snapshot = gather(connect(ClusterProfile("bare", tmp_path, gateway)))
    assert len(snapshot.nodes) == 8
    assert (snapshot.scale_sets, snapshot.engines, snapshot.errors) == ((), {}, ())


def test_node_patch_targets_spreads_node_types(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    snapshot = gather(connect(profile))
    legacy = parse_version("10.0.14393.1944")
    assert node_patch_targets(snapshot.nodes, {"Legacy": legacy, "Nope": legacy}) == {
        "_Legacy_0": legacy,
        "_Legacy_1": legacy,
        "_Legacy_2": legacy,
    }


def test_source_error_is_kept_as_data() -> None:
    assert SourceError("docker", "_Legacy_1", "x") == SourceError("docker", "_Legacy_1", "x")


# ------------------------------------------------------------------ repeated gathers


def docker_requests(sim: SimServer) -> list[tuple[str, str]]:
    """(node, path) of every Engine API request the simulator served so far."""
    lines = (sim.state_dir / "requests.jsonl").read_text().splitlines()
    records = [r for r in map(json.loads, lines) if r["protocol"] == "docker"]
    return [(r["node"], _short(r["path"])) for r in records]


def _short(path_qs: str) -> str:
    """A request path without its query, but for the filters of a container list."""
    path, _, query = path_qs.partition("?")
    args = dict(parse_qsl(query))
    if "filters" not in args:
        return path
    filters = json.dumps(json.loads(args["filters"]), separators=(",", ":"))
    return f"{path}?all={args.get('all', '0')}&filters={filters}"


def gather_counting(sim: SimServer, inventory: Inventory) -> tuple[ClusterSnapshot, list]:
    """A gather and the Engine API requests it made."""
    before = len(docker_requests(sim))
    snapshot = gather(inventory)
    return snapshot, docker_requests(sim)[before:]


def test_warm_gather_lists_containers_only(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    inventory = connect(profile, sim.clock.now)
    cold, cold_requests = gather_counting(sim, inventory)
    warm, warm_requests = gather_counting(sim, inventory)
    assert warm.engines == cold.engines and warm.errors == ()
    assert len(inventory.engine_cache) == 8  # one kept client per engine
    assert sorted(warm_requests) == sorted(
        (name, "/v1.41/containers/json") for name in cold.engines
    )
    assert len(warm_requests) < len(cold_requests)
    assert {path for _, path in cold_requests} >= {"/v1.41/info", "/v1.41/images/json"}


def test_an_unchanged_container_list_gives_back_the_last_engine_and_is_still_read(
    sim: SimServer,
    profile: ClusterProfile,
    connect: Callable[..., Inventory],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inventory = connect(profile, sim.clock.now)
    cold = gather(inventory)
    listed = Calls(monkeypatch, engines, "listed_container")  # containers built
    warm, requests = gather_counting(sim, inventory)
    assert warm.errors == () and sorted(warm.engines) == sorted(cold.engines)
    assert all(warm.engines[name] is cold.engines[name] for name in cold.engines)
    assert warm.engines is cold.engines  # so a pane drawn from the map skips it whole
    assert sorted(requests) == sorted((name, "/v1.41/containers/json") for name in cold.engines)
    assert listed.count == 0


def test_a_changed_container_list_gives_a_new_engine_with_what_changed(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    inventory = connect(profile, sim.clock.now)
    first = gather(inventory)
    [stopped] = [c for c in sim.cluster.nodes["_FrontEnd_2"].containers][:1]
    with sim.cluster.lock:
        stopped.running, stopped.exit_code, stopped.error = False, 1, "boom"
        stopped.finished_at = sim.clock.now()
    second, requests = gather_counting(sim, inventory)
    changed = second.engines["_FrontEnd_2"]
    assert changed is not first.engines["_FrontEnd_2"] and second.engines is not first.engines
    assert next(c for c in changed.containers if c.id == stopped.id).error == "boom"
    assert ("_FrontEnd_2", f"/v1.41/containers/{stopped.id}/json") in requests
    assert all(second.engines[n] is first.engines[n] for n in first.engines if n != "_FrontEnd_2")


def test_a_list_that_moved_on_only_in_its_status_durations_gives_back_the_last_engine(
    sim: SimServer,
    profile: ClusterProfile,
    connect: Callable[..., Inventory],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a live cluster 'Up 3 hours' becomes 'Up 4 hours' between two reads of an engine
    where nothing else moved: the same engine is given back, nothing built, judged or drawn."""
    [stopped] = sim.cluster.nodes["_FrontEnd_2"].containers[:1]
    with sim.cluster.lock:
        stopped.running, stopped.exit_code = False, 1
        stopped.finished_at = sim.clock.now()
    inventory = connect(profile, sim.clock.now)
    first = gather(inventory)
    listed = Calls(monkeypatch, engines, "listed_container")
    sim.clock.advance(3 * 3600)
    second, requests = gather_counting(sim, inventory)
    assert second.errors == () and listed.count == 0
    assert all(second.engines[name] is first.engines[name] for name in first.engines)
    assert sorted(requests) == sorted((name, "/v1.41/containers/json") for name in first.engines)
    served = {c["Id"]: c["Status"] for c in _listed_by_docker(sim, "_FrontEnd_2")}
    kept = {c.id: c.status for c in first.engines["_FrontEnd_2"].containers}
    assert served.keys() == kept.keys() and served[stopped.id].startswith("Exited (1) 3 hours")
    assert all(served[ident] != kept[ident] for ident in served)  # every duration moved on


@pytest.mark.parametrize(
    ("before", "after", "same"),
    [
        ("Up 3 hours", "Up 4 hours", True),
        ("Up Less than a second", "Up About an hour", True),
        ("Up 1 second", "Up 2 weeks", True),
        ("Exited (0) About a minute ago", "Exited (0) 5 months ago", True),
        ("Restarting (1) 2 seconds ago", "Restarting (1) 1 year ago", True),
        ("Up 2 days (healthy)", "Up 3 days (healthy)", True),
        ("Up 2 days (healthy)", "Up 2 days (unhealthy)", False),
        ("Up 2 hours", "Up 2 hours (Paused)", False),
        ("Exited (1) 2 minutes ago", "Exited (2) 2 minutes ago", False),
        ("Up 5 minutes", "Exited (0) 5 minutes ago", False),
        ("Created", "Up 1 second", False),
    ],
)
def test_a_container_lists_digest_leaves_out_only_the_durations_of_status(
    before: str, after: str, same: bool
) -> None:
    def listing(status: str) -> bytes:  # as docker writes it, no spaces
        entry = {"Id": "a1", "State": "running", "Status": status, "Labels": {}}
        return json.dumps([entry], separators=(",", ":")).encode()

    digests = engines.listing_digest(listing(before)), engines.listing_digest(listing(after))
    assert (digests[0] == digests[1]) is same


def test_a_failed_list_after_an_unchanged_one_fails_and_drops_the_last_read(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    inventory = connect(profile, sim.clock.now)
    gather(inventory)
    warm = gather(inventory)  # the same lists: each engine is the last read's
    fault = parse_fault("engine-down:_Legacy_1")
    sim.cluster.faults.add(fault)
    down = gather(inventory)
    assert "_Legacy_1" not in down.engines
    assert [(e.source, e.subject) for e in down.errors] == [("docker", "_Legacy_1")]
    assert inventory.engine_cache.last("_Legacy_1") is None
    sim.cluster.faults.remove(fault)
    back, requests = gather_counting(sim, inventory)
    assert back.engines["_Legacy_1"] is not warm.engines["_Legacy_1"]  # read afresh, in full
    assert back.engines["_Legacy_1"] == warm.engines["_Legacy_1"]
    assert [n for n, path in requests if path == "/v1.41/info"] == ["_Legacy_1"]


def test_unchanged_arm_pages_give_back_the_same_instances(
    sim: SimServer,
    profile: ClusterProfile,
    connect: Callable[..., Inventory],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tui.cluster import compute
    from tui.sim import arm

    monkeypatch.setattr(arm, "PAGE_SIZE", 2)  # FrontEnd's five VMs on three pages
    inventory = connect(profile, sim.clock.now)
    first = gather(inventory)
    built = []
    instance_from_sdk = compute.instance_from_sdk
    monkeypatch.setattr(
        compute, "instance_from_sdk", lambda *a: built.append(a) or instance_from_sdk(*a)
    )
    second = gather(inventory)
    assert built == [] and len(second.instances) == 8
    assert second.instances is first.instances
    sim.cluster.reboot_host("_FrontEnd_3", 0, None)  # on FrontEnd's second page: not running
    third = gather(inventory)
    assert len(built) == 2 and third.instances is not first.instances  # that page's two VMs
    by_node = {i.node_name: i for i in first.instances}
    for instance in third.instances:
        same = instance.node_name not in ("_FrontEnd_2", "_FrontEnd_3")
        assert (instance is by_node[instance.node_name]) is same
    rebooted = next(i for i in third.instances if i.node_name == "_FrontEnd_3")
    assert rebooted.power_state != by_node["_FrontEnd_3"].power_state


def test_cold_gather_reads_four_requests_per_node(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    snapshot, requests = gather_counting(sim, connect(profile, sim.clock.now))
    per_node = [
        "/v1.41/containers/json",
        '/v1.41/containers/json?all=1&filters={"isolation":["hyperv"]}',
        "/v1.41/images/json",
        "/v1.41/info",
    ]
    for name in snapshot.engines:
        mine = sorted(path for n, path in requests if n == name)
        assert [p for p in mine if not p.startswith("/v1.41/images/sha256:")] == per_node
    assert not any(
        p.startswith("/v1.41/containers/")
        and p.endswith("/json")
        and "?" not in p
        and p != "/v1.41/containers/json"
        for _, p in requests
    )  # all running
    image_inspects = [p for _, p in requests if p.startswith("/v1.41/images/sha256:")]
    assert sorted(image_inspects) == sorted(set(image_inspects))  # each image id once
    assert len(image_inspects) == len({i.id for e in snapshot.engines.values() for i in e.images})


def _docker(sim: SimServer, node: str) -> docker.DockerClient:
    d = sim.endpoints["docker"]
    conn = engines.EngineConnection(
        d["nodes"][node], Path(d["ca"]), Path(d["client_cert"]), Path(d["client_key"])
    )
    return engines.build_client(conn)


def _listed_by_docker(sim: SimServer, node: str) -> list[dict]:
    """The container list (all=1) as the docker SDK reads it."""
    client = _docker(sim, node)
    try:
        return client.api.containers(all=True)
    finally:
        client.close()


def _inspected(sim: SimServer, node: str) -> dict[str, tuple]:
    """Each container's facts as the docker SDK's models give them (a full inspect each)."""
    client = _docker(sim, node)
    try:
        default = client.info()["Isolation"]
        facts = {}
        for c in client.containers.list(all=True):
            isolation = c.attrs["HostConfig"]["Isolation"] or default
            state = c.attrs["State"]
            facts[c.id] = (
                c.name,
                c.attrs["Config"]["Image"],
                c.attrs["Image"],
                "process" if isolation == "default" else isolation,
                state["Status"],
                state["ExitCode"],
                state["Error"],
            )
        return facts
    finally:
        client.close()


def _facts(engine: Engine) -> dict[str, tuple]:
    return {
        c.id: (c.name, c.image, c.image_id, c.isolation, c.state, c.exit_code, c.error)
        for c in engine.containers
    }


def test_listed_containers_have_the_facts_of_a_full_inspect(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    inventory = connect(profile, sim.clock.now)
    gather(inventory)
    sim.cluster.reboot_host("_Legacy_0", 0, parse_version("10.0.14393.1944"))
    sim.clock.advance(sim.cluster.scenario.timing.restart)
    warm = gather(inventory)  # _Legacy_0 read in full again, its containers exited
    cold = gather(connect(profile, sim.clock.now))
    assert {c.state for c in cold.engines["_Legacy_0"].containers} == {"exited"}
    assert "hyperv" in {c.isolation for e in cold.engines.values() for c in e.containers}
    for name in cold.engines:
        assert _facts(cold.engines[name]) == _inspected(sim, name)
        assert _facts(warm.engines[name]) == _facts(cold.engines[name])


def test_warm_gather_sees_a_patched_host_and_its_exited_containers(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    inventory = connect(profile, sim.clock.now)
    first = gather(inventory)
    gather(inventory)  # warm: every node's last read is cached
    sim.cluster.reboot_host("_Legacy_0", 0, parse_version("10.0.14393.1944"))
    sim.clock.advance(sim.cluster.scenario.timing.restart)
    after, requests = gather_counting(sim, inventory)
    assert after.node("_Legacy_0").instance_id != first.node("_Legacy_0").instance_id
    patched = after.engines["_Legacy_0"]
    assert patched.os_version == "10.0.14393.1944"
    assert len(patched.containers) == 3
    for container in patched.containers:
        assert (container.state, container.exit_code) == ("exited", 3221684481)
        assert container.error.endswith(CONTAINER_OS_MISMATCH)
        assert container.status.startswith("Exited (3221684481) ")
    assert ("_Legacy_0", "/v1.41/info") in requests  # a new node instance: read in full
    assert [n for n, path in requests if path == "/v1.41/info"] == ["_Legacy_0"]
    # The others were refreshed from their container list, where only the durations moved.
    untouched = after.engines["_Legacy_1"]
    assert untouched.os_version == "10.0.14393.1770"
    assert {c.state for c in untouched.containers} == {"running"}
    assert untouched is first.engines["_Legacy_1"]


def test_warm_gather_lists_the_isolation_of_a_new_container(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    inventory = connect(profile, sim.clock.now)
    gather(inventory)
    node = sim.cluster.nodes["_FrontEnd_0"]
    with sim.cluster.lock:
        node.containers.append(
            SimContainer(
                id="ab" * 32,
                name="sf-reports-frontend-0",
                image="contoso/reports:1.2",
                isolation="hyperv",
                application="fabric:/Reports",
                created=sim.clock.now(),
                started_at=sim.clock.now(),
            )
        )
        node.images = (*node.images, "contoso/reports:1.2")
    handshakes = inventory.engine_cache.stats.handshakes
    snapshot, requests = gather_counting(sim, inventory)
    assert inventory.engine_cache.stats.handshakes - handshakes == 8  # all on one connection each
    engine = snapshot.engines["_FrontEnd_0"]
    new = next(c for c in engine.containers if c.id == "ab" * 32)
    assert (new.isolation, new.image, new.state) == ("hyperv", "contoso/reports:1.2", "running")
    assert {i.repo_tags[0]: i.os_version for i in engine.images}["contoso/reports:1.2"] == (
        "10.0.14393.2214"
    )
    assert sorted(path for n, path in requests if n == "_FrontEnd_0") == [
        "/v1.41/containers/json",
        '/v1.41/containers/json?all=1&filters={"isolation":["hyperv"]}',  # a new container id
        "/v1.41/images/json",  # an image Id it did not have
    ]


def _connections_to(port: int) -> int:
    """This process's TCP connections to `port` (the engines' one port): its client sockets,
    not the in-process simulator's accepted ones, nor the gateway's and ARM's pools."""
    inodes = {
        link.removeprefix("socket:[").rstrip("]")
        for link in map(_readlink, Path("/proc/self/fd").iterdir())
        if link.startswith("socket:[")
    }
    found = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                found += 1
    return found


def _readlink(path: Path) -> str:
    try:
        return str(path.readlink())
    except OSError:
        return ""


def test_the_sweep_keeps_tls_sessions_not_sockets(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    inventory = connect(profile, sim.clock.now)
    stats = inventory.engine_cache.stats
    port = sim.endpoints["docker"]["port"]
    cold = gather(inventory)
    assert (stats.handshakes, stats.resumed) == (8, 0)  # one connection per engine read
    assert stats.requests == len(docker_requests(sim))
    assert len(cold.engines) == 8 and _connections_to(port) == 0
    gather(inventory)
    assert (stats.handshakes, stats.resumed) == (16, 8)  # each engine's session resumed
    assert len(inventory.engine_cache) == 8


def test_engine_down_on_a_kept_client_is_an_error(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    inventory = connect(profile, sim.clock.now)
    gather(inventory)
    fault = parse_fault("engine-down:_Legacy_1")
    sim.cluster.faults.add(fault)
    down = gather(inventory)  # its kept-alive connection is reset at the request
    assert "_Legacy_1" not in down.engines and len(down.engines) == 7
    [error] = down.errors
    assert (error.source, error.subject) == ("docker", "_Legacy_1")
    assert "not answering" in error.message
    sim.cluster.faults.remove(fault)
    back, requests = gather_counting(sim, inventory)
    assert back.errors == () and len(back.engines) == 8
    assert [n for n, path in requests if path == "/v1.41/info"] == ["_Legacy_1"]  # read afresh


def test_close_closes_the_kept_clients(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    with connect(profile) as inventory:
        gather(inventory)
        assert len(inventory.engine_cache) == 8
    assert len(inventory.engine_cache) == 0
    again, requests = gather_counting(sim, inventory)  # builds clients again, reads in full
    assert len(again.engines) == 8
    assert sum(path == "/v1.41/info" for _, path in requests) == 8


# ------------------------------------------------------------------ the warm path's decisions


def _listed(ident: str, state: str = "running", status: str = "Up 2 hours", **more) -> dict:
    return {"Id": ident, "Names": [f"/c-{ident}"], "State": state, "Status": status, **more}


def _known(ident: str, state: str = "running", exit_code: int | None = 0) -> Container:
    return Container(id=ident, name=f"c-{ident}", image="i", state=state, exit_code=exit_code)


@pytest.mark.parametrize(
    ("summary", "inspect"),
    [
        (_listed("a"), False),  # unchanged; Status text moves on by itself
        (_listed("a", status="Up 3 days"), False),
        (_listed("new"), False),  # running: the list has all it needs
        (_listed("new", "exited", "Exited (0) 1 second ago"), True),  # its error is unknown
        (_listed("new", "created", "Created"), True),
        (_listed("a", "exited", "Exited (3221684481) 1 second ago"), True),
        (_listed("e", "exited", "Exited (1) 5 minutes ago"), False),
        (_listed("e", "exited", "Exited (2) 1 second ago"), True),  # ran and exited again
        ({**_listed("a"), "Names": ["/renamed"]}, False),  # the list has the name
        (_listed("a", "paused"), True),
    ],
)
def test_containers_to_inspect(summary: dict, inspect: bool) -> None:
    cached = {"a": _known("a"), "e": _known("e", "exited", 1)}
    assert engines.containers_to_inspect(cached, [summary]) == ([summary["Id"]] if inspect else [])


def test_image_list_is_read_again_only_for_an_unknown_image_id() -> None:
    images = (Image(id="sha256:1"), Image(id="sha256:2"))
    assert not engines.image_list_stale(images, [_listed("a", ImageID="sha256:2")])
    assert engines.image_list_stale(images, [_listed("a", ImageID="sha256:3")])
    assert not engines.image_list_stale(images, [])


@pytest.mark.parametrize(
    ("instance_id", "endpoint", "reusable"),
    [
        ("133", "tcp://10.0.0.4:2376", True),
        ("134", "tcp://10.0.0.4:2376", False),  # the node restarted: the host may have changed
        ("133", "tcp://10.0.0.5:2376", False),
        ("", "tcp://10.0.0.4:2376", False),  # no InstanceId: nothing proves it is the same host
    ],
)
def test_last_read_is_reused_only_for_the_same_node_instance(
    instance_id: str, endpoint: str, reusable: bool
) -> None:
    last = engines.LastRead("133", Engine("_N_0", "tcp://10.0.0.4:2376"))
    assert engines.reusable(last, instance_id, endpoint) is reusable


def test_nodes_that_only_aged_are_given_back_as_they_were_their_uptime_moved_on(
    sim: SimServer,
    profile: ClusterProfile,
    connect: Callable[..., Inventory],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a live cluster every node's uptime moves between two polls: a list that changed in
    that alone, by the time gone by, is the same nodes (nothing built, judged or drawn anew)."""
    inventory = connect(profile, sim.clock.now)  # the client's clock is the simulator's
    first = refresh_health(inventory, gather(inventory))
    built = Calls(monkeypatch, fabric, "node_from_json")
    sim.clock.advance(600)
    second = refresh_health(inventory, first)
    assert second.nodes is first.nodes and built.count == 0
    served = {n.name: n for n in fabric.list_nodes(inventory.fabric)}  # what the gateway says
    assert served["_FrontEnd_0"].uptime_seconds > 600
    for node in second.nodes:
        assert node.uptime_as_of(second.taken_at) == served[node.name].uptime_seconds


def test_a_restarted_node_is_built_anew_with_its_new_uptime(
    sim: SimServer, profile: ClusterProfile, connect: Callable[..., Inventory]
) -> None:
    inventory = connect(profile, sim.clock.now)
    first = refresh_health(inventory, gather(inventory))
    sim.cluster.restart_fabric("_FrontEnd_1", "0")
    second = first
    for _ in range(10):  # down, and up again since, read at every step
        sim.clock.advance(60)
        second = refresh_health(inventory, second)
    before, after = first.node("_FrontEnd_1"), second.node("_FrontEnd_1")
    assert after.status == "Up" and after.instance_id != before.instance_id
    served = {n.name: n for n in fabric.list_nodes(inventory.fabric)}
    assert 0 < after.uptime_as_of(second.taken_at) == served["_FrontEnd_1"].uptime_seconds < 600


def test_uptimes_that_do_not_fit_the_time_gone_by_are_read_anew(
    sim: SimServer,
    profile: ClusterProfile,
    connect: Callable[..., Inventory],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The gateway's uptimes moved 600 s while the client's clock moved 1 s: the gateway's are
    shown, not the client's reckoning."""
    moments = iter(datetime(2026, 11, 26, 9, 0, s, tzinfo=UTC) for s in range(60))
    inventory = connect(profile, lambda: next(moments))
    first = refresh_health(inventory, gather(inventory))
    built = Calls(monkeypatch, fabric, "node_from_json")
    sim.clock.advance(600)
    second = refresh_health(inventory, first)
    assert second.nodes is not first.nodes and built.count == len(first.nodes)
    before, after = first.node("_FrontEnd_0"), second.node("_FrontEnd_0")
    assert after.uptime_seconds == before.uptime_seconds + 600  # as the gateway said it
