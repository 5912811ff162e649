"""Every Windows container compatibility rule, with the documented examples."""

from __future__ import annotations

import pytest

from tui.rules.compat import CONTAINER_OS_MISMATCH, check, normalize_isolation
from tui.winver import parse_version

CASES = [
    # (host, image, isolation, compatible, rule_id) -- documented examples first
    # Article Example 1: host with KB4041691 runs only 10.0.14393.1770 images ...
    ("10.0.14393.1770", "10.0.14393.1770", "process", True, "compat.ws2016-revision"),
    # ... and after KB4053579 (.1944) on the host the images must be updated as well.
    ("10.0.14393.1944", "10.0.14393.1770", "process", False, "compat.ws2016-revision"),
    # Docs: host 10.0.14393.1914 (KB4051033) vs image .1944 (KB4053579) might not start.
    ("10.0.14393.1914", "10.0.14393.1944", "process", False, "compat.ws2016-revision"),
    # Article Example 2: a 1809 host runs any 10.0.17763 image on the same side of 2B.
    ("10.0.17763.973", "10.0.17763.914", "process", True, "compat.process-build"),
    ("10.0.17763.6054", "10.0.17763.5936", "process", True, "compat.process-build"),
    ("10.0.17763.5936", "10.0.17763.6054", "process", True, "compat.process-build"),
    # 2B baseline: host UBR < 1039 or image UBR < 1040 is pre-2B; both sides must agree.
    ("10.0.17763.1039", "10.0.17763.1040", "process", True, "compat.process-build"),
    ("10.0.17763.1039", "10.0.17763.1039", "process", False, "compat.2b-baseline"),
    ("10.0.17763.1038", "10.0.17763.1040", "process", False, "compat.2b-baseline"),
    ("10.0.17763.6054", "10.0.17763.973", "process", False, "compat.2b-baseline"),
    ("10.0.17763.1038", "10.0.17763.1039", "process", True, "compat.process-build"),
    # Build must match for process isolation before 2022.
    ("10.0.17763.6054", "10.0.14393.1770", "process", False, "compat.process-build"),
    ("10.0.14393.1770", "10.0.17763.6054", "process", False, "compat.process-build"),
    ("10.0.14393.1770", "10.0.16299.15", "process", False, "compat.process-build"),
    # 2022+ range (hcsshim): 2022 host -> 20348 only; 2025 host -> 20348..26100.
    ("10.0.20348.2582", "10.0.20348.1000", "process", True, "compat.process-build-range"),
    ("10.0.20348.2582", "10.0.17763.6054", "process", False, "compat.process-build-range"),
    ("10.0.20348.2582", "10.0.26100.1150", "process", False, "compat.process-build-range"),
    ("10.0.26100.1150", "10.0.20348.2582", "process", True, "compat.process-build-range"),
    ("10.0.26100.1150", "10.0.26100.2033", "process", True, "compat.process-build-range"),
    ("10.0.26100.1150", "10.0.17763.6054", "process", False, "compat.process-build-range"),
    ("10.0.25398.1", "10.0.20348.2582", "process", True, "compat.process-build-range"),
    # Hyper-V: image build <= host build, any revision.
    ("10.0.17763.6054", "10.0.14393.1770", "hyperv", True, "compat.hyperv"),
    ("10.0.20348.2582", "10.0.17763.6054", "hyperv", True, "compat.hyperv"),
    ("10.0.26100.1150", "10.0.14393.1770", "hyperv", True, "compat.hyperv"),
    ("10.0.14393.1944", "10.0.14393.1770", "hyperv", True, "compat.hyperv"),
    ("10.0.17763.1038", "10.0.17763.6054", "hyperv", True, "compat.hyperv"),
    ("10.0.17763.6054", "10.0.20348.2582", "hyperv", False, "compat.hyperv-newer-image"),
    ("10.0.20348.2582", "10.0.26100.1150", "hyperv", False, "compat.hyperv-newer-image"),
    ("10.0.14393.1770", "10.0.17763.6054", "hyperv", False, "compat.hyperv-newer-image"),
    # Table exceptions: a 2016 host runs only 2016 images even under Hyper-V.
    ("10.0.14393.1770", "10.0.10586.0", "hyperv", False, "compat.hyperv-ws2016-host"),
    # Major.minor must always agree.
    ("10.0.17763.6054", "6.3.9600.0", "hyperv", False, "compat.kernel-version"),
    # Unknown revisions: the revision rules cannot be decided.
    ("10.0.14393", "10.0.14393.1770", "process", True, "compat.revision-unknown"),
    ("10.0.17763.6054", "10.0.17763", "process", True, "compat.revision-unknown"),
]


@pytest.mark.parametrize(("host", "image", "isolation", "compatible", "rule_id"), CASES)
def test_check(host: str, image: str, isolation: str, compatible: bool, rule_id: str) -> None:
    verdict = check(parse_version(host), parse_version(image), isolation)
    assert (verdict.compatible, verdict.rule_id) == (compatible, rule_id), verdict.reason


def test_reason_names_rule_and_both_versions() -> None:
    verdict = check(parse_version("10.0.14393.1944"), parse_version("10.0.14393.1770"))
    assert verdict.reason == (
        "Windows Server 2016 containers need the host's exact revision: "
        "host 10.0.14393.1944, image 10.0.14393.1770"
    )


def test_2b_reason_says_which_side() -> None:
    verdict = check(parse_version("10.0.17763.6054"), parse_version("10.0.17763.973"))
    assert "host 10.0.17763.6054 is after it" in verdict.reason
    assert "image 10.0.17763.973 before it" in verdict.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hyperv", "hyperv"),
        ("Hyper-V", "hyperv"),
        ("process", "process"),
        ("default", "process"),
        ("", "process"),
        (None, "process"),
    ],
)
def test_normalize_isolation(text: str | None, expected: str) -> None:
    assert normalize_isolation(text) == expected


def test_runtime_error_text() -> None:
    assert CONTAINER_OS_MISMATCH.endswith(
        "does not match the operating system of the host. (0xc0370101)"
    )


def test_unknown_revision_is_undecided_and_says_which_is_missing() -> None:
    verdict = check(parse_version("10.0.14393"), parse_version("10.0.14393.1770"))
    assert not verdict.decided
    assert verdict.reason.endswith("(no host revision)")
    assert check(parse_version("10.0.14393.1944"), parse_version("10.0.14393.1770")).decided
    assert check(parse_version("10.0.17763.6054"), parse_version("10.0.17763.5936")).decided
