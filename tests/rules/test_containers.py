"""Container findings on one engine: now, and predicted after a patch."""

from __future__ import annotations

from dataclasses import replace

from tests.rules.seed import ENGINES, FRONTEND_6054, LEGACY_APP, LEGACY_TARGET, container
from tui.model import Engine
from tui.rules.compat import CONTAINER_OS_MISMATCH
from tui.rules.containers import container_findings, predict_patch
from tui.winver import parse_version

LEGACY_0, _, FRONTEND_0, FRONTEND_1, _ = ENGINES


def test_patched_legacy_host_breaks_running_containers_now() -> None:
    patched = replace(LEGACY_0, os_version="10.0.14393.1944")
    findings = container_findings(patched)
    assert {f.rule_id for f in findings} == {"compat.ws2016-revision"}
    assert {f.subject for f in findings} == {
        "_Legacy_0/legacy-web",
        "_Legacy_0/legacy-worker",
        "_Legacy_0/legacy-api",
    }


def test_start_failure_reported_with_runtime_text() -> None:
    failed = replace(
        container("legacy-web", LEGACY_APP),
        state="exited",
        exit_code=1,
        error=f"hcs::CreateComputeSystem: {CONTAINER_OS_MISMATCH}",
    )
    engine = Engine(
        "_Legacy_0", "", os_version="10.0.14393.1944", containers=(failed,), images=(LEGACY_APP,)
    )
    [finding] = container_findings(engine)
    assert finding.rule_id == "compat.start-failed"
    assert "0xc0370101" in finding.message


def test_idle_incompatible_image_is_a_warning() -> None:
    engine = Engine("_Legacy_0", "", os_version="10.0.14393.1770", images=(FRONTEND_6054,))
    [finding] = container_findings(engine)
    assert (finding.rule_id, finding.severity) == ("compat.process-build", "warning")


def test_predict_ignores_hyperv_and_same_side_2019() -> None:
    assert predict_patch(FRONTEND_0, parse_version("10.0.17763.8880")) == []
    assert predict_patch(FRONTEND_1, parse_version("10.0.17763.8880")) == []


def test_predict_moving_frontend_to_2022_stops_process_containers_only() -> None:
    [finding] = predict_patch(FRONTEND_0, parse_version("10.0.20348.5256"))
    assert "will stop 1 container built on 10.0.17763.6054 (process isolation: frontend)" in (
        finding.message
    )


def test_predict_unknown_target_revision_is_info() -> None:
    [finding] = predict_patch(LEGACY_0, parse_version("10.0.14393"))
    assert (finding.rule_id, finding.severity) == ("predict.revision-unknown", "info")


def test_predict_legacy_target() -> None:
    [finding] = predict_patch(LEGACY_0, LEGACY_TARGET)
    assert finding.node == "_Legacy_0"
    assert "will stop 3 containers" in finding.message
