"""Disable (Restart) -> Disabled -> restart -> Up with a new InstanceId -> enable -> Up."""

from __future__ import annotations


def status(client, name):
    return client.get_node_info(name)


def test_disable_restart_enable_on_the_scaled_clock(sim, fabric_client):
    timing = sim.cluster.scenario.timing
    name = "_FrontEnd_3"
    before = status(fabric_client, name)

    fabric_client.disable_node(name, deactivation_intent="Restart")
    node = status(fabric_client, name)
    info = node.node_deactivation_info
    assert node.node_status == "Disabling"
    assert info.node_deactivation_intent == "Restart"
    assert info.node_deactivation_status == "SafetyCheckInProgress"
    assert [c.safety_check.kind for c in info.pending_safety_checks][0] == "EnsurePartitionQuorum"
    assert info.node_deactivation_task[0].node_deactivation_task_id.node_deactivation_task_type == (
        "Client"
    )

    sim.clock.advance(timing.safety_checks)
    node = status(fabric_client, name)
    assert node.node_status == "Disabling"
    assert node.node_deactivation_info.node_deactivation_status == "SafetyCheckComplete"
    assert node.node_deactivation_info.pending_safety_checks == []

    sim.clock.advance(timing.replica_close)
    assert status(fabric_client, name).node_status == "Disabled"

    fabric_client.restart_node(name, node_instance_id=before.instance_id)
    down = status(fabric_client, name)
    assert down.node_status == "Down"
    assert fabric_client.get_node_health(name).aggregated_health_state == "Error"

    sim.clock.advance(timing.restart)
    back = status(fabric_client, name)
    assert back.node_status == "Disabled"  # still needs to be re-enabled
    assert back.instance_id != before.instance_id
    assert back.node_deactivation_info.node_deactivation_status == "Completed"

    fabric_client.enable_node(name)
    assert status(fabric_client, name).node_status == "Enabling"
    sim.clock.advance(timing.activate)
    final = status(fabric_client, name)
    assert final.node_status == "Up"
    assert final.node_deactivation_info.node_deactivation_intent == "Invalid"
    assert fabric_client.get_cluster_health().aggregated_health_state == "Ok"


def test_seed_node_waits_for_seed_quorum_check(sim, fabric_client):
    fabric_client.disable_node("_FrontEnd_0", deactivation_intent="Restart")
    kinds = [
        c.safety_check.kind
        for c in status(fabric_client, "_FrontEnd_0").node_deactivation_info.pending_safety_checks
    ]
    assert kinds[0] == "EnsureSeedNodeQuorum"


def test_numeric_intent_as_sfx_sends_it(sim):
    import requests

    f = sim.endpoints["fabric"]
    response = requests.post(
        f["endpoint"] + "/Nodes/_Legacy_2/$/Deactivate?api-version=6.0",
        json={"DeactivationIntent": 2},
        cert=f["client_pem"],
        verify=f["ca"],
        timeout=10,
    )
    assert response.status_code == 200
    assert sim.cluster.nodes["_Legacy_2"].intent == "Restart"


def test_intent_cannot_be_lowered(sim, fabric_client):
    from azure.servicefabric.models import FabricErrorException

    fabric_client.disable_node("_Legacy_2", deactivation_intent="RemoveData")
    try:
        fabric_client.disable_node("_Legacy_2", deactivation_intent="Pause")
    except FabricErrorException as exc:
        assert exc.response.status_code == 400
    else:
        raise AssertionError("lowering the intent was accepted")
