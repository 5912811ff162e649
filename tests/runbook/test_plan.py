"""The plan as a pure function: order, subsets, nothing to do, where each node starts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tui.errors import UsageError
from tui.model import ClusterSnapshot, Engine, Node
from tui.runbook.plan import DONE, PlanOptions, entry_step, plan_nodes
from tui.winver import parse_version

OLD, NEW = "10.0.17763.6054", "10.0.17763.6189"
TARGETS = {"FrontEnd": parse_version(NEW), "Legacy": parse_version("10.0.14393.1944")}


def node(name: str, ud: str, status: str = "Up", node_type: str = "FrontEnd") -> Node:
    return Node(name, node_type, "10.0.0.1", ud, "fd:/0", status, "Ok", False, "1", "1", "x")


def snapshot(*nodes: tuple[Node, str]) -> ClusterSnapshot:
    return ClusterSnapshot(
        taken_at=datetime(2026, 11, 26, tzinfo=UTC),
        cluster_name="c",
        endpoint="e",
        nodes=tuple(n for n, _ in nodes),
        engines={n.name: Engine(n.name, "", os_version=v) for n, v in nodes},
    )


SEED = snapshot(
    (node("_FrontEnd_1", "1"), OLD),
    (node("_FrontEnd_0", "0"), OLD),
    (node("_Legacy_0", "0", node_type="Legacy"), "10.0.14393.1770"),
    (node("_FrontEnd_10", "10"), OLD),
    (node("_FrontEnd_2", "2"), NEW),
)


@pytest.mark.parametrize(
    ("options", "names"),
    [
        (PlanOptions(), ["_FrontEnd_0", "_Legacy_0", "_FrontEnd_1", "_FrontEnd_2", "_FrontEnd_10"]),
        (PlanOptions(node_types=("Legacy",)), ["_Legacy_0"]),
        (PlanOptions(upgrade_domains=("1", "0")), ["_FrontEnd_0", "_Legacy_0", "_FrontEnd_1"]),
        (PlanOptions(nodes=("_FrontEnd_1", "_FrontEnd_0")), ["_FrontEnd_0", "_FrontEnd_1"]),
        (PlanOptions(node_types=("FrontEnd",), upgrade_domains=("0",)), ["_FrontEnd_0"]),
    ],
)
def test_nodes_in_upgrade_domain_order_then_name(options, names):
    assert [p.name for p in plan_nodes(SEED, TARGETS, options)] == names


def test_a_node_on_its_target_is_nothing_to_do():
    planned = {p.name: p for p in plan_nodes(SEED, TARGETS)}
    assert not planned["_FrontEnd_2"].todo and "nothing to do" in planned["_FrontEnd_2"].why
    assert planned["_FrontEnd_0"].todo and planned["_FrontEnd_0"].entry == "gates"
    assert plan_nodes(SEED, {"Legacy": TARGETS["Legacy"]})[0].why.startswith("no patch target")


@pytest.mark.parametrize(
    ("what", "options"),
    [
        ("node _Nope_0", PlanOptions(nodes=("_Nope_0",))),
        ("node type Web", PlanOptions(node_types=("Web",))),
        ("upgrade domain 7", PlanOptions(upgrade_domains=("7",))),
        ("strategy", PlanOptions(strategy="prayer")),
    ],
)
def test_a_subset_naming_what_the_cluster_lacks_is_a_usage_error(what, options):
    with pytest.raises(UsageError, match=what):
        plan_nodes(SEED, TARGETS, options)


def test_strategy_per_node_type_and_overridden_for_all():
    planned = plan_nodes(SEED, TARGETS, PlanOptions(), {"Legacy": "reimage"})
    assert {p.name: p.strategy for p in planned}["_Legacy_0"] == "reimage"
    assert {p.name: p.strategy for p in planned}["_FrontEnd_0"] == "windows-update"
    forced = plan_nodes(SEED, TARGETS, PlanOptions(strategy="manual"), {"Legacy": "reimage"})
    assert {p.strategy for p in forced} == {"manual"}


@pytest.mark.parametrize(
    ("status", "host", "entry"),
    [
        ("Up", OLD, "gates"),
        ("Up", NEW, DONE),
        ("Disabling", OLD, "wait-disabled"),
        ("Disabled", OLD, "patch"),
        ("Disabled", NEW, "check-containers"),
        ("Down", OLD, "wait-rebooted"),
        ("Down", NEW, "wait-rebooted"),
        ("Enabling", NEW, "settle"),
    ],
)
def test_a_node_found_part_way_starts_at_the_step_it_is_in(status, host, entry):
    found = entry_step(node("_FrontEnd_0", "0", status), parse_version(host), TARGETS["FrontEnd"])
    assert found[0] == entry


def test_a_patch_sent_before_a_crash_is_waited_for_not_sent_again():
    disabled = snapshot((node("_FrontEnd_0", "0", "Disabled"), OLD))
    (planned,) = plan_nodes(disabled, TARGETS, patches_in_flight=frozenset({"_FrontEnd_0"}))
    assert planned.entry == "wait-rebooted"
    (fresh,) = plan_nodes(disabled, TARGETS)
    assert fresh.entry == "patch"
