"""Each scale set / Service Fabric settings rule on small hand-built values."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.rules.seed import FRONTEND, LEGACY, SNAPSHOT
from tui.model import Engine, Instance
from tui.rules.config import (
    instance_findings,
    mixed_revision_findings,
    node_type_of,
    scale_set_findings,
)

# A scale set with nothing to complain about: auto OS upgrade done right.
GOOD = replace(FRONTEND, enable_automatic_updates=False)


def rules(scale_set, cluster_durability=None, stateless=False) -> set[str]:
    return {f.rule_id for f in scale_set_findings(scale_set, cluster_durability, stateless)}


@pytest.mark.parametrize(
    ("changes", "cluster", "stateless", "expected"),
    [
        ({}, "Silver", False, set()),
        (
            {"enable_automatic_updates": True},
            None,
            False,
            {"config.auto-updates-with-auto-os-upgrade"},
        ),
        ({"sf_durability": "Bronze"}, None, False, {"config.auto-os-upgrade-bronze"}),
        ({"sf_durability": "Bronze"}, None, True, set()),
        (
            {"image_version": "17763.6054.240703"},
            None,
            False,
            {"config.auto-os-upgrade-image-not-latest"},
        ),
        ({"sf_extension_version": "1.0"}, None, False, {"config.sf-extension-version"}),
        ({"sf_extension_version": "1.1"}, None, False, set()),
        ({}, "Gold", False, {"config.durability-mismatch"}),
        ({"sf_durability": "silver"}, "Silver", False, set()),
        (
            {"automatic_os_upgrade": False, "enable_automatic_updates": True},
            None,
            False,
            {"config.auto-updates-with-manual-patching"},
        ),
        (
            {"automatic_os_upgrade": False, "enable_automatic_updates": None},
            None,
            False,
            {"config.auto-updates-with-manual-patching"},
        ),
        (
            {"automatic_os_upgrade": False, "sf_durability": "Bronze", "image_version": "1.2.3"},
            None,
            False,
            set(),
        ),
    ],
)
def test_scale_set_rules(changes, cluster, stateless, expected) -> None:
    assert rules(replace(GOOD, **changes), cluster, stateless) == expected


def test_seed_scale_sets() -> None:
    assert rules(FRONTEND, "Silver") == {"config.auto-updates-with-auto-os-upgrade"}
    assert rules(LEGACY, "Bronze") == {"config.auto-os-upgrade-bronze"}


def test_old_extension_is_an_error_only_with_auto_os_upgrade() -> None:
    [on] = scale_set_findings(replace(GOOD, sf_extension_version="1.0"))
    [off] = [
        f
        for f in scale_set_findings(
            replace(
                GOOD,
                sf_extension_version="1.0",
                automatic_os_upgrade=False,
                enable_automatic_updates=False,
            )
        )
    ]
    assert (on.severity, off.severity) == ("error", "warning")


def test_instances_not_on_latest_model() -> None:
    instances = [
        Instance("FrontEnd", "0", "_FrontEnd_0", latest_model_applied=True),
        Instance("FrontEnd", "1", "_FrontEnd_1", latest_model_applied=False),
        Instance("FrontEnd", "2", "_FrontEnd_2", latest_model_applied=None),
    ]
    [finding] = instance_findings(instances)
    assert (finding.node, finding.source) == ("_FrontEnd_1", "arm")


def test_mixed_host_revisions_only_within_a_node_type() -> None:
    def eng(name: str, version: str) -> Engine:
        return Engine(node_name=name, endpoint="", os_version=version)

    snapshot = replace(
        SNAPSHOT,
        engines={
            "_FrontEnd_0": eng("_FrontEnd_0", "10.0.17763.6054"),
            "_FrontEnd_1": eng("_FrontEnd_1", "10.0.17763.6054"),
            "_Legacy_0": eng("_Legacy_0", "10.0.14393.1770"),
            "_Legacy_1": eng("_Legacy_1", "10.0.14393.1944"),
        },
    )
    [finding] = mixed_revision_findings(snapshot)
    assert finding.subject == "Legacy"
    assert "10.0.14393.1770: _Legacy_0; 10.0.14393.1944: _Legacy_1" in finding.message


def test_node_type_falls_back_to_the_node_name() -> None:
    assert node_type_of(SNAPSHOT, "_FrontEnd_0") == "FrontEnd"
    assert node_type_of(replace(SNAPSHOT, instances=()), "_Back_End_3") == "Back_End"
