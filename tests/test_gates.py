"""Gates before disable, patch and enable, on hand-built snapshots.

A gate passes only on data it read: the table below removes each gate's inputs in turn from a
snapshot on which every gate passes, and each time the gate must be UNKNOWN (counted as failed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tui.model import (
    HEALTH_READ,
    NODES_READ,
    ClusterSnapshot,
    Container,
    Engine,
    Health,
    Image,
    Instance,
    Node,
    SourceError,
)
from tui.runbook.gates import (
    FAILED,
    PASSED,
    UNKNOWN,
    Gate,
    disable_gates,
    enable_gates,
    patch_gates,
)
from tui.runbook.steps import Question, ask
from tui.winver import WindowsVersion, parse_version

HOST = "10.0.17763.6054"
TARGET = parse_version("10.0.17763.6189")
IMAGE = Image("sha256:web", ("contoso/web:4.1",), os_version="10.0.17763.6054")
WEB = Container("c1", "web", "contoso/web:4.1", image_id="sha256:web", state="running")


def node(name: str, ud: str, status: str = "Up", seed: bool = False, instance: str = "7") -> Node:
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
        instance,
        name,
    )


def engine(name: str, instance: str = "7", **changes) -> Engine:
    base = Engine(
        name,
        "tcp://x",
        os_version=HOST,
        containers=(WEB,),
        images=(IMAGE,),
        node_instance_id=instance,
    )
    return replace(base, **changes)


def snapshot(*nodes: Node, health: str = "Ok", engines=None, errors=()) -> ClusterSnapshot:
    return ClusterSnapshot(
        datetime(2026, 11, 26, tzinfo=UTC),
        "c",
        "e",
        nodes=nodes,
        health=Health(health),
        instances=tuple(Instance("FE", n.name.rsplit("_", 1)[1], n.name) for n in nodes),
        engines=engines if engines is not None else {n.name: engine(n.name) for n in nodes},
        errors=tuple(errors),
    )


def by_name(gates):
    return {g.name: g for g in gates}


# ------------------------------------------------------------------ every gate passes here

SUBJECT = "_FE_0"


def complete(status: str) -> ClusterSnapshot:
    """Everything read: the subject node (a seed) in `status`, the others Up, health Ok."""
    return snapshot(
        node(SUBJECT, "0", status, seed=True),
        node("_FE_1", "1", seed=True),
        node("_FE_2", "2", seed=True),
        node("_FE_3", "0"),
    )


STEPS: dict[str, tuple[str, Callable[..., tuple[Gate, ...]]]] = {
    "disable": ("Up", lambda s, t: disable_gates(s, SUBJECT, t)),
    "patch": ("Disabled", lambda s, t: patch_gates(s, SUBJECT, t)),
    "enable": ("Disabled", lambda s, t: enable_gates(s, SUBJECT)),
}


@pytest.mark.parametrize("step", STEPS)
def test_every_gate_passes_when_everything_was_read(step):
    status, gates_of = STEPS[step]
    gates = gates_of(complete(status), TARGET)
    assert gates and all(g.state == PASSED and g.passed for g in gates), gates


def _with_node(s: ClusterSnapshot, name: str, **changes) -> ClusterSnapshot:
    return replace(s, nodes=tuple(replace(n, **changes) if n.name == name else n for n in s.nodes))


def _with_engine(s: ClusterSnapshot, **changes) -> ClusterSnapshot:
    return replace(s, engines={**s.engines, SUBJECT: replace(s.engines[SUBJECT], **changes)})


def _unread(source: str, subject: str) -> Callable[[ClusterSnapshot], ClusterSnapshot]:
    return lambda s: replace(s, errors=(*s.errors, SourceError(source, subject, "HTTP 503")))


NO_NODES = _unread("fabric", NODES_READ)
KEEP = None  # the target stays TARGET
ENGINE_GATES = {"disable": {"containers-survive-patch"}, "patch": {"containers-survive-patch"}}

# (what is missing, the change, the patch target, {step: gates that must be UNKNOWN})
REMOVALS = [
    (
        "node list not read (statuses kept from the last read)",
        NO_NODES,
        KEEP,
        {
            "disable": {"one-upgrade-domain", "seed-quorum", "containers-survive-patch"},
            "patch": {"node-disabled", "containers-survive-patch"},
            "enable": {"node-back", "containers-running"},
        },
    ),
    (
        "cluster health not read",
        lambda s: _unread("fabric", HEALTH_READ)(replace(s, health=Health())),
        KEEP,
        {"disable": {"cluster-health"}},
    ),
    (
        "cluster health read failed, an old aggregate left in place",
        _unread("fabric", HEALTH_READ),
        KEEP,
        {"disable": {"cluster-health"}},
    ),
    (
        "cluster health Invalid",
        lambda s: replace(s, health=Health("Invalid")),
        KEEP,
        {"disable": {"cluster-health"}},
    ),
    (
        "status of a node in another upgrade domain not known",
        lambda s: _with_node(s, "_FE_1", status="Unknown", is_seed=False),
        KEEP,
        {"disable": {"one-upgrade-domain"}},
    ),
    (
        "status of another seed node not known",
        lambda s: _with_node(s, "_FE_3", status="Unknown", is_seed=True),
        KEEP,
        {"disable": {"seed-quorum"}},
    ),
    (
        "status of the node itself not known",
        lambda s: _with_node(s, SUBJECT, status="Unknown"),
        KEEP,
        {"enable": {"node-back"}},
    ),
    (
        "engine not read (engine down)",
        lambda s: replace(s, engines={k: v for k, v in s.engines.items() if k != SUBJECT}),
        KEEP,
        {**ENGINE_GATES, "enable": {"containers-running"}},
    ),
    (
        "engine read before the node restarted (new InstanceId)",
        lambda s: _with_node(s, SUBJECT, instance_id="8"),
        KEEP,
        {**ENGINE_GATES, "enable": {"containers-running"}},
    ),
    (
        "engine read under no known node instance",
        lambda s: _with_engine(s, node_instance_id=""),
        KEEP,
        {**ENGINE_GATES, "enable": {"containers-running"}},
    ),
    (
        "node reports no InstanceId",
        lambda s: _with_engine(_with_node(s, SUBJECT, instance_id=""), node_instance_id=""),
        KEEP,
        {**ENGINE_GATES, "enable": {"containers-running"}},
    ),
    ("host revision not reported", lambda s: _with_engine(s, os_version=""), KEEP, ENGINE_GATES),
    ("no patch target", lambda s: s, "none", ENGINE_GATES),
    (
        "patch target without a revision (prediction undecided)",
        lambda s: s,
        parse_version("10.0.17763"),
        ENGINE_GATES,
    ),
    (
        "image version not known (prediction undecided)",
        lambda s: _with_engine(s, images=(replace(IMAGE, os_version=""),)),
        KEEP,
        ENGINE_GATES,
    ),
    (
        "image not on the engine (prediction undecided)",
        lambda s: _with_engine(s, images=()),
        KEEP,
        ENGINE_GATES,
    ),
    (
        "node Down: its engine cannot be read, the last read is of no use",
        lambda s: _with_node(s, SUBJECT, status="Down"),
        KEEP,
        {"enable": {"containers-running"}},
    ),
]
CASES = [
    pytest.param(step, change, target, expected, id=f"{step}: {what}")
    for what, change, target, unknown in REMOVALS
    for step, expected in unknown.items()
]


@pytest.mark.parametrize(("step", "change", "target", "expected"), CASES)
def test_a_gate_whose_input_was_not_read_is_unknown(step, change, target, expected):
    status, gates_of = STEPS[step]
    patch_target: WindowsVersion | None = None if target == "none" else (target or TARGET)
    gates = by_name(gates_of(change(complete(status)), patch_target))
    for name in expected:
        gate = gates[name]
        assert gate.state == UNKNOWN and not gate.passed, gate
        assert gate.why
    # Counted as failed: the step needs the node's name typed.
    asked = ask(step, change(complete(status)), SUBJECT, patch_target)
    if isinstance(asked, Question):
        assert asked.risky and any(g.state == UNKNOWN for g in asked.gates)


def test_every_gate_has_its_inputs_removed_in_the_table():
    named = {
        (step, g.name) for step, (status, fn) in STEPS.items() for g in fn(complete(status), TARGET)
    }
    covered = {
        (step, name)
        for *_, unknown in REMOVALS
        for step, names in unknown.items()
        for name in names
    }
    assert named <= covered, named - covered


# ------------------------------------------------------------------ failures on data read


def test_disable_fails_while_another_upgrade_domain_is_down():
    s = snapshot(node("_A_0", "0"), node("_A_1", "1", "Disabled"), node("_B_0", "0", "Disabling"))
    gate = by_name(disable_gates(s, "_A_0", TARGET))["one-upgrade-domain"]
    assert gate.state == FAILED
    assert "_A_1 (UD 1, Disabled)" in gate.why and "_B_0" not in gate.why  # same UD is fine


def test_disable_of_a_seed_node_checks_the_other_seeds():
    s = snapshot(
        node("_A_0", "0", seed=True), node("_A_1", "0", "Down", seed=True), node("_B_0", "0")
    )
    assert by_name(disable_gates(s, "_A_0", TARGET))["seed-quorum"].state == FAILED
    assert "seed-quorum" not in by_name(disable_gates(s, "_B_0", TARGET))


def test_disable_with_cluster_in_error():
    s = snapshot(node("_A_0", "0"), health="Error")
    assert by_name(disable_gates(s, "_A_0", TARGET))["cluster-health"].state == FAILED
    warning = snapshot(node("_A_0", "0"), health="Warning")
    assert by_name(disable_gates(warning, "_A_0", TARGET))["cluster-health"].passed


def test_enable_needs_the_node_back_and_its_containers_running():
    exited = Container("2", "billing", "img", state="exited")
    up = node("_A_0", "0", "Disabled")
    s = snapshot(up, engines={"_A_0": engine("_A_0", containers=(WEB, exited))})
    gates = by_name(enable_gates(s, "_A_0"))
    assert gates["node-back"].passed
    running = gates["containers-running"]
    assert running.state == FAILED and "1 of 2 containers not running: billing" in running.why
    down = replace(s, nodes=(replace(up, status="Down"),))
    assert by_name(enable_gates(down, "_A_0"))["node-back"].state == FAILED


def test_a_patch_that_stops_containers_fails_the_gate_with_the_prediction():
    legacy = Image("sha256:l", ("contoso/billing:2.3",), os_version="10.0.14393.1770")
    billing = Container(
        "c2", "billing", "contoso/billing:2.3", image_id="sha256:l", state="running"
    )
    s = snapshot(
        node("_Legacy_0", "0"),
        node("_Legacy_1", "1"),
        engines={
            "_Legacy_0": engine(
                "_Legacy_0", os_version="10.0.14393.1770", containers=(billing,), images=(legacy,)
            ),
            "_Legacy_1": engine("_Legacy_1", os_version="10.0.14393.1770", containers=()),
        },
    )
    target = parse_version("10.0.14393.1944")
    gate = by_name(disable_gates(s, "_Legacy_0", target))["containers-survive-patch"]
    assert gate.state == FAILED and "will stop 1 container" in gate.why and "billing" in gate.why
    empty = by_name(disable_gates(s, "_Legacy_1", target))["containers-survive-patch"]
    assert empty.passed and "no container runs" in empty.why


# ------------------------------------------------------------------ against the simulator


@pytest.fixture
def inventory(sim):
    from tui.cluster.inventory import connect
    from tui.config import load_profile

    profile = load_profile(sim.cluster.scenario.cluster_name, sim.profile_path)
    with connect(profile, sim.clock.now) as made:
        yield made


def test_a_down_engine_makes_the_survive_gate_unknown_not_ok(sim, inventory):
    """Reproduced: with `engine-down:_Legacy_2` the gate said "no container on it is predicted
    to stop" and the disable of a 2016 node whose containers the patch breaks needed only y."""
    from tui.cluster.inventory import gather
    from tui.sim.faults import parse_fault

    target = inventory.profile.patch_targets["Legacy"]
    sim.cluster.faults.add(parse_fault("engine-down:_Legacy_2"))
    asked = ask("disable", gather(inventory), "_Legacy_2", target)
    assert isinstance(asked, Question) and asked.risky
    gate = by_name(asked.gates)["containers-survive-patch"]
    assert gate.state == UNKNOWN and "_Legacy_2's Docker engine was not read" in gate.why


