"""Warnings about a cluster snapshot: container/host compatibility, settings, staleness.

Pure functions; the only I/O is reading the packaged Patch Tuesday catalog.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from tui.model import SEVERITY_RANK, ClusterSnapshot, Finding
from tui.rules.catalog import Catalog, load_catalog
from tui.rules.compat import CONTAINER_OS_MISMATCH, Verdict, check
from tui.rules.config import config_findings
from tui.rules.containers import container_findings, host_version, predict_patch
from tui.rules.staleness import engine_findings
from tui.winver import WindowsVersion, version_from_image_exact_version

__all__ = [
    "CONTAINER_OS_MISMATCH",
    "Verdict",
    "check",
    "config_findings",
    "container_findings",
    "evaluate",
    "model_patch_targets",
    "predict_patch",
    "sort_findings",
    "staleness_findings",
]


def evaluate(
    snapshot: ClusterSnapshot,
    patch_targets: Mapping[str, WindowsVersion] | None = None,
    today: date | None = None,
    catalog: Catalog | None = None,
) -> tuple[Finding, ...]:
    """Every finding for a snapshot, most severe first, then by subject.

    `patch_targets` maps node names to the version each will be patched to; without it the
    scale set models' image versions are used.
    """
    targets = model_patch_targets(snapshot) if patch_targets is None else patch_targets
    findings = config_findings(snapshot)
    for engine in snapshot.engines.values():
        findings += container_findings(engine)
        target = targets.get(engine.node_name)
        if target is not None:
            findings += predict_patch(engine, target)
    findings += staleness_findings(snapshot, today or date.today(), catalog or load_catalog())
    return sort_findings(findings)


def staleness_findings(snapshot: ClusterSnapshot, today: date, catalog: Catalog) -> list[Finding]:
    """Staleness findings for every engine in the snapshot."""
    findings: list[Finding] = []
    for engine in snapshot.engines.values():
        findings += engine_findings(engine, catalog, today)
    return findings


def model_patch_targets(snapshot: ClusterSnapshot) -> dict[str, WindowsVersion]:
    """Nodes whose scale set model carries a different OS image than the host runs now."""
    models = {
        s.name: version_from_image_exact_version(s.image_exact_version) for s in snapshot.scale_sets
    }
    targets = {}
    for instance in snapshot.instances:
        target = models.get(instance.scale_set)
        engine = snapshot.engines.get(instance.node_name)
        current = host_version(engine) if engine is not None else None
        if target is not None and current is not None and target != current:
            targets[instance.node_name] = target
    return targets


def sort_findings(findings: list[Finding]) -> tuple[Finding, ...]:
    """Most severe first; then predictions, compatibility, settings, staleness; then subject."""
    return tuple(sorted(findings, key=_finding_order))


# Within a severity, what breaks containers on patching comes first: it is why sfpatch exists.
_CATEGORY_ORDER = ("predict", "compat", "config", "staleness")


def _finding_order(f: Finding) -> tuple:
    category = f.rule_id.partition(".")[0]
    rank = _CATEGORY_ORDER.index(category) if category in _CATEGORY_ORDER else len(_CATEGORY_ORDER)
    return (-SEVERITY_RANK[f.severity], rank, f.subject, f.rule_id, f.message)
