"""The inventory against the simulator: the three SDKs over loopback TLS, joined by node name."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tui.cluster.inventory import connect, gather, node_patch_targets, refresh_health
from tui.config import ClusterProfile, GatewayProfile, load_profile
from tui.errors import ClusterError
from tui.model import SourceError
from tui.sim.faults import parse_fault
from tui.sim.server import SimServer
from tui.winver import parse_version


@pytest.fixture
def profile(sim: SimServer) -> ClusterProfile:
    """The profile the simulator wrote for itself."""
    return load_profile("contoso-prod", sim.profile_path)


def test_every_node_joins_its_instance_and_engine(sim: SimServer, profile: ClusterProfile) -> None:
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


def test_engine_down_degrades_only_that_node(sim: SimServer, profile: ClusterProfile) -> None:
    sim.cluster.faults.add(parse_fault("engine-down:_Legacy_1"))
    snapshot = gather(connect(profile))
    assert "_Legacy_1" not in snapshot.engines
    assert len(snapshot.engines) == 7 and len(snapshot.nodes) == 8
    [error] = snapshot.errors
    assert (error.source, error.subject) == ("docker", "_Legacy_1")
    assert "_Legacy_1" in error.message and "\n" not in error.message


def test_gateway_down_keeps_the_scale_sets(sim: SimServer, profile: ClusterProfile) -> None:
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


def test_flaky_gateway_is_retried(sim: SimServer, profile: ClusterProfile) -> None:
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


def test_health_refresh_reuses_arm_and_docker(sim: SimServer, profile: ClusterProfile) -> None:
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
    sim: SimServer, profile: ClusterProfile
) -> None:
    inventory = connect(profile)
    first = gather(inventory)
    sim.cluster.faults.add(parse_fault("gateway-flaky:1"))
    second = refresh_health(inventory, first)
    assert second.nodes == first.nodes
    assert second.health.aggregated == "Unknown"
    assert [e.source for e in second.errors] == ["fabric", "fabric"]


def test_missing_scale_set_degrades_only_arm(sim: SimServer, profile: ClusterProfile) -> None:
    assert profile.arm is not None
    arm = replace(profile.arm, scale_sets={"FrontEnd": "FrontEnd", "Legacy": "legacy-vmss"})
    snapshot = gather(connect(replace(profile, arm=arm)))
    assert [s.name for s in snapshot.scale_sets] == ["FrontEnd"]
    [error] = snapshot.errors
    assert (error.source, error.subject) == ("arm", "legacy-vmss")
    assert len(snapshot.engines) == 8


def test_progress_counts_every_call(sim: SimServer, profile: ClusterProfile) -> None:
    seen: list[tuple[int, int, str]] = []
    gather(connect(profile), lambda done, total, what: seen.append((done, total, what)))
    # 4 gateway reads, 2 per scale set, 1 per engine.
    assert max(done for done, _, _ in seen) == 4 + 2 * 2 + 8
    assert seen[-1][0] == seen[-1][1]
    assert {what for _, _, what in seen} >= {"nodes", "engine _Legacy_2", "instances of Legacy"}


def test_pinned_server_thumbprint(sim: SimServer, profile: ClusterProfile) -> None:
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
    sim: SimServer, profile: ClusterProfile
) -> None:
    aad = replace(profile, gateway=replace(profile.gateway, aad=True))
    with pytest.raises(ClusterError, match="publishes no AAD metadata: set aad_scope"):
        connect(aad)
    scoped = replace(aad, gateway=replace(aad.gateway, aad_scope="api://contoso-prod/.default"))
    assert len(gather(connect(scoped)).nodes) == 8


def test_profile_without_arm_or_docker_reads_the_gateway_only(
    sim: SimServer, tmp_path: Path
) -> None:
    f = sim.endpoints["fabric"]
    gateway = GatewayProfile(f["endpoint"], client_pem=Path(f["client_pem"]), ca=Path(f["ca"]))
    snapshot = gather(connect(ClusterProfile("bare", tmp_path, gateway)))
    assert len(snapshot.nodes) == 8
    assert (snapshot.scale_sets, snapshot.engines, snapshot.errors) == ((), {}, ())


def test_node_patch_targets_spreads_node_types(sim: SimServer, profile: ClusterProfile) -> None:
    snapshot = gather(connect(profile))
    legacy = parse_version("10.0.14393.1944")
    assert node_patch_targets(snapshot.nodes, {"Legacy": legacy, "Nope": legacy}) == {
        "_Legacy_0": legacy,
        "_Legacy_1": legacy,
        "_Legacy_2": legacy,
    }


def test_source_error_is_kept_as_data() -> None:
    assert SourceError("docker", "_Legacy_1", "x") == SourceError("docker", "_Legacy_1", "x")
