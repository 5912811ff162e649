"""How far behind Patch Tuesday hosts and images are, support lifecycle, and base image naming."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tui.model import Engine, Finding, Image, Severity
from tui.rules.catalog import Catalog, Release, months_apart, patch_tuesdays_between
from tui.rules.containers import host_version, image_version
from tui.rules.images import parse_reference
from tui.winver import WindowsVersion

HOST_BEHIND = "staleness.host-behind"
IMAGE_BEHIND = "staleness.image-behind-host"
END_OF_SUPPORT = "staleness.end-of-support"
OLD_IMAGE_NAME = "staleness.old-image-name"
LATEST_TAG = "staleness.latest-tag"
FLOATING_TAG = "staleness.floating-base-tag"

# Docker Hub names retired in 2019, and where the same images live now.
RENAMED_REPOSITORIES = {
    "microsoft/windowsservercore": "mcr.microsoft.com/windows/servercore",
    "microsoft/nanoserver": "mcr.microsoft.com/windows/nanoserver",
}
BASE_REPOSITORIES = (
    "mcr.microsoft.com/windows/servercore",
    "mcr.microsoft.com/windows/nanoserver",
    "mcr.microsoft.com/windows/server",
    "mcr.microsoft.com/windows",
    *RENAMED_REPOSITORIES,
)
# Tags that move to a new image every month.
FLOATING_TAGS = ("ltsc2016", "ltsc2019", "ltsc2022", "ltsc2025", "1607", "1809", "20H2", "2004")
SUPPORT_ENDING_DAYS = 180


@dataclass(frozen=True)
class Lag:
    """How many monthly B releases a version is behind the newest one out by `today`."""

    months: int
    release: Release  # the B release the version is patched to
    newest: Release  # the newest release the catalog knows
    unlisted: int  # Patch Tuesdays after the catalog ends, counted from the calendar


def host_lag(catalog: Catalog, version: WindowsVersion, today: date) -> Lag | None:
    """Months a host (or image) is behind; None for unknown builds or revisions."""
    release = catalog.release_of(version)
    newest = catalog.newest(version.build, today)
    info = catalog.builds.get(version.build)
    if release is None or newest is None or info is None or version.revision is None:
        return None
    if version.revision > newest.revision:
        return Lag(0, release, newest, 0)  # newer than anything the catalog knows
    # B releases after the catalog was made still come monthly while the build is supported.
    horizon = min(today, info.extended_end)
    unlisted = len(patch_tuesdays_between(max(catalog.known_through, newest.date), horizon))
    return Lag(months_apart(release.date, newest.date) + unlisted, release, newest, unlisted)


def engine_findings(engine: Engine, catalog: Catalog, today: date) -> list[Finding]:
    """Staleness of one node's host and images: months behind, lifecycle, names and tags."""
    findings: list[Finding] = []
    host = host_version(engine)
    node = engine.node_name
    if host is not None:
        findings += _host_behind(node, host, catalog, today)
        findings += _end_of_support(node, node, f"Host {host}", host, catalog, today)
    for image in engine.images:
        findings += _image_findings(node, host, image, catalog, today)
    return findings


def _host_behind(node: str, host: WindowsVersion, catalog: Catalog, today: date) -> list[Finding]:
    lag = host_lag(catalog, host, today)
    if lag is None or lag.months == 0:
        return []
    # Security debt, not a break: patching it is the cure, so never an error (errors are for
    # what breaks on patching or cannot run).
    severity: Severity = "info" if lag.months == 1 else "warning"
    tail = (
        f"; {lag.unlisted} Patch Tuesday(s) since the catalog ends ({catalog.known_through})"
        if lag.unlisted
        else ""
    )
    message = (
        f"Host {host} ({lag.release.kb}, {lag.release.month}) is {lag.months} month(s) behind: "
        f"newest known {host.name} release is {lag.newest.version} ({lag.newest.kb}, "
        f"{lag.newest.month}){tail}"
    )
    return [Finding(HOST_BEHIND, severity, node, message, "catalog", node)]


def _image_findings(
    node: str, host: WindowsVersion | None, image: Image, catalog: Catalog, today: date
) -> list[Finding]:
    findings = []
    label = image.repo_tags[0] if image.repo_tags else image.id.removeprefix("sha256:")[:12]
    subject = f"{node}/{label}"
    version = image_version(image)
    if version is not None:
        findings += _end_of_support(
            subject, node, f"Image {label} ({version})", version, catalog, today, mainstream=False
        )
        if host is not None and host.build == version.build:
            findings += _image_behind(subject, node, label, host, version, catalog)
    for tag in image.repo_tags:
        findings += _naming(subject, node, tag)
    return findings


def _image_behind(
    subject: str,
    node: str,
    label: str,
    host: WindowsVersion,
    image: WindowsVersion,
    catalog: Catalog,
) -> list[Finding]:
    host_release = catalog.release_of(host)
    image_release = catalog.release_of(image)
    if host_release is None or image_release is None:
        return []
    months = months_apart(image_release.date, host_release.date)
    if months <= 0:
        return []
    severity: Severity = "info" if months < 3 else "warning"
    message = (
        f"Image {label} is built on {image} ({image_release.month}), {months} month(s) behind "
        f"its host {host} ({host_release.month}): rebuild it on the current base image"
    )
    return [Finding(IMAGE_BEHIND, severity, subject, message, "catalog", node)]


def _end_of_support(
    subject: str,
    node: str,
    what: str,
    version: WindowsVersion,
    catalog: Catalog,
    today: date,
    mainstream: bool = True,
) -> list[Finding]:
    info = catalog.builds.get(version.build)
    if info is None:
        return []
    if today >= info.extended_end:
        severity: Severity = "error"
        text = f"is past the end of support ({info.extended_end}): it gets no security updates"
    elif (info.extended_end - today).days <= SUPPORT_ENDING_DAYS:
        severity = "warning"
        days = (info.extended_end - today).days
        text = f"reaches the end of extended support on {info.extended_end} (in {days} days)"
    elif mainstream and today >= info.mainstream_end:
        severity = "info"
        text = (
            f"is past mainstream support ({info.mainstream_end}); security updates continue "
            f"until {info.extended_end}"
        )
    else:
        return []
    return [
        Finding(END_OF_SUPPORT, severity, subject, f"{what} ({info.name}) {text}", "catalog", node)
    ]


def _naming(subject: str, node: str, tag: str) -> list[Finding]:
    ref = parse_reference(tag)
    repo = ref.hub_repository
    findings = []
    if repo in RENAMED_REPOSITORIES:
        findings.append(
            Finding(
                OLD_IMAGE_NAME,
                "warning",
                subject,
                f"{tag} uses the retired Docker Hub name {repo}; pull "
                f"{RENAMED_REPOSITORIES[repo]} instead (Docker Hub gets no new Windows images)",
                "docker",
                node,
            )
        )
    if ref.tag in (None, "latest") and ref.digest is None:
        findings.append(
            Finding(
                LATEST_TAG,
                "warning",
                subject,
                f"{tag} is unpinned (latest): the OS version it runs changes with each pull, and "
                f"Windows base images stopped publishing `latest` in 2019; pin a version tag",
                "docker",
                node,
            )
        )
    elif repo in BASE_REPOSITORIES and ref.tag in FLOATING_TAGS:
        findings.append(
            Finding(
                FLOATING_TAG,
                "info",
                subject,
                f"{tag} is a floating base tag that moves every Patch Tuesday; pin a full "
                f"version tag (e.g. :10.0.17763.6054) to know which revision you run",
                "docker",
                node,
            )
        )
    return findings
