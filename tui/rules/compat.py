"""Can a Windows container image run on a Windows host? The version rules of Microsoft's docs.

Process isolation follows hcsshim's CheckHostAndContainerCompat plus the revision rules
(exact revision on 2016, the February 2020 "2B" baseline on 1809); Hyper-V isolation needs
an image no newer than the host.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from tui.winver import WindowsVersion

Isolation = Literal["process", "hyperv"]

# The text Windows returns when CreateContainer refuses an image built for another OS version.
CONTAINER_OS_MISMATCH = (
    "The operating system of the container does not match the operating system of the host. "
    "(0xc0370101)"
)

WS2016 = 14393
WS2019 = 17763
WS2022 = 20348
# LTSC builds with a stable container ABI: a host at or past one runs images from it up to itself.
STABLE_ABI_BUILDS = (20348, 26100)
# First revisions on or after the February 2020 security update (host KB4532691, image OOB).
HOST_2B_REVISION = 1039
IMAGE_2B_REVISION = 1040


@dataclass(frozen=True)
class Verdict:
    """Whether an image may start on a host, and the one rule that decided it.

    `decided` is False when a rule needs a revision that one side lacks: nothing is known to
    block the start (`compatible` stays True for the rule engine), but nor can it be promised.
    """

    compatible: bool
    rule_id: str
    reason: str
    decided: bool = True


def normalize_isolation(text: str | None, default: Isolation = "process") -> Isolation:
    """Docker's HostConfig.Isolation ('default', '', 'process', 'hyperv') as process or hyperv."""
    value = (text or "").strip().lower()
    if value in ("hyperv", "hyper-v"):
        return "hyperv"
    if value == "process":
        return "process"
    return default


# Pure, and asked the same few questions for every container of a cluster.
@functools.lru_cache(maxsize=4096)
def check(host: WindowsVersion, image: WindowsVersion, isolation: str = "process") -> Verdict:
    """Decide whether a container built on `image` starts on `host` in the given isolation."""
    if (host.major, host.minor) != (image.major, image.minor):
        return Verdict(
            False,
            "compat.kernel-version",
            f"Host and image must share the Windows major.minor version: host {host}, "
            f"image {image}",
        )
    if normalize_isolation(isolation) == "hyperv":
        return _check_hyperv(host, image)
    return _check_process(host, image)


def _check_hyperv(host: WindowsVersion, image: WindowsVersion) -> Verdict:
    if image.build > host.build:
        return Verdict(
            False,
            "compat.hyperv-newer-image",
            f"Hyper-V isolation runs images up to the host's build only: host {host} "
            f"({host.name}), image {image} ({image.name}) is newer",
        )
    if host.build == WS2016 and image.build != WS2016:
        return Verdict(
            False,
            "compat.hyperv-ws2016-host",
            f"A Windows Server 2016 host runs only Windows Server 2016 images, even with "
            f"Hyper-V isolation: host {host}, image {image}",
        )
    return Verdict(
        True,
        "compat.hyperv",
        f"Hyper-V isolation runs images of the host's build or older at any revision: "
        f"host {host}, image {image}",
    )


def process_build_compatible(host_build: int, image_build: int) -> bool:
    """hcsshim CheckHostAndContainerCompat: exact build before 2022, then a range of builds."""
    if host_build < WS2022:
        return host_build == image_build
    floor = WS2022
    for stable in reversed(STABLE_ABI_BUILDS):
        if host_build > stable:
            floor = stable
            break
    return floor <= image_build <= host_build


def _check_process(host: WindowsVersion, image: WindowsVersion) -> Verdict:
    if not process_build_compatible(host.build, image.build):
        if host.build < WS2022:
            return Verdict(
                False,
                "compat.process-build",
                f"Process isolation before Windows Server 2022 needs the host's exact build: "
                f"host {host} ({host.name}), image {image} ({image.name})",
            )
        return Verdict(
            False,
            "compat.process-build-range",
            f"A {host.name} host runs process-isolated images from build {WS2022} up to its "
            f"own build {host.build}: image {image} ({image.name})",
        )
    if host.build == WS2016:
        return _check_ws2016_revision(host, image)
    if host.build == WS2019:
        return _check_2b_baseline(host, image)
    if host.build >= WS2022:
        return Verdict(
            True,
            "compat.process-build-range",
            f"A {host.name} host runs process-isolated images from build {WS2022} up to its "
            f"own build at any revision: host {host}, image {image}",
        )
    return Verdict(
        True,
        "compat.process-build",
        f"Process isolation needs the same build but, from 1809 on, not the same revision: "
        f"host {host}, image {image}",
    )


def _check_ws2016_revision(host: WindowsVersion, image: WindowsVersion) -> Verdict:
    if host.revision is None or image.revision is None:
        return _revision_unknown(
            "Windows Server 2016 containers need the host's exact revision", host, image
        )
    if host.revision != image.revision:
        return Verdict(
            False,
            "compat.ws2016-revision",
            f"Windows Server 2016 containers need the host's exact revision: host {host}, "
            f"image {image}",
        )
    return Verdict(
        True,
        "compat.ws2016-revision",
        f"Windows Server 2016 containers need the host's exact revision, and both are {host}",
    )


_SAME_SIDE_OF_2B = (
    "Windows Server 2019 hosts and images must be on the same side of the February 2020 (2B) update"
)


def _check_2b_baseline(host: WindowsVersion, image: WindowsVersion) -> Verdict:
    if host.revision is None or image.revision is None:
        return _revision_unknown(_SAME_SIDE_OF_2B, host, image)
    host_after = host.revision >= HOST_2B_REVISION
    image_after = image.revision >= IMAGE_2B_REVISION
    if host_after != image_after:
        return Verdict(
            False,
            "compat.2b-baseline",
            f"{_SAME_SIDE_OF_2B}: host {host} is {_side(host_after)} it, image {image} "
            f"{_side(image_after)} it",
        )
    return Verdict(
        True,
        "compat.process-build",
        f"Windows Server 2019 process isolation needs the same build but not the same "
        f"revision: host {host}, image {image}",
    )


def _revision_unknown(requirement: str, host: WindowsVersion, image: WindowsVersion) -> Verdict:
    missing = " and ".join(
        side for side, v in (("host", host), ("image", image)) if v.revision is None
    )
    return Verdict(
        True,
        "compat.revision-unknown",
        f"{requirement}, which cannot be checked without both revisions: host {host}, "
        f"image {image} (no {missing} revision)",
        decided=False,
    )


def _side(after: bool) -> str:
    return "after" if after else "before"
