"""Same scenario + same seed => same run; a different seed gives a different cluster."""

from __future__ import annotations

from tests.conftest import fabric_connection
from tui.cluster.fabric import build_client, list_nodes
from tui.sim.clock import SimClock
from tui.sim.scenario import load_scenario
from tui.sim.server import SimServer
from tui.sim.state import SimCluster
from tui.winver import parse_version


def identities(cluster: SimCluster) -> list[tuple]:
    return [
        (n.name, n.node_id, n.instance_id, tuple(c.id for c in n.containers))
        for n in cluster.nodes.values()
    ]


def snapshot(cluster: SimCluster) -> list[tuple]:
    cluster.advance()
    return [
        (
            n.name,
            n.status,
            n.deactivation_status,
            n.instance_id,
            tuple(n.pending_checks),
            tuple(c.running for c in n.containers),
        )
        for n in cluster.nodes.values()
    ]


def rehearse(seed: int | None) -> tuple[list[tuple], list[list[tuple]]]:
    """Build a cluster on a frozen clock, patch two nodes, and record the states on the way."""
    clock = SimClock(0)
    cluster = SimCluster(load_scenario("seed"), clock, seed)
    states = [snapshot(cluster)]
    for name in ("_FrontEnd_3", "_Legacy_1"):
        cluster.deactivate(name, "Restart")
        for seconds in (10, 15, 10):
            clock.advance(seconds)
            states.append(snapshot(cluster))
        cluster.reboot_host(name, new_version=parse_version("10.0.17763.6189"))
        states.append(snapshot(cluster))
        clock.advance(120)
        states.append(snapshot(cluster))
        cluster.activate(name)
        clock.advance(10)
        states.append(snapshot(cluster))
    cluster.restart_fabric("_FrontEnd_0", "0")
    clock.advance(100)
    states.append(snapshot(cluster))
    return identities(cluster), states


def test_same_seed_gives_the_same_ids_and_the_same_sequence_of_states():
    assert rehearse(42) == rehearse(42)
    assert rehearse(None) == rehearse(None)  # None = the scenario's own seed


def test_a_different_seed_gives_different_ids():
    ids_a, _ = rehearse(42)
    ids_b, _ = rehearse(43)
    assert [i[0] for i in ids_a] == [i[0] for i in ids_b]  # the same nodes...
    assert {i[1] for i in ids_a}.isdisjoint({i[1] for i in ids_b})  # ...with other ids
    assert [i[3] for i in ids_a] != [i[3] for i in ids_b]


def test_the_states_really_change_during_the_rehearsal():
    _, states = rehearse(42)
    statuses = {row[1] for state in states for row in state}
    assert {"Up", "Disabling", "Disabled", "Down"} <= statuses


def test_two_servers_with_the_same_seed_serve_the_same_nodes(tmp_path):
    seen = []
    for run in ("a", "b"):
        with SimServer(load_scenario("seed"), tmp_path / run, speed=0, seed=5) as server:
            nodes = list_nodes(build_client(fabric_connection(server)))
            seen.append([(n.name, n.node_id, n.instance_id, n.up_at) for n in nodes])
    assert seen[0] == seen[1]