def test_containers_running_is_not_judged_on_an_engine_read_before_the_reboot(sim, inventory):
    """Health-only refreshes carry the engines over: after a reboot the last engine read is of
    a host that has changed since (new InstanceId), whether the node is Down or back."""
    from tui.cluster.inventory import gather, refresh_health

    sim.cluster.deactivate("_Legacy_0", "Restart")
    sim.clock.advance(sim.cluster.scenario.timing.safety_checks + 60)
    before = gather(inventory)
    assert before.node("_Legacy_0").status == "Disabled"
    assert by_name(enable_gates(before, "_Legacy_0"))["containers-running"].passed
    sim.cluster.reboot_host("_Legacy_0")
    down = refresh_health(inventory, before)
    assert down.node("_Legacy_0").status == "Down" and "_Legacy_0" in down.engines
    gate = by_name(enable_gates(down, "_Legacy_0"))["containers-running"]
    assert gate.state == UNKNOWN and "Down" in gate.why
    sim.clock.advance(sim.cluster.scenario.timing.restart + 1)
    back = refresh_health(inventory, before)
    assert back.node("_Legacy_0").instance_id != before.node("_Legacy_0").instance_id
    asked = ask("enable", back, "_Legacy_0")
    assert isinstance(asked, Question) and asked.risky
    gates = by_name(asked.gates)
    assert gates["node-back"].passed
    assert gates["containers-running"].state == UNKNOWN
    assert "read before the node's current instance" in gates["containers-running"].why
    fresh = gather(inventory)  # a full read under the new instance is evidence again
    assert by_name(enable_gates(fresh, "_Legacy_0"))["containers-running"].passed


def test_a_node_list_that_failed_keeps_its_statuses_but_no_gate_passes_on_them(sim, inventory):
    from tui.cluster.inventory import gather, refresh_health
    from tui.sim.faults import parse_fault

    before = gather(inventory)
    sim.cluster.faults.add(parse_fault("gateway-flaky:1"))
    kept = refresh_health(inventory, before)
    assert kept.nodes == before.nodes and kept.unread("fabric", NODES_READ)
    target = inventory.profile.patch_targets["FrontEnd"]
    gates = by_name(disable_gates(kept, "_FrontEnd_3", target))
    assert {name for name, g in gates.items() if g.state == UNKNOWN} == set(gates)
