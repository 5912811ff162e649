"""The inventory's engine reads as the sweep loop drives them (engines.NodeSweep), against
the simulator: the same engines as the docker SDK reads, a read whose answers fell short
finished over a connection of its own, and a sweep cut short by a session's end."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import pytest

from tui.cluster import engines, sweep_loop
from tui.cluster.inventory import Inventory, engine_connection, gather
from tui.cluster.inventory import connect as connect_inventory
from tui.config import ClusterProfile, load_profile
from tui.sim.server import SimServer


@pytest.fixture
def profile(sim: SimServer) -> ClusterProfile:
    return load_profile("contoso-prod", sim.profile_path)


@pytest.fixture
def inventory(profile: ClusterProfile) -> Iterator[Inventory]:
    with connect_inventory(profile) as made:
        yield made


def node_sweep(
    inventory: Inventory, name: str, done: Callable[[engines.NodeSweep], None]
) -> engines.NodeSweep:
    node = next(n for n in gather(inventory).nodes if n.name == name)
    conn = engine_connection(inventory.profile, node.ip_address)
    cache = engines.EngineCache()
    return engines.NodeSweep(cache, name, node.instance_id, conn, engines.ImageCache(), {}, done)


def test_a_cold_sweep_reads_every_engine_as_the_docker_sdk_does(sim, inventory):
    snapshot = gather(inventory)
    assert snapshot.errors == () and len(snapshot.engines) == len(snapshot.nodes) == 8
    for node in snapshot.nodes:
        conn = engine_connection(inventory.profile, node.ip_address)
        by_sdk = engines.fetch_engine(node.name, conn)
        assert snapshot.engines[node.name] == dataclasses.replace(
            by_sdk, node_instance_id=node.instance_id
        )


def test_a_read_whose_answers_fell_short_is_finished_on_a_connection_of_its_own(sim, inventory):
    ended: list[engines.NodeSweep] = []
    job = node_sweep(inventory, "_Legacy_0", ended.append)
    job.finish(sweep_loop.Answered({}, None))  # as after an engine closed before answering
    assert ended == [job] and job.result is engines.NEEDS_MORE
    assert job.cache.last("_Legacy_0") is None  # nothing kept from a read not made
    engine = job.finish_read()
    assert engine.containers and job.cache.last("_Legacy_0").engine is engine


def test_a_failed_connection_fails_the_read_and_drops_the_session(sim, inventory):
    job = node_sweep(inventory, "_Legacy_0", lambda _: None)
    job.cache._sessions[job.conn.endpoint] = object()  # type: ignore[assignment]
    job.finish(sweep_loop.Answered({}, None, TimeoutError("read: timed out")))
    assert str(job.result) == "docker engine on _Legacy_0: timed out"
    assert len(job.cache) == 0


def test_a_session_ending_cuts_the_sweep_short_with_an_error_for_each_engine(sim, inventory):
    inventory.wind_down(1.0)
    snapshot = gather(inventory)  # returns: nothing waits on the reads not made
    assert snapshot.engines == {} and len(snapshot.nodes) == 8
    docker = [e for e in snapshot.errors if e.source == "docker"]
    assert len(docker) == 8
    assert all(e.message.endswith("the session is ending") for e in docker), docker


def test_a_sweep_the_pool_will_not_run_leaves_no_read_waited_on(sim, inventory):
    from tui.cluster.inventory import _read_engines, _Tracker
    from tui.daemon_pool import DaemonPool

    nodes = gather(inventory).nodes
    pool = DaemonPool(2, "test")
    pool.shutdown(wait=True)  # as Inventory.wind_down leaves a gather's pool
    parts = _read_engines(inventory, pool, nodes, _Tracker(None))
    assert len(parts) == 8 and all(part.cancelled() for part in parts.values())


def test_a_warm_sweep_of_an_unchanged_cluster_decodes_no_engine_answer(sim, inventory, monkeypatch):
    cold = gather(inventory)
    decoded = []
    decode = engines.decode_json
    monkeypatch.setattr(engines, "decode_json", lambda body: decoded.append(body) or decode(body))
    warm = gather(inventory)
    assert warm.engines == cold.engines and warm.errors == ()
    assert decoded == []  # each list's digest is the last one's: nothing to build from it
