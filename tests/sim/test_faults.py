"""Each named fault, observed through azure-servicefabric against the simulator."""

from __future__ import annotations

import json

import pytest
from azure.servicefabric.models import FabricErrorException

from tests.conftest import fabric_connection
from tui.cluster import fabric
from tui.cluster.fabric import build_client
from tui.errors import ClusterError
from tui.sim.faults import parse_fault
from tui.winver import parse_version

# _FrontEnd_3 is not a seed node, so without a fault its safety checks clear.
PLAIN = "_FrontEnd_3"


def inject(sim, text: str) -> None:
    sim.cluster.faults.add(parse_fault(text))


def status(client, name: str) -> str:
    return client.get_node_info(name).node_status


def logged(sim) -> list[dict]:
    lines = (sim.state_dir / "requests.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_without_faults_a_node_disables_restarts_and_comes_back(sim, fabric_client):
    fabric_client.disable_node(PLAIN, deactivation_intent="Restart")
    sim.clock.advance(60)
    assert status(fabric_client, PLAIN) == "Disabled"
    fabric_client.restart_node(PLAIN)
    assert status(fabric_client, PLAIN) == "Down"
    sim.clock.advance(600)
    assert status(fabric_client, PLAIN) == "Disabled"


def test_stuck_disabling_keeps_an_ensure_seed_node_quorum_check(sim, fabric_client):
    inject(sim, f"stuck-disabling:{PLAIN}")
    fabric_client.disable_node(PLAIN, deactivation_intent="Restart")
    sim.clock.advance(3 * 3600)
    info = fabric_client.get_node_info(PLAIN)
    assert info.node_status == "Disabling"
    deactivation = info.node_deactivation_info
    assert deactivation.node_deactivation_status == "SafetyCheckInProgress"
    kinds = [w.safety_check.kind for w in deactivation.pending_safety_checks]
    assert "EnsureSeedNodeQuorum" in kinds
    # FM warns once deactivation runs past ExpectedNodeDeactivationDuration (30 min).
    assert info.health_state == "Warning"


def test_no_return_leaves_the_node_down_after_a_restart(sim, fabric_client):
    inject(sim, f"no-return:{PLAIN}")
    fabric_client.restart_node(PLAIN)
    sim.clock.advance(3600)
    info = fabric_client.get_node_info(PLAIN)
    assert info.node_status == "Down"
    assert fabric_client.get_node_health(PLAIN).aggregated_health_state == "Error"
    assert status(fabric_client, "_FrontEnd_2") == "Up"  # only the named node is affected


def test_health_degrade_puts_an_application_on_the_node_in_error_after_patching(sim, fabric_client):
    inject(sim, f"health-degrade:{PLAIN}")
    before = fabric.cluster_health(fabric_client)
    assert before.application_states["fabric:/Storefront"] == "Ok"
    sim.cluster.reboot_host(PLAIN, new_version=parse_version("10.0.17763.6189"))
    sim.clock.advance(600)
    assert status(fabric_client, PLAIN) == "Up"
    after = fabric.cluster_health(fabric_client)
    assert after.aggregated == "Error"
    assert after.application_states["fabric:/Storefront"] == "Error"
    assert any(e.node_name == PLAIN for e in after.evaluations)


def test_health_degrade_needs_a_patch_a_plain_reboot_stays_healthy(sim, fabric_client):
    inject(sim, f"health-degrade:{PLAIN}")
    sim.cluster.reboot_host(PLAIN)
    sim.clock.advance(600)
    assert fabric.cluster_health(fabric_client).application_states["fabric:/Storefront"] == "Ok"


def test_gateway_flaky_all_requests_answer_503_with_a_fabric_error(sim, fabric_client):
    inject(sim, "gateway-flaky:1")
    with pytest.raises(FabricErrorException) as exc:
        fabric_client.disable_node(PLAIN, deactivation_intent="Restart")  # POST: not retried
    assert exc.value.response.status_code == 503
    assert exc.value.error.error.code == "FABRIC_E_SERVICE_TOO_BUSY"
    with pytest.raises(ClusterError):
        fabric.list_nodes(fabric_client)
    assert status_after_clearing(sim, fabric_client) == "Up"  # the refused POST did nothing


def status_after_clearing(sim, client) -> str:
    sim.cluster.faults.clear()
    return status(client, PLAIN)


def test_gateway_flaky_at_half_fails_some_requests_and_not_others(sim, fabric_client):
    inject(sim, "gateway-flaky:0.5")
    outcomes = []
    for _ in range(30):
        try:
            fabric_client.get_cluster_version()
            outcomes.append(200)
        except Exception:
            outcomes.append(503)
    assert 200 in outcomes and 503 in outcomes
    statuses = [r["status"] for r in logged(sim) if r["path"].startswith("/$/GetClusterVersion")]
    assert sorted(set(statuses)) == [200, 503]


def test_gateway_slow_is_slower_than_a_short_client_timeout(sim):
    inject(sim, "gateway-slow:800")
    impatient = build_client(fabric_connection(sim))
    impatient.config.connection.timeout = 0.2
    with pytest.raises(ClusterError) as exc:
        fabric.cluster_version(impatient)
    assert "Read timed out" in str(exc.value.__cause__)
    patient = build_client(fabric_connection(sim))
    patient.config.connection.timeout = 30
    assert fabric.cluster_version(patient) == sim.cluster.scenario.code_version


def test_every_gateway_request_is_logged(sim, fabric_client):
    fabric_client.get_node_info(PLAIN)
    with pytest.raises(FabricErrorException):
        fabric_client.get_node_health("_Nope_0")
    records = logged(sim)
    last_two = [
        (r["protocol"], r["method"], r["path"].split("?")[0], r["status"]) for r in records[-2:]
    ]
    assert last_two == [
        ("fabric", "GET", f"/Nodes/{PLAIN}", 200),
        ("fabric", "GET", "/Nodes/_Nope_0/$/GetHealth", 404),
    ]
