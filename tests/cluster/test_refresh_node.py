"""refresh_node against the simulator: one node's VM and engine read with the nodes and health,
the rest carried over, and nothing about that node carried over when it cannot be read."""

from __future__ import annotations

import pytest

from tui.cluster.inventory import connect, gather, refresh_node
from tui.config import load_profile
from tui.model import NODES_READ
from tui.runbook.gates import UNKNOWN, disable_gates, enable_gates
from tui.sim.faults import parse_fault
from tui.transcript.snapshot import decode_snapshot, encode_snapshot

NODE = "_Legacy_0"


@pytest.fixture
def inventory(sim):
    profile = load_profile(sim.cluster.scenario.cluster_name, sim.profile_path)
    with connect(profile, sim.clock.now) as made:
        yield made


def test_one_node_is_read_and_the_rest_carried_over(sim, inventory):
    full = gather(inventory)
    sim.clock.advance(60)
    stopped = sim.cluster.nodes[NODE].containers[0]
    stopped.running, stopped.exit_code = False, 1
    read = refresh_node(inventory, full, NODE)
    assert read.scope == "node" and read.scope_node == NODE and not read.full
    assert read.full_read_at == full.taken_at and read.taken_at > full.taken_at
    states = {c.name: c.state for c in read.engines[NODE].containers}
    assert states[stopped.name] != "running"  # read now, not carried over
    assert {c.name: c.state for c in full.engines[NODE].containers}[stopped.name] == "running"
    assert read.engines[NODE].node_instance_id == read.node(NODE).instance_id
    others = [n for n in full.engines if n != NODE]
    assert others and all(read.engines[n] is full.engines[n] for n in others)
    assert [i.node_name for i in read.instances] == [i.node_name for i in full.instances]
    assert read.node(NODE) is not None and not read.errors


def test_an_engine_that_does_not_answer_now_is_not_carried_over(sim, inventory):
    full = gather(inventory)
    sim.cluster.faults.add(parse_fault(f"engine-down:{NODE}"))
    read = refresh_node(inventory, full, NODE)
    assert NODE not in read.engines and read.unread("docker", NODE)
    target = inventory.profile.patch_targets["Legacy"]
    survive = {g.name: g for g in disable_gates(read, NODE, target)}["containers-survive-patch"]
    assert survive.state == UNKNOWN and "was not read" in survive.why
    running = {g.name: g for g in enable_gates(read, NODE)}["containers-running"]
    assert running.state == UNKNOWN


def test_a_failed_node_list_reads_no_engine_and_says_so(sim, inventory):
    full = gather(inventory)
    sim.cluster.faults.add(parse_fault("gateway-flaky:1"))
    read = refresh_node(inventory, full, NODE)
    assert read.unread("fabric", NODES_READ) and read.scope == "health"
    assert read.engines[NODE] is full.engines[NODE]  # not read, and the gates know it
    assert all(g.state == UNKNOWN for g in enable_gates(read, NODE))


def test_a_partial_read_is_recorded_as_one(sim, inventory):
    full = gather(inventory)
    read = refresh_node(inventory, full, NODE)
    record = encode_snapshot(read)
    assert record["read"]["scope"] == "node" and record["read"]["node"] == NODE
    assert encode_snapshot(full)["read"] == {"scope": "full"}
    back, _ = decode_snapshot(record)
    assert (back.scope, back.scope_node, back.full_read_at) == ("node", NODE, full.taken_at)
