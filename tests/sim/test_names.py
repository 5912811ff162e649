"""Names, properties and property batches through azure-servicefabric and sfctl; the lease."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from azure.servicefabric import models
from azure.servicefabric.models import FabricErrorException

from tests.conftest import fabric_connection
from tui.cluster import lease
from tui.cluster.fabric import build_client
from tui.cluster.gateway import Gateway, ReadOnlyGateway
from tui.errors import ReadOnlyError

NAME = "fabric:/sfpatch/contoso-prod"
NAME_ID = "sfpatch~contoso-prod"
SFCTL = Path(sys.executable).with_name("sfctl")


def code_of(exc: FabricErrorException) -> tuple[int, str]:
    return exc.response.status_code, exc.error.error.code


def put(client, prop: str, value) -> None:
    client.put_property(NAME_ID, models.PropertyDescription(property_name=prop, value=value))


@pytest.fixture
def named(fabric_client):
    fabric_client.create_name(NAME)
    return fabric_client


# ------------------------------------------------------------------ names


def test_create_exists_delete_name(fabric_client):
    with pytest.raises(FabricErrorException) as missing:
        fabric_client.get_name_exists_info(NAME_ID)
    assert code_of(missing.value) == (404, "FABRIC_E_NAME_DOES_NOT_EXIST")
    fabric_client.create_name(NAME)
    fabric_client.get_name_exists_info(NAME_ID)
    with pytest.raises(FabricErrorException) as twice:
        fabric_client.create_name(NAME)
    assert code_of(twice.value) == (409, "FABRIC_E_NAME_ALREADY_EXISTS")
    fabric_client.delete_name(NAME_ID)
    with pytest.raises(FabricErrorException):
        fabric_client.get_name_exists_info(NAME_ID)


def test_a_name_with_properties_cannot_be_deleted(named):
    put(named, "p", models.StringPropertyValue(data="x"))
    with pytest.raises(FabricErrorException) as exc:
        named.delete_name(NAME_ID)
    assert code_of(exc.value) == (409, "FABRIC_E_NAME_NOT_EMPTY")


def test_create_name_refuses_a_name_without_the_scheme(fabric_client):
    with pytest.raises(FabricErrorException) as exc:
        fabric_client.create_name("sfpatch/contoso")
    assert code_of(exc.value) == (400, "FABRIC_E_INVALID_NAME_URI")


def test_sub_names(fabric_client):
    for name in ("fabric:/sfpatch", NAME, NAME + "/deep", "fabric:/sfpatch/other"):
        fabric_client.create_name(name)
    direct = fabric_client.get_sub_name_info_list("sfpatch")
    assert direct.sub_names == [NAME, "fabric:/sfpatch/other"]
    everything = fabric_client.get_sub_name_info_list("sfpatch", recursive=True)
    assert NAME + "/deep" in everything.sub_names


# ------------------------------------------------------------------ properties


def test_put_get_list_delete_with_metadata(named, sim):
    put(named, "owner", models.StringPropertyValue(data="alice"))
    first = named.get_property_info(NAME_ID, "owner")
    assert first.name == "owner" and first.value.data == "alice"
    meta = first.metadata
    assert (meta.type_id, meta.parent, meta.size_in_bytes) == ("String", NAME, 12)
    assert meta.last_modified_utc_timestamp == sim.clock.now()

    sim.clock.advance(30)
    put(named, "owner", models.StringPropertyValue(data="bob"))
    second = named.get_property_info(NAME_ID, "owner")
    assert int(second.metadata.sequence_number) > int(meta.sequence_number)
    assert (
        second.metadata.last_modified_utc_timestamp - meta.last_modified_utc_timestamp
    ).seconds == 30

    put(named, "count", models.Int64PropertyValue(data="42"))
    listed = named.get_property_info_list(NAME_ID)
    assert [p.name for p in listed.properties] == ["count", "owner"]
    assert all(p.value is None for p in listed.properties)
    with_values = named.get_property_info_list(NAME_ID, include_values=True)
    assert {p.name: p.value.data for p in with_values.properties} == {"count": "42", "owner": "bob"}

    named.delete_property(NAME_ID, "owner")
    with pytest.raises(FabricErrorException) as gone:
        named.get_property_info(NAME_ID, "owner")
    assert code_of(gone.value) == (404, "FABRIC_E_PROPERTY_DOES_NOT_EXIST")


@pytest.mark.parametrize(
    "value, size",
    [
        (models.BinaryPropertyValue(data=[1, 2, 3]), 3),
        (models.Int64PropertyValue(data="-7"), 8),
        (models.DoublePropertyValue(data=2.5), 8),
        (models.GuidPropertyValue(data="0c4d4f4e-3c2b-4a1f-9e0d-112233445566"), 16),
    ],
)
def test_every_value_kind_round_trips(named, value, size):
    put(named, "v", value)
    got = named.get_property_info(NAME_ID, "v")
    assert (got.value.kind, got.value.data, got.metadata.size_in_bytes) == (
        value.kind,
        value.data,
        size,
    )


def test_custom_type_id_is_kept(named):
    named.put_property(
        NAME_ID,
        models.PropertyDescription(
            property_name="p", value=models.StringPropertyValue(data="x"), custom_type_id="sfpatch"
        ),
    )
    assert named.get_property_info(NAME_ID, "p").metadata.custom_type_id == "sfpatch"


def test_property_on_a_missing_name(fabric_client):
    with pytest.raises(FabricErrorException) as exc:
        put(fabric_client, "p", models.StringPropertyValue(data="x"))
    assert code_of(exc.value) == (404, "FABRIC_E_NAME_DOES_NOT_EXIST")


# ------------------------------------------------------------------ batches


def batch(client, *operations):
    return client.submit_property_batch(NAME_ID, operations=list(operations))


def test_batch_is_all_or_nothing(named):
    result = batch(
        named,
        models.PutPropertyBatchOperation(
            property_name="a", value=models.StringPropertyValue(data="1")
        ),
        models.CheckExistsPropertyBatchOperation(property_name="b", exists=True),
    )
    assert isinstance(result, models.FailedPropertyBatchInfo)
    assert (result.operation_index, result.error_message) == (1, "FABRIC_E_PROPERTY_CHECK_FAILED")
    assert named.get_property_info_list(NAME_ID).properties == []


def test_batch_get_sees_the_put_before_it_and_is_keyed_by_index(named):
    result = batch(
        named,
        models.CheckExistsPropertyBatchOperation(property_name="a", exists=False),
        models.PutPropertyBatchOperation(
            property_name="a", value=models.StringPropertyValue(data="1")
        ),
        models.GetPropertyBatchOperation(property_name="a", include_value=True),
        models.GetPropertyBatchOperation(property_name="a"),
    )
    assert isinstance(result, models.SuccessfulPropertyBatchInfo)
    assert sorted(result.properties) == ["2", "3"]
    got = result.properties["2"]
    assert got.value.data == "1"
    assert result.properties["3"].value is None  # IncludeValue defaults to false
    assert (
        got.metadata.sequence_number
        == named.get_property_info(NAME_ID, "a").metadata.sequence_number
    )


def test_check_sequence_and_check_value(named):
    put(named, "a", models.StringPropertyValue(data="1"))
    sequence = named.get_property_info(NAME_ID, "a").metadata.sequence_number
    ok = batch(
        named,
        models.CheckSequencePropertyBatchOperation(property_name="a", sequence_number=sequence),
        models.CheckValuePropertyBatchOperation(
            property_name="a", value=models.StringPropertyValue(data="1")
        ),
        models.DeletePropertyBatchOperation(property_name="a"),
    )
    assert ok.kind == "Successful"
    put(named, "a", models.StringPropertyValue(data="1"))  # same value, newer sequence
    stale = batch(
        named,
        models.CheckSequencePropertyBatchOperation(property_name="a", sequence_number=sequence),
    )
    assert (stale.kind, stale.operation_index) == ("Failed", 0)
    wrong_value = batch(
        named,
        models.CheckValuePropertyBatchOperation(
            property_name="a", value=models.StringPropertyValue(data="2")
        ),
    )
    assert wrong_value.kind == "Failed"


def test_batch_delete_or_get_of_a_missing_property_fails_the_batch(named):
    for op in (
        models.DeletePropertyBatchOperation(property_name="nope"),
        models.GetPropertyBatchOperation(property_name="nope"),
    ):
        result = batch(named, op)
        assert (result.kind, result.error_message) == ("Failed", "FABRIC_E_PROPERTY_DOES_NOT_EXIST")


def test_batch_on_a_missing_name_is_an_error_not_a_failed_batch(fabric_client):
    with pytest.raises(FabricErrorException) as exc:
        batch(fabric_client, models.GetPropertyBatchOperation(property_name="a"))
    assert code_of(exc.value) == (404, "FABRIC_E_NAME_DOES_NOT_EXIST")


def test_two_clients_racing_the_same_guarded_batch_only_one_wins(sim, named):
    clients = [build_client(fabric_connection(sim)) for _ in range(6)]
    barrier = threading.Barrier(len(clients))
    results = []

    def race(client, me: int) -> None:
        barrier.wait()
        results.append(
            batch(
                client,
                models.CheckExistsPropertyBatchOperation(property_name="lock", exists=False),
                models.PutPropertyBatchOperation(
                    property_name="lock", value=models.StringPropertyValue(data=str(me))
                ),
            ).kind
        )

    threads = [threading.Thread(target=race, args=(c, i)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["Failed"] * 5 + ["Successful"]


# ------------------------------------------------------------------ sfctl


@pytest.mark.skipif(not SFCTL.exists(), reason="sfctl is not installed")
def test_sfctl_property_commands(sim, named, tmp_path):
    f = sim.endpoints["fabric"]
    # sfctl's --ca is overridden by msrest's per-request verify=True (sfctl issue #175);
    # requests then trusts REQUESTS_CA_BUNDLE, which is how sfctl users fix it.
    env = {**os.environ, "HOME": str(tmp_path), "REQUESTS_CA_BUNDLE": f["ca"]}

    def sfctl(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(SFCTL), *args], env=env, capture_output=True, text=True, timeout=60
        )

    selected = sfctl(
        "cluster", "select", "--endpoint", f["endpoint"], "--pem", f["client_pem"], "--ca", f["ca"]
    )
    assert selected.returncode == 0, selected.stderr
    value = json.dumps({"Kind": "String", "Data": "hello"})
    put_run = sfctl(
        "property", "put", "--name-id", NAME_ID, "--property-name", "p", "--value", value
    )
    assert put_run.returncode == 0, put_run.stderr
    got = json.loads(sfctl("property", "get", "--name-id", NAME_ID, "--property-name", "p").stdout)
    assert got["value"]["data"] == "hello" and got["metadata"]["parent"] == NAME
    listed = json.loads(sfctl("property", "list", "--name-id", NAME_ID, "--include-values").stdout)
    assert [p["name"] for p in listed["properties"]] == ["p"]
    deleted = sfctl("property", "delete", "--name-id", NAME_ID, "--property-name", "p")
    assert deleted.returncode == 0, deleted.stderr
    missing = sfctl("property", "get", "--name-id", NAME_ID, "--property-name", "p")
    assert missing.returncode != 0 and "FABRIC_E_PROPERTY_DOES_NOT_EXIST" in missing.stderr


# ------------------------------------------------------------------ the lease


def gateway(sim) -> Gateway:
    return Gateway(build_client(fabric_connection(sim)))


def test_lease_acquire_renew_release(sim):
    alice = gateway(sim)
    held = alice.acquire_lease("contoso-prod", "alice", "s-1", ttl_seconds=60, now=sim.clock.now())
    assert held.name == NAME and held.record.holder == "alice"
    raw = build_client(fabric_connection(sim)).get_property_info(NAME_ID, lease.LEASE_PROPERTY)
    assert lease.decode(raw.value.data) == held.record

    sim.clock.advance(30)
    renewed = alice.renew_lease(held, ttl_seconds=60, now=sim.clock.now())
    assert renewed.record.expires_at > held.record.expires_at
    assert int(renewed.sequence_number) > int(held.sequence_number)
    with pytest.raises(lease.LeaseLost):
        alice.renew_lease(held, now=sim.clock.now())  # the stale handle is refused

    alice.release_lease(renewed)
    assert build_client(fabric_connection(sim)).get_property_info_list(NAME_ID).properties == []


def test_lease_is_held_until_it_expires_then_another_takes_over(sim):
    alice, bob = gateway(sim), gateway(sim)
    held = alice.acquire_lease("contoso-prod", "alice", "s-1", ttl_seconds=60, now=sim.clock.now())
    with pytest.raises(lease.LeaseHeld, match="alice"):
        bob.acquire_lease("contoso-prod", "bob", "s-2", ttl_seconds=60, now=sim.clock.now())
    sim.clock.advance(59)
    with pytest.raises(lease.LeaseHeld):
        bob.acquire_lease("contoso-prod", "bob", "s-2", ttl_seconds=60, now=sim.clock.now())
    sim.clock.advance(1)
    taken = bob.acquire_lease("contoso-prod", "bob", "s-2", ttl_seconds=60, now=sim.clock.now())
    assert taken.record.holder == "bob"
    with pytest.raises(lease.LeaseLost):
        alice.renew_lease(held, now=sim.clock.now())
    with pytest.raises(lease.LeaseLost):
        alice.release_lease(held)


def test_the_same_session_may_take_its_lease_again(sim):
    first = gateway(sim).acquire_lease("contoso-prod", "alice", "s-1", now=sim.clock.now())
    again = gateway(sim).acquire_lease("contoso-prod", "alice", "s-1", now=sim.clock.now())
    assert int(again.sequence_number) > int(first.sequence_number)


def test_racing_sessions_only_one_gets_the_lease(sim):
    gateways = [gateway(sim) for _ in range(6)]
    barrier = threading.Barrier(len(gateways))
    won, refused = [], []

    def race(gw: Gateway, me: int) -> None:
        barrier.wait()
        try:
            won.append(gw.acquire_lease("contoso-prod", f"op{me}", f"s-{me}", now=sim.clock.now()))
        except lease.LeaseHeld:
            refused.append(me)

    threads = [threading.Thread(target=race, args=(g, i)) for i, g in enumerate(gateways)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(refused) == 5


def test_read_only_gateway_refuses_lease_calls_before_any_io():
    gw = ReadOnlyGateway()
    for call in (
        lambda: gw.acquire_lease("contoso-prod", "a", "s"),
        lambda: gw.renew_lease(None),
        lambda: gw.release_lease(None),
    ):
        with pytest.raises(ReadOnlyError):
            call()
