"""The packaged Patch Tuesday catalog: monthly B-release revisions and lifecycle dates per build."""

from __future__ import annotations

import bisect
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

from tui.winver import WindowsVersion

DATA_FILE = "windows_releases.toml"


@dataclass(frozen=True)
class Release:
    """One monthly B release of one build."""

    build: int
    revision: int
    date: date
    kb: str
    confirmed: bool = True

    @property
    def version(self) -> WindowsVersion:
        return WindowsVersion(10, 0, self.build, self.revision)

    @property
    def month(self) -> str:
        return self.date.strftime("%Y-%m")


@dataclass(frozen=True)
class BuildInfo:
    """A Windows Server build's support dates and its releases, oldest first."""

    build: int
    name: str
    mainstream_end: date
    extended_end: date
    releases: tuple[Release, ...]


@dataclass(frozen=True)
class Catalog:
    """All builds, the date the data was made and the last Patch Tuesday it knows."""

    made: date
    known_through: date
    source: str
    builds: Mapping[int, BuildInfo]

    def release_of(self, version: WindowsVersion) -> Release | None:
        """The newest B release at or below this version's revision (the month it is patched to)."""
        info = self.builds.get(version.build)
        if info is None or version.revision is None:
            return None
        at_or_below = bisect.bisect_right(info.releases, version.revision, key=_revision)
        return info.releases[at_or_below - 1] if at_or_below else None

    def newest(self, build: int, today: date) -> Release | None:
        """The newest release of a build published on or before `today`."""
        info = self.builds.get(build)
        if info is None:
            return None
        published = [r for r in info.releases if r.date <= today]
        return published[-1] if published else None


def parse_catalog(data: Mapping[str, Any]) -> Catalog:
    """Build a Catalog from the TOML document's data."""
    builds = {}
    for key, entry in data["builds"].items():
        build = int(key)
        releases = tuple(
            sorted(
                (
                    Release(build, r["revision"], r["date"], r["kb"], r.get("confirmed", True))
                    for r in entry["releases"]
                ),
                key=lambda r: r.revision,
            )
        )
        builds[build] = BuildInfo(
            build, entry["name"], entry["mainstream_end"], entry["extended_end"], releases
        )
    return Catalog(data["made"], data["known_through"], data["source"], builds)


def _revision(release: Release) -> int:
    return release.revision


@cache
def load_catalog() -> Catalog:
    """The catalog packaged with sfpatch (tui/rules/data/windows_releases.toml)."""
    text = resources.files("tui.rules").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return parse_catalog(tomllib.loads(text))


def patch_tuesday(year: int, month: int) -> date:
    """The second Tuesday of a month, when Microsoft publishes the B release."""
    first = date(year, month, 1)
    first_tuesday = first + timedelta(days=(1 - first.weekday()) % 7)
    return first_tuesday + timedelta(days=7)


def patch_tuesdays_between(after: date, until: date) -> list[date]:
    """Patch Tuesdays strictly after `after` and on or before `until`."""
    result = []
    year, month = after.year, after.month
    while (year, month) <= (until.year, until.month):
        day = patch_tuesday(year, month)
        if after < day <= until:
            result.append(day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


def months_apart(earlier: date, later: date) -> int:
    """Calendar months from one release to a later one (B releases are monthly)."""
    return (later.year - earlier.year) * 12 + later.month - earlier.month
