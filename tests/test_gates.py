"""Gates before disable and enable, on hand-built snapshots."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from tui.model import ClusterSnapshot, Container, Engine, Health, Node
from tui.runbook.gates import disable_gates, enable_gates


def node(name: str, ud: str, status: str = "Up", seed: bool = False) -> Node:
    return Node(
        name,
        name.split("_")[1],
        "127.0.0.1",
        ud,
        f"fd:/{ud}",
        status,
        "Ok",
        seed,
        "10.1",
        "1",
        name,
    )


def snapshot(*nodes: Node, health: str = "Ok", engines=None) -> ClusterSnapshot:
    return ClusterSnapshot(
        datetime(2026, 11, 26, tzinfo=UTC),
        "c",
        "e",
        nodes=nodes,
        health=Health(health),
        engines=engines or {},
    )


def by_name(gates):
    return {g.name: g for g in gates}


def test_disable_passes_on_a_healthy_cluster():
    s = snapshot(node("_A_0", "0", seed=True), node("_A_1", "1", seed=True), node("_B_0", "0"))
    gates = by_name(disable_gates(s, "_A_0"))
    assert all(g.passed for g in gates.values())
    assert set(gates) == {
        "one-upgrade-domain",
        "seed-quorum",
        "cluster-health",
        "containers-survive-patch",
    }


def test_disable_fails_while_another_upgrade_domain_is_down():
    s = snapshot(node("_A_0", "0"), node("_A_1", "1", "Disabled"), node("_B_0", "0", "Disabling"))
    gate = by_name(disable_gates(s, "_A_0"))["one-upgrade-domain"]
    assert not gate.passed
    assert "_A_1 (UD 1, Disabled)" in gate.why and "_B_0" not in gate.why  # same UD is fine


def test_disable_of_a_seed_node_checks_the_other_seeds():
    s = snapshot(
        node("_A_0", "0", seed=True), node("_A_1", "0", "Down", seed=True), node("_B_0", "0")
    )
    assert not by_name(disable_gates(s, "_A_0"))["seed-quorum"].passed
    assert "seed-quorum" not in by_name(disable_gates(s, "_B_0"))


def test_disable_with_cluster_in_error():
    s = snapshot(node("_A_0", "0"), health="Error")
    assert not by_name(disable_gates(s, "_A_0"))["cluster-health"].passed


def test_enable_needs_the_node_back_and_its_containers_running():
    running = Container("1", "web", "img", state="running")
    exited = Container("2", "billing", "img", state="exited")
    up = node("_A_0", "0", "Disabled")
    s = snapshot(up, engines={"_A_0": Engine("_A_0", "tcp://x", containers=(running, exited))})
    gates = by_name(enable_gates(s, "_A_0"))
    assert gates["node-back"].passed
    assert not gates["containers-running"].passed and "billing" in gates["containers-running"].why
    down = snapshot(replace(up, status="Down"), engines={"_A_0": Engine("_A_0", "x")})
    assert not by_name(enable_gates(down, "_A_0"))["node-back"].passed
    unread = snapshot(up)
    assert not by_name(enable_gates(unread, "_A_0"))["containers-running"].passed


def test_disable_warns_when_the_patch_will_stop_containers():
    from tui.model import Finding

    s = snapshot(node("_A_0", "0"), node("_A_1", "1"))
    predicted = Finding(
        "predict.patch-stops-containers",
        "error",
        "_A_0",
        "patching _A_0 to 10.0.14393.1944 will stop 3 containers",
        "docker",
        "_A_0",
    )
    gate = by_name(disable_gates(s, "_A_0", (predicted,)))["containers-survive-patch"]
    assert not gate.passed and "will stop 3 containers" in gate.why
    assert by_name(disable_gates(s, "_A_1", (predicted,)))["containers-survive-patch"].passed
