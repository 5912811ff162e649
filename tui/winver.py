"""Windows version strings: parsing and naming. The single place versions are parsed."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from tui.errors import UsageError
from tui.inputs import shown

# ASCII only: \d would also take full-width and other Unicode digits, which int() accepts.
_VERSION = re.compile(r"^\s*(\d{1,10})\.(\d{1,10})\.(\d{1,10})(?:\.(\d{1,10}))?\s*$", re.ASCII)
_OS_BUILD = re.compile(r"\(OS Build (\d+)\.(\d+)\)", re.ASCII)
MAX_PART = 0xFFFF  # major, minor and build are 16-bit in Windows
MAX_REVISION = 0xFFFFFFFF  # the UBR is a 32-bit registry value

# Build number -> marketing name (moby osversion/windowsbuilds.go).
BUILD_NAMES = {
    14393: "Windows Server 2016",
    16299: "Windows Server 1709",
    17134: "Windows Server 1803",
    17763: "Windows Server 2019",
    18362: "Windows Server 1903",
    18363: "Windows Server 1909",
    19041: "Windows Server 2004",
    19042: "Windows Server 20H2",
    20348: "Windows Server 2022",
    22621: "Windows 11 22H2",
    25398: "Windows Server 23H2",
    26100: "Windows Server 2025",
}


@dataclass(frozen=True, order=True)
class WindowsVersion:
    """major.minor.build[.revision]; revision (the UBR) is None when unknown."""

    major: int
    minor: int
    build: int
    revision: int | None = None

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}.{self.build}"
        return base if self.revision is None else f"{base}.{self.revision}"

    @property
    def name(self) -> str:
        return BUILD_NAMES.get(self.build, f"build {self.build}")

    def with_revision(self, revision: int) -> WindowsVersion:
        return WindowsVersion(self.major, self.minor, self.build, revision)


def parse_version(text: str) -> WindowsVersion:
    """Parse '10.0.14393.1770' (or '10.0.17763'); raise UsageError on anything else."""
    if not isinstance(text, str):
        raise _not_a_version(text)
    return _parse_text(text)


# The rules read the same few version strings for every container of a cluster; a version is
# immutable, so one parse serves them all (an error is raised again each time, not kept).
@functools.lru_cache(maxsize=4096)
def _parse_text(text: str) -> WindowsVersion:
    match = _VERSION.match(text)
    if not match:
        raise _not_a_version(text)
    major, minor, build = (int(part) for part in match.groups()[:3])
    revision = int(match.group(4)) if match.group(4) else None
    if max(major, minor, build) > MAX_PART or (revision or 0) > MAX_REVISION:
        raise UsageError(
            f"not a Windows version: {shown(text)} (major, minor and build go up to {MAX_PART}, "
            f"the revision up to {MAX_REVISION})"
        )
    return WindowsVersion(major, minor, build, revision)


def _not_a_version(text: object) -> UsageError:
    return UsageError(f"not a Windows version: {shown(text)} (expected e.g. 10.0.17763.6054)")


def revision_from_operating_system(operating_system: str, base: WindowsVersion) -> WindowsVersion:
    """Docker /info OperatingSystem 'Windows Server ... (OS Build 17763.6054)' -> full version."""
    match = _OS_BUILD.search(operating_system or "")
    if not match or int(match.group(1)) != base.build:
        return base
    return base.with_revision(int(match.group(2)))


def operating_system_text(version: WindowsVersion, edition: str = "Datacenter") -> str:
    """The Docker /info OperatingSystem string a Windows host reports for this version."""
    name = BUILD_NAMES.get(version.build, "Windows Server")
    text = f"{name} {edition}" if name.startswith("Windows Server") else name
    if version.revision is not None:
        text += (
            f" Version {_release_id(version.build)} (OS Build {version.build}.{version.revision})"
        )
    return text


def _release_id(build: int) -> str:
    return {14393: "1607", 17763: "1809", 20348: "21H2", 26100: "24H2"}.get(build, str(build))


_EXACT_VERSION = re.compile(r"^\s*(\d{5})\.(\d+)\.\d+\s*$", re.ASCII)


def version_from_image_exact_version(text: str) -> WindowsVersion | None:
    """Marketplace image version '17763.6054.240703' -> 10.0.17763.6054; None if not that shape."""
    match = _EXACT_VERSION.match(text or "")
    if not match:
        return None
    return WindowsVersion(10, 0, int(match.group(1)), int(match.group(2)))
