"""tui.rules.evaluate against the seed scenario's field situation."""

from __future__ import annotations

from tests.rules.seed import PATCH_TARGETS, SNAPSHOT, TODAY
from tui.model import SEVERITY_RANK, Finding
from tui.rules import evaluate, model_patch_targets

FINDINGS = evaluate(SNAPSHOT, PATCH_TARGETS, TODAY)


def by_rule(rule_id: str) -> list[Finding]:
    return [f for f in FINDINGS if f.rule_id == rule_id]


def test_sorted_most_severe_first_then_predictions_then_subject() -> None:
    order = ("predict", "compat", "config", "staleness")
    keys = [
        (-SEVERITY_RANK[f.severity], order.index(f.rule_id.partition(".")[0]), f.subject)
        for f in FINDINGS
    ]
    assert keys == sorted(keys)
    assert FINDINGS[0].severity == "error"
    assert FINDINGS[0].rule_id == "predict.patch-stops-containers"


def test_every_finding_names_a_known_source() -> None:
    assert {f.source for f in FINDINGS} <= {"docker", "arm", "fabric", "catalog"}


def test_patching_legacy_predicts_the_three_stopped_containers() -> None:
    [finding] = [f for f in by_rule("predict.patch-stops-containers") if f.node == "_Legacy_0"]
    assert finding.severity == "error"
    assert finding.message.startswith(
        "patching _Legacy_0 to 10.0.14393.1944 will stop 3 containers built on 10.0.14393.1770"
    )
    assert "Windows Server 2016 containers need the host's exact revision" in finding.message


def test_no_compat_finding_today_for_matching_or_hyperv_containers() -> None:
    # Legacy containers match their host exactly; the 2016 image on _FrontEnd_0 is Hyper-V.
    assert [f for f in FINDINGS if f.rule_id.startswith("compat.")] == []


def test_settings_findings_of_the_seed() -> None:
    assert [f.subject for f in by_rule("config.auto-updates-with-auto-os-upgrade")] == ["FrontEnd"]
    assert [f.subject for f in by_rule("config.auto-os-upgrade-bronze")] == ["Legacy"]
    assert [f.node for f in by_rule("config.instance-not-latest-model")] == ["_FrontEnd_2"]
    [mixed] = by_rule("config.mixed-host-revisions")
    assert mixed.subject == "FrontEnd"
    assert "10.0.17763.5329: _FrontEnd_2" in mixed.message
    assert by_rule("config.durability-mismatch") == []


def test_lagging_frontend_host_is_the_furthest_behind_of_its_type() -> None:
    lag = {f.node: f for f in by_rule("staleness.host-behind") if f.node.startswith("_FrontEnd")}
    assert "is 34 month(s) behind" in lag["_FrontEnd_2"].message
    assert "is 28 month(s) behind" in lag["_FrontEnd_0"].message


def test_image_names_and_tags() -> None:
    [old] = by_rule("staleness.old-image-name")
    assert old.subject == "_Legacy_0/microsoft/windowsservercore:10.0.14393.1770"
    assert "mcr.microsoft.com/windows/servercore" in old.message
    assert [f.subject for f in by_rule("staleness.latest-tag")] == [
        "_FrontEnd_1/contoso/frontend:latest"
    ]


def test_node_findings_carry_the_node() -> None:
    for finding in FINDINGS:
        if finding.subject.startswith("_"):
            assert finding.node == finding.subject.split("/")[0], finding


def test_targets_default_to_the_scale_set_model() -> None:
    # FrontEnd's model is 17763.6054: only the lagging node would change on reimage.
    targets = model_patch_targets(SNAPSHOT)
    assert {k: str(v) for k, v in targets.items()} == {"_FrontEnd_2": "10.0.17763.6054"}
    assert not any(f.rule_id.startswith("predict.") for f in evaluate(SNAPSHOT, today=TODAY))
