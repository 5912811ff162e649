"""Findings about containers and images against their host: now, and after a planned patch."""

from __future__ import annotations

from collections import defaultdict

from tui.errors import UsageError
from tui.model import Container, Engine, Finding, Image, Severity
from tui.rules.compat import CONTAINER_OS_MISMATCH, Verdict, check, normalize_isolation
from tui.rules.images import find_image, image_label
from tui.winver import WindowsVersion, parse_version

PREDICT_RULE = "predict.patch-stops-containers"
PREDICT_UNKNOWN_RULE = "predict.revision-unknown"
START_FAILED_RULE = "compat.start-failed"
_MISMATCH_CODE = "0xc0370101"


def host_version(engine: Engine) -> WindowsVersion | None:
    """The engine's full host version, or None when it did not report a parseable one."""
    return _version(engine.os_version)


def image_version(image: Image | None) -> WindowsVersion | None:
    """An image's OsVersion, or None when unknown (Linux images, old engines)."""
    return _version(image.os_version) if image is not None and image.os == "windows" else None


def container_findings(engine: Engine) -> list[Finding]:
    """Running containers and idle images that cannot run on this engine's host as it is now."""
    host = host_version(engine)
    findings: list[Finding] = []
    used: set[str] = set()
    for container in engine.containers:
        image = find_image(engine, container)
        if image is not None:
            used.add(image.id)
        if _MISMATCH_CODE in container.error or CONTAINER_OS_MISMATCH in container.error:
            findings.append(_start_failed(engine, container, image))
            continue
        version = image_version(image)
        if host is None or version is None or container.state not in ("running", ""):
            continue
        verdict = check(host, version, _isolation(engine, container))
        if not verdict.compatible:
            findings.append(
                _finding(
                    verdict,
                    "error",
                    f"{engine.node_name}/{container.name}",
                    f"Container {container.name} ({container.image}) cannot run "
                    f"on this host: {verdict.reason}",
                    engine.node_name,
                )
            )
    for image in engine.images:
        version = image_version(image)
        if image.id in used or host is None or version is None:
            continue
        verdict = check(host, version, normalize_isolation(engine.isolation))
        if not verdict.compatible:
            findings.append(
                _finding(
                    verdict,
                    "warning",
                    f"{engine.node_name}/{image_label(image)}",
                    f"Image {image_label(image)} cannot start here in "
                    f"{normalize_isolation(engine.isolation)} isolation: "
                    f"{verdict.reason}",
                    engine.node_name,
                )
            )
    return findings


def predict_patch(engine: Engine, target: WindowsVersion) -> list[Finding]:
    """Which of this node's containers will not start once its host is patched to `target`."""
    host = host_version(engine)
    broken: dict[tuple[WindowsVersion, str], list[tuple[Container, Verdict]]] = defaultdict(list)
    unknown: list[Container] = []
    for container in engine.containers:
        if container.state not in ("running", ""):
            continue
        version = image_version(find_image(engine, container))
        if version is None:
            unknown.append(container)  # its image's build is not known: nor is its fate
            continue
        isolation = _isolation(engine, container)
        if host is not None and not check(host, version, isolation).compatible:
            continue  # already failing; the patch is not what breaks it
        verdict = check(target, version, isolation)
        if not verdict.compatible:
            broken[(version, isolation)].append((container, verdict))
        elif not verdict.decided:
            unknown.append(container)
    findings = []
    for (version, isolation), items in sorted(broken.items(), key=lambda kv: str(kv[0][0])):
        names = ", ".join(c.name for c, _ in items)
        count = len(items)
        noun = "container" if count == 1 else "containers"
        findings.append(
            Finding(
                rule_id=PREDICT_RULE,
                severity="error",
                subject=engine.node_name,
                message=(
                    f"patching {engine.node_name} to {target} will stop {count} {noun} built on "
                    f"{version} ({isolation} isolation: {names}): {items[0][1].reason}"
                ),
                source="docker",
                node=engine.node_name,
            )
        )
    if unknown:
        findings.append(
            Finding(
                rule_id=PREDICT_UNKNOWN_RULE,
                severity="info",
                subject=engine.node_name,
                message=(
                    f"cannot tell whether {len(unknown)} container(s) on {engine.node_name} start "
                    f"after patching to {target}: the target's or an image's version or "
                    "revision is unknown"
                ),
                source="docker",
                node=engine.node_name,
            )
        )
    return findings


def _start_failed(engine: Engine, container: Container, image: Image | None) -> Finding:
    built_on = image.os_version if image is not None and image.os_version else "unknown"
    return Finding(
        rule_id=START_FAILED_RULE,
        severity="error",
        subject=f"{engine.node_name}/{container.name}",
        message=(
            f"Container {container.name} failed to start: image built on {built_on}, host "
            f"{engine.os_version or 'unknown'}: {CONTAINER_OS_MISMATCH}"
        ),
        source="docker",
        node=engine.node_name,
    )


def _finding(
    verdict: Verdict, severity: Severity, subject: str, message: str, node: str
) -> Finding:
    return Finding(verdict.rule_id, severity, subject, message, "docker", node)


def _isolation(engine: Engine, container: Container) -> str:
    return normalize_isolation(container.isolation, normalize_isolation(engine.isolation))


def _version(text: str) -> WindowsVersion | None:
    try:
        return parse_version(text) if text else None
    except UsageError:
        return None


def container_verdicts(
    engine: Engine, target: WindowsVersion | None = None
) -> list[tuple[Container, Image | None, Verdict | None, Verdict | None]]:
    """Per container: its image, whether it may run on the host now, and after `target`."""
    host = host_version(engine)
    rows = []
    for container in engine.containers:
        image = find_image(engine, container)
        version = image_version(image)
        isolation = _isolation(engine, container)
        now = check(host, version, isolation) if host and version else None
        after = check(target, version, isolation) if target and version else None
        rows.append((container, image, now, after))
    return rows
