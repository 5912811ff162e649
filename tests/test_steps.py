"""What the console asks before each step, or why it refuses: table-driven, no UI."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tui.model import ClusterSnapshot, Container, Engine, Health, Image, Instance, Node
from tui.runbook.actions import Disable, InstallUpdates
from tui.runbook.gates import UNKNOWN
from tui.runbook.steps import Question, Refusal, ask
from tui.winver import parse_version

TARGET = parse_version("10.0.14393.1944")
BILLING = Image("sha256:b", ("contoso/billing:2.3",), os_version="10.0.14393.1770")


def node(name: str, status: str = "Up", seed: bool = False) -> Node:
    return Node(name, "Legacy", "127.0.0.1", "0", "fd:/0", status, "Ok", seed, "10.1", "1", name)


def engine(name: str, broken: bool = False) -> Engine:
    """A 2016 engine read under node instance 1; with `broken`, one container the patch stops."""
    running = Container("c", "billing", "contoso/billing:2.3", "sha256:b", state="running")
    return Engine(
        name,
        "tcp://x",
        os_version="10.0.14393.1770",
        containers=(running,) if broken else (),
        images=(BILLING,),
        node_instance_id="1",
    )


def snapshot(*nodes: Node, with_vm: bool = True, broken: bool = False) -> ClusterSnapshot:
    instances = tuple(Instance("Legacy", n.name.rsplit("_", 1)[1], n.name) for n in nodes)
    return ClusterSnapshot(
        datetime(2026, 11, 26, tzinfo=UTC),
        "c",
        "e",
        nodes=nodes,
        health=Health("Ok"),
        instances=instances if with_vm else (),
        engines={n.name: engine(n.name, broken) for n in nodes},
    )


@pytest.mark.parametrize(
    ("action", "status", "refusal"),
    [
        ("disable", "Disabled", "already Disabled"),
        ("disable", "Disabling", "already Disabling"),
        ("patch", "Up", "disable it (d)"),
        ("patch", "Disabling", "wait until it is Disabled"),
        ("enable", "Up", "nothing to enable"),
    ],
)
def test_refusals(action, status, refusal):
    asked = ask(action, snapshot(node("_Legacy_0", status)), "_Legacy_0")
    assert isinstance(asked, Refusal) and refusal in asked.message


def test_patch_needs_the_vm_known():
    asked = ask("patch", snapshot(node("_Legacy_0", "Disabled"), with_vm=False), "_Legacy_0")
    assert isinstance(asked, Refusal) and "no [arm] section" in asked.message


@pytest.mark.parametrize(
    ("status", "vm", "refusal"),
    [
        (
            "Disabled",
            {"run_command": "transitioning", "provisioning_state": "Updating"},
            "a Run Command",
        ),
        ("Down", {"run_command": "transitioning"}, "a Run Command"),
        (
            "Disabled",
            {"provisioning_state": "Updating"},
            "an operation (provisioning state Updating)",
        ),
    ],
)
def test_patch_waits_while_arm_reports_the_vm_busy(status, vm, refusal):
    busy = snapshot(node("_Legacy_0", status))
    busy = replace(busy, instances=(replace(busy.instances[0], **vm),))
    asked = ask("patch", busy, "_Legacy_0")
    assert isinstance(asked, Refusal)
    assert f"ARM reports {refusal}" in asked.message and "wait until it ends" in asked.message
    done = replace(
        busy,
        instances=(
            replace(busy.instances[0], run_command="succeeded", provisioning_state="Succeeded"),
        ),
    )
    assert isinstance(
        ask("patch", replace(done, nodes=(node("_Legacy_0", "Disabled"),)), "_Legacy_0"),
        Question,
    )


def test_unknown_node_is_refused():
    assert isinstance(ask("disable", snapshot(node("_Legacy_0")), "_Nope_1"), Refusal)


def test_a_plain_disable_is_not_risky():
    asked = ask("disable", snapshot(node("_Legacy_0")), "_Legacy_0", TARGET)
    assert isinstance(asked, Question) and not asked.risky and asked.step == Disable("_Legacy_0")


def test_a_seed_node_or_a_predicted_breakage_is_risky():
    seed = ask("disable", snapshot(node("_Legacy_0", seed=True)), "_Legacy_0", TARGET)
    assert isinstance(seed, Question) and seed.risky and "SEED" in seed.details
    broken = ask("disable", snapshot(node("_Legacy_0"), broken=True), "_Legacy_0", TARGET)
    assert isinstance(broken, Question) and broken.risky


def test_a_disable_whose_engine_was_not_read_is_risky():
    """The reproduced defect: engine down, and the survive gate said ok, so `y` was enough."""
    unread = replace(snapshot(node("_Legacy_0"), broken=True), engines={})
    asked = ask("disable", unread, "_Legacy_0", TARGET)
    assert isinstance(asked, Question) and asked.risky
    gate = next(g for g in asked.gates if g.name == "containers-survive-patch")
    assert gate.state == UNKNOWN and "was not read" in gate.why


def test_patch_question_names_the_vm_and_target():
    disabled = snapshot(node("_Legacy_0", "Disabled"), broken=True)
    asked = ask("patch", disabled, "_Legacy_0", TARGET)
    assert isinstance(asked, Question)
    assert asked.step == InstallUpdates("_Legacy_0", "Legacy", "0") and asked.risky
    assert "Legacy/0" in asked.details and "10.0.14393.1944" in asked.details


def test_enable_of_a_down_node_is_asked_but_risky():
    down = replace(node("_Legacy_0", "Down"))
    asked = ask("enable", snapshot(down), "_Legacy_0")
    assert isinstance(asked, Question) and asked.risky  # node-back fails


def test_unknown_step():
    with pytest.raises(ValueError):
        ask("reboot", snapshot(node("_Legacy_0")), "_Legacy_0")
