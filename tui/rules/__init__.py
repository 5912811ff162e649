"""Warnings about a cluster snapshot: container/host compatibility, settings, staleness.

Pure functions; the only I/O is reading the packaged Patch Tuesday catalog.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import date

from tui.model import SEVERITY_RANK, ClusterSnapshot, Engine, Finding
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


# What one engine's findings were worked out from: the engine, its patch target, the day.
EngineKey = tuple[Engine, WindowsVersion | None, date]


def evaluate(
    snapshot: ClusterSnapshot,
    patch_targets: Mapping[str, WindowsVersion] | None = None,
    today: date | None = None,
    catalog: Catalog | None = None,
    by_engine: MutableMapping[str, tuple[EngineKey, list[Finding]]] | None = None,
) -> tuple[Finding, ...]:
    """Every finding for a snapshot, most severe first, then by subject.

    `patch_targets` maps node names to the version each will be patched to; without it the
    scale set models' image versions are used. `by_engine` keeps each engine's own findings
    between calls (with one catalog), so that an engine unchanged since is not judged again.
    """
    targets = model_patch_targets(snapshot) if patch_targets is None else patch_targets
    day, catalog = today or date.today(), catalog or load_catalog()
    known = {} if by_engine is None else by_engine
    findings = config_findings(snapshot)
    for name, engine in snapshot.engines.items():
        key = (engine, targets.get(engine.node_name), day)
        kept = known.get(name)
        if kept is None or not _same_key(kept[0], key):
            kept = known[name] = (key, engine_rule_findings(engine, key[1], day, catalog))
        findings += kept[1]
    for name in [n for n in known if n not in snapshot.engines]:
        del known[name]
    return sort_findings(findings)


def engine_rule_findings(
    engine: Engine, target: WindowsVersion | None, today: date, catalog: Catalog
) -> list[Finding]:
    """The findings about one engine alone: its containers, the patch prediction, staleness."""
    findings = container_findings(engine)
    if target is not None:
        findings += predict_patch(engine, target)
    return findings + engine_findings(engine, catalog, today)


def _same_key(a: EngineKey, b: EngineKey) -> bool:
    # A carried-over engine is the same object: no deep comparison in the usual case.
    return (a[0] is b[0] or a[0] == b[0]) and a[1] == b[1] and a[2] == b[2]


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
