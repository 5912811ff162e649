"""Patch Tuesday catalog lookups and the staleness findings, with a fixed today."""

from __future__ import annotations

from datetime import date

import pytest

from tests.rules.seed import TODAY
from tui.model import Engine, Image
from tui.rules.catalog import load_catalog, patch_tuesday, patch_tuesdays_between
from tui.rules.images import parse_reference
from tui.rules.staleness import engine_findings, host_lag
from tui.winver import parse_version, version_from_image_exact_version

CATALOG = load_catalog()


@pytest.mark.parametrize(
    ("version", "kb", "day"),
    [
        ("10.0.14393.1770", "KB4041691", date(2017, 10, 10)),
        ("10.0.14393.1944", "KB4053579", date(2017, 12, 12)),
        ("10.0.14393.1914", "KB4048953", date(2017, 11, 14)),  # a C release maps to its month's B
        ("10.0.17763.973", "KB4534273", date(2020, 1, 14)),
        ("10.0.17763.1039", "KB4532691", date(2020, 2, 11)),
        ("10.0.17763.6054", "KB5040430", date(2024, 7, 9)),
    ],
)
def test_documented_anchors(version: str, kb: str, day: date) -> None:
    release = CATALOG.release_of(parse_version(version))
    assert (release.kb, release.date) == (kb, day)


def test_catalog_covers_two_years_per_build() -> None:
    for build in (14393, 17763, 20348, 26100):
        months = {r.month for r in CATALOG.builds[build].releases}
        assert {"2024-11", "2025-06", "2026-03"} <= months, build
    assert CATALOG.made == date(2026, 11, 26)


def test_patch_tuesdays() -> None:
    assert patch_tuesday(2026, 11) == date(2026, 11, 10)
    assert patch_tuesday(2024, 7) == date(2024, 7, 9)
    assert len(patch_tuesdays_between(date(2026, 6, 9), TODAY)) == 5


def test_host_lag_counts_months_after_the_catalog_from_the_calendar() -> None:
    lag = host_lag(CATALOG, parse_version("10.0.17763.8880"), TODAY)
    assert (lag.months, lag.unlisted) == (5, 5)
    assert host_lag(CATALOG, parse_version("10.0.17763.8880"), date(2026, 6, 20)).months == 0
    assert host_lag(CATALOG, parse_version("10.0.17763"), TODAY) is None


def _rules(engine: Engine, today: date = TODAY) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for f in engine_findings(engine, CATALOG, today):
        found.setdefault(f.rule_id, []).append(f.severity)
    return found


@pytest.mark.parametrize(
    ("host", "today", "severity"),
    [
        ("10.0.17763.8755", date(2026, 6, 20), "info"),  # May 2026, one behind
        ("10.0.17763.8389", date(2026, 6, 20), "warning"),  # February 2026, four behind
        # Years behind is security debt, not a break: a warning, never an error.
        ("10.0.17763.6054", date(2026, 6, 20), "warning"),
    ],
)
def test_host_behind_severity(host: str, today: date, severity: str) -> None:
    assert _rules(Engine("_FrontEnd_0", "", os_version=host), today)["staleness.host-behind"] == [
        severity
    ]


def test_end_of_support() -> None:
    assert _rules(Engine("_L_0", "", os_version="10.0.14393.9234"), date(2027, 2, 1))[
        "staleness.end-of-support"
    ] == ["error"]
    assert _rules(Engine("_L_0", "", os_version="10.0.14393.9234"))["staleness.end-of-support"] == [
        "warning"
    ]
    assert "staleness.end-of-support" not in _rules(
        Engine("_N_0", "", os_version="10.0.26100.32995")
    )


def test_image_behind_host_and_names() -> None:
    images = (
        Image(
            "sha256:1",
            ("mcr.microsoft.com/windows/servercore:ltsc2019",),
            os_version="10.0.17763.8880",
        ),
        Image("sha256:2", ("docker.io/microsoft/nanoserver:1809",), os_version="10.0.17763.8389"),
        Image("sha256:3", ("contoso/app",), os_version="10.0.17763.8880"),
    )
    found = _rules(
        Engine("_F_0", "", os_version="10.0.17763.8880", images=images), date(2026, 6, 20)
    )
    assert found["staleness.image-behind-host"] == ["warning"]
    assert found["staleness.old-image-name"] == ["warning"]
    assert found["staleness.latest-tag"] == ["warning"]
    assert found["staleness.floating-base-tag"] == ["info", "info"]


@pytest.mark.parametrize(
    ("text", "repo", "tag"),
    [
        ("microsoft/windowsservercore", "microsoft/windowsservercore", None),
        ("myreg.azurecr.io:5000/app:1.0", "myreg.azurecr.io:5000/app", "1.0"),
        (
            "mcr.microsoft.com/windows/nanoserver:1809@sha256:ab",
            "mcr.microsoft.com/windows/nanoserver",
            "1809",
        ),
    ],
)
def test_parse_reference(text: str, repo: str, tag: str | None) -> None:
    ref = parse_reference(text)
    assert (ref.repository, ref.tag) == (repo, tag)


def test_image_exact_version() -> None:
    assert str(version_from_image_exact_version("17763.6054.240703")) == "10.0.17763.6054"
    assert version_from_image_exact_version("latest") is None
