"""The real azure-servicefabric client against the simulated gateway, route by route."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import trustme
from azure.servicefabric.models import FabricErrorException
from msrest.exceptions import ClientRequestError

from tests.conftest import fabric_connection
from tui.cluster.fabric import FabricConnection, build_client

SEED_NODES = [f"_FrontEnd_{i}" for i in range(5)] + [f"_Legacy_{i}" for i in range(3)]


def test_node_list_pages_follow_continuation_tokens(fabric_client):
    names, token, pages = [], None, 0
    while True:
        page = fabric_client.get_node_info_list(continuation_token=token, max_results=3)
        pages += 1
        names += [n.name for n in page.items]
        token = page.continuation_token
        if not token:
            break
    assert pages == 3
    assert names == SEED_NODES


def test_node_list_without_max_results_is_one_page(fabric_client):
    page = fabric_client.get_node_info_list()
    assert page.continuation_token == ""
    assert len(page.items) == 8
    first = page.items[0]
    assert first.type == "FrontEnd" and first.is_seed_node is True
    assert first.node_status == "Up" and first.health_state == "Ok"
    assert first.upgrade_domain == "0" and first.fault_domain == "fd:/0"
    assert first.ip_address_or_fqdn.startswith("127.")
    assert int(first.node_up_time_in_seconds) > 0
    assert first.node_deactivation_info.node_deactivation_intent == "Invalid"


def test_node_status_filter(sim, fabric_client):
    fabric_client.disable_node("_Legacy_1", deactivation_intent="Restart")
    disabling = fabric_client.get_node_info_list(node_status_filter="disabling").items
    assert [n.name for n in disabling] == ["_Legacy_1"]
    assert len(fabric_client.get_node_info_list(node_status_filter="up").items) == 7
    with pytest.raises(FabricErrorException) as err:
        fabric_client.get_node_info_list(node_status_filter="sideways")
    assert err.value.error.error.code == "E_INVALIDARG"


def test_get_node_and_unknown_node(fabric_client):
    node = fabric_client.get_node_info("_Legacy_2")
    assert node.name == "_Legacy_2" and node.type == "Legacy" and node.is_seed_node is False
    assert fabric_client.get_node_info("_Nope_9") is None  # 204: the SDK returns None


def test_node_health_and_unknown_entity(fabric_client):
    health = fabric_client.get_node_health("_FrontEnd_1")
    assert health.aggregated_health_state == "Ok"
    assert health.health_events[0].source_id == "System.FM"
    with pytest.raises(FabricErrorException) as err:
        fabric_client.get_node_health("_Nope_9")
    assert err.value.error.error.code == "FABRIC_E_HEALTH_ENTITY_NOT_FOUND"
    assert err.value.response.status_code == 404


def test_disable_with_bad_intent_is_a_fabric_error(fabric_client):
    with pytest.raises(FabricErrorException) as err:
        fabric_client.disable_node("_FrontEnd_3")  # no intent: body {}
    assert err.value.error.error.code == "E_INVALIDARG"
    assert err.value.response.status_code == 400


def test_disable_unknown_node_is_not_found(fabric_client):
    with pytest.raises(FabricErrorException) as err:
        fabric_client.disable_node("_Nope_9", deactivation_intent="Restart")
    assert err.value.error.error.code == "FABRIC_E_NODE_NOT_FOUND"


def test_restart_with_wrong_instance_id_conflicts(fabric_client):
    with pytest.raises(FabricErrorException) as err:
        fabric_client.restart_node("_FrontEnd_3", node_instance_id="42")
    assert err.value.error.error.code == "FABRIC_E_INSTANCE_ID_MISMATCH"
    assert err.value.response.status_code == 409


def test_enable_on_an_up_node_is_a_no_op(fabric_client):
    fabric_client.enable_node("_FrontEnd_3")
    assert fabric_client.get_node_info("_FrontEnd_3").node_status == "Up"


def test_cluster_health_filters_and_statistics(sim, fabric_client):
    health = fabric_client.get_cluster_health()
    assert health.aggregated_health_state == "Ok"
    assert len(health.node_health_states) == 8
    assert health.health_statistics is not None
    fabric_client.restart_node("_Legacy_0")
    errors_only = fabric_client.get_cluster_health(
        nodes_health_state_filter=8, exclude_health_statistics=True
    )
    assert errors_only.aggregated_health_state == "Error"
    assert [s.name for s in errors_only.node_health_states] == ["_Legacy_0"]
    assert errors_only.health_statistics is None
    nodes_eval = errors_only.unhealthy_evaluations[0].health_evaluation
    assert nodes_eval.kind == "Nodes"
    node_eval = nodes_eval.unhealthy_evaluations[0].health_evaluation
    assert node_eval.node_name == "_Legacy_0"
    event = node_eval.unhealthy_evaluations[0].health_evaluation.unhealthy_event
    assert event.source_id == "System.FM" and event.description == "Fabric node is down."


def test_cluster_version_and_upgrade_progress(fabric_client):
    assert fabric_client.get_cluster_version().version == "10.1.2175.9590"
    progress = fabric_client.get_cluster_upgrade_progress()
    assert [(ud.name, ud.state) for ud in progress.upgrade_domains] == [
        (str(i), "Completed") for i in range(5)
    ]


def test_root_answers_for_sfctl_cluster_select(sim):
    f = sim.endpoints["fabric"]
    response = requests.get(f["endpoint"] + "/", cert=f["client_pem"], verify=f["ca"], timeout=10)
    assert response.status_code == 200


def test_unknown_route_and_missing_api_version_carry_a_fabric_error_body(sim):
    f = sim.endpoints["fabric"]
    kwargs = {"cert": f["client_pem"], "verify": f["ca"], "timeout": 10}
    missing = requests.get(f["endpoint"] + "/Nodes", **kwargs)
    assert missing.status_code == 400 and missing.json()["Error"]["Code"]
    unknown = requests.get(f["endpoint"] + "/Nowhere?api-version=6.0", **kwargs)
    assert unknown.status_code == 404 and unknown.json()["Error"]["Code"]


def test_wrong_client_certificate_is_refused(sim, tmp_path: Path):
    other_ca = trustme.CA()
    stranger = other_ca.issue_cert("stranger.example")
    pem = tmp_path / "stranger.pem"
    stranger.private_key_and_cert_chain_pem.write_to_path(str(pem))
    f = sim.endpoints["fabric"]
    client = build_client(FabricConnection(f["endpoint"], client_pem=pem, ca=Path(f["ca"])))
    with pytest.raises(ClientRequestError):
        client.get_node_info_list()


def test_no_client_certificate_is_refused(sim):
    f = sim.endpoints["fabric"]
    client = build_client(FabricConnection(f["endpoint"], ca=Path(f["ca"])))
    with pytest.raises(ClientRequestError):
        client.get_node_info_list()


def test_server_pinned_by_thumbprint(sim):
    f = sim.endpoints["fabric"]
    pinned = build_client(
        FabricConnection(
            f["endpoint"],
            client_pem=Path(f["client_pem"]),
            server_thumbprints=(f["server_thumbprint"],),
        )
    )
    assert len(pinned.get_node_info_list().items) == 8
    wrong = build_client(
        FabricConnection(
            f["endpoint"], client_pem=Path(f["client_pem"]), server_thumbprints=("AB" * 20,)
        )
    )
    with pytest.raises(ClientRequestError):
        wrong.get_node_info_list()


def test_untrusted_server_is_refused(sim):
    f = sim.endpoints["fabric"]
    client = build_client(FabricConnection(f["endpoint"], client_pem=Path(f["client_pem"])))
    with pytest.raises(ClientRequestError):
        client.get_node_info_list()


def test_requests_are_logged(sim, fabric_client):
    fabric_client.get_node_info("_FrontEnd_0")
    log = (sim.state_dir / "requests.jsonl").read_text().splitlines()
    assert any('"/Nodes/_FrontEnd_0' in line and '"status": 200' in line for line in log)


def test_fixture_connection_reads_endpoints_file(sim):
    import json

    written = json.loads(sim.endpoints_path.read_text())
    assert written["fabric"] == sim.endpoints["fabric"]
    assert fabric_connection(sim).endpoint == written["fabric"]["endpoint"]


def test_several_thumbprints_pin_the_one_the_server_shows(sim):
    f = sim.endpoints["fabric"]
    rollover = ("CD" * 20, f["server_thumbprint"])  # old and new certificate during a rollover
    client = build_client(
        FabricConnection(
            f["endpoint"], client_pem=Path(f["client_pem"]), server_thumbprints=rollover
        )
    )
    assert len(client.get_node_info_list().items) == 8


def test_a_503_is_a_fabric_error_not_a_retry_error(sim, fabric_client):
    from tui.sim.faults import parse_fault

    sim.cluster.faults.add(parse_fault("gateway-flaky:1"))
    with pytest.raises(FabricErrorException) as err:
        fabric_client.get_node_info_list()
    assert err.value.response.status_code == 503
    assert err.value.error.error.code == "FABRIC_E_SERVICE_TOO_BUSY"


def _from_models(client) -> list[tuple]:
    """Each node's facts as the SDK's models give them."""
    facts = []
    for info in client.get_node_info_list(node_status_filter="all").items:
        d = info.node_deactivation_info
        facts.append(
            (
                info.name,
                info.type,
                info.ip_address_or_fqdn,
                info.upgrade_domain,
                info.node_status,
                info.instance_id,
                info.id.id,
                int(info.node_up_time_in_seconds),
                info.node_up_at if info.node_up_at.year > 1 else None,
                info.node_down_at if info.node_down_at and info.node_down_at.year > 1 else None,
                d.node_deactivation_intent,
                d.node_deactivation_status,
                tuple(w.safety_check.kind for w in d.pending_safety_checks or []),
                len(d.node_deactivation_task or []),
            )
        )
    return facts


def _from_json(nodes) -> list[tuple]:
    return [
        (
            n.name,
            n.node_type,
            n.ip_address,
            n.upgrade_domain,
            n.status,
            n.instance_id,
            n.node_id,
            n.uptime_seconds,
            n.up_at,
            n.down_at,
            n.deactivation.intent,
            n.deactivation.status,
            n.deactivation.pending_safety_checks,
            len(n.deactivation.task_ids),
        )
        for n in nodes
    ]


def test_node_list_read_as_json_matches_the_sdk_models(sim, fabric_client):
    from tui.cluster.fabric import list_nodes

    sim.cluster.deactivate("_FrontEnd_1", "Restart")  # deactivating: tasks and safety checks
    sim.cluster.deactivate("_Legacy_2", "RemoveData")
    sim.clock.advance(600)
    sim.cluster.reboot_host("_Legacy_0", 0, None)  # down for a while
    sim.clock.advance(1)
    nodes = list_nodes(fabric_client, page_size=3)  # across pages
    assert _from_json(nodes) == _from_models(fabric_client)
    assert {n.status for n in nodes} > {"Up"} and any(n.down_at for n in nodes)
    assert any(n.deactivation.task_ids for n in nodes)


def test_unchanged_pages_give_back_the_same_nodes_and_a_changed_one_only_its_own(
    sim, fabric_client
):
    from tui.cluster.fabric import AnswerCache, list_nodes

    cache = AnswerCache()
    first = list_nodes(fabric_client, page_size=3, cache=cache)  # 8 nodes: three pages
    assert len(first) == 8 and list_nodes(fabric_client, page_size=3, cache=cache) is first
    sim.cluster.deactivate(first[7].name, "Restart")  # on the last page
    second = list_nodes(fabric_client, page_size=3, cache=cache)
    assert second is not first and second[7].deactivation.intent == "Restart"
    assert all(a is b for a, b in zip(first[:6], second[:6], strict=True))  # pages read again
    assert second[:6] == first[:6] and second[7] != first[7]
