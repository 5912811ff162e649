"""Cluster health read as JSON gives what the SDK's models of the same answer give."""

from __future__ import annotations

import json

from tui.cluster import fabric
from tui.sim.faults import parse_fault
from tui.winver import parse_version

NODE = "_FrontEnd_3"


def leaves(evaluation, node=None, application=None):
    """The SDK models' leaf evaluations, walked as the SDK exposes them (the oracle)."""
    node = getattr(evaluation, "node_name", None) or node
    application = getattr(evaluation, "application_name", None) or application
    if evaluation.kind == "DeployedApplication" and getattr(evaluation, "name", None):
        application = evaluation.name
    children = getattr(evaluation, "unhealthy_evaluations", None) or []
    if not children:
        event = getattr(evaluation, "unhealthy_event", None)
        text = f"{event.source_id} {event.property}: {event.description}" if event else ""
        yield (evaluation.kind, evaluation.aggregated_health_state, text, node, application)
    for child in children:
        yield from leaves(child.health_evaluation, node, application)


def test_a_degraded_cluster_reads_the_same_as_through_the_sdk_models(sim, fabric_client):
    sim.cluster.faults.add(parse_fault(f"health-degrade:{NODE}"))
    sim.cluster.reboot_host(NODE, new_version=parse_version("10.0.17763.6189"))
    sim.clock.advance(600)
    models = fabric_client.get_cluster_health(exclude_health_statistics=True)
    health = fabric.cluster_health(fabric_client)
    assert health.aggregated == models.aggregated_health_state == "Error"
    expected = [x for w in models.unhealthy_evaluations for x in leaves(w.health_evaluation)]
    got = [
        (e.kind, e.health_state, e.description, e.node_name, e.application)
        for e in health.evaluations
    ]
    assert got == expected and any(
        e.node_name == NODE and e.application for e in health.evaluations
    )
    assert health.node_states == {
        s.name: s.aggregated_health_state for s in models.node_health_states
    }
    assert health.application_states == {
        s.name: s.aggregated_health_state for s in models.application_health_states
    }


def test_health_is_asked_as_the_sdk_asks_it(sim, fabric_client):
    fabric_client.get_cluster_health(exclude_health_statistics=True, timeout=fabric.GATEWAY_TIMEOUT)
    fabric.cluster_health(fabric_client)
    log = (sim.state_dir / "requests.jsonl").read_text().splitlines()
    paths = [json.loads(line)["path"] for line in log if "GetClusterHealth" in line]
    assert len(paths) == 2 and paths[0] == paths[1]
