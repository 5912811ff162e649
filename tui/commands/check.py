"""`sfpatch check`: gather a snapshot, print the findings, and exit non-zero when they are bad.

Meant for a pipeline before a change: exit 0 clean, 1 a finding at or above --fail-on (or the
gateway unreachable), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tui.cli import HelpFormatter
from tui.errors import ClusterError, UsageError
from tui.model import SEVERITY_RANK, ClusterSnapshot, Finding

if TYPE_CHECKING:
    from tui.config import ClusterProfile

EXAMPLES = """\
examples:
  sfpatch check --profile contoso-prod
  sfpatch check --profile contoso-prod --target Legacy=10.0.14393.1944 --fail-on warning
  sfpatch check --scenario seed --json

exit status: 0 no finding at or above --fail-on, 1 there is one (or the gateway cannot be
read), 2 bad input (unknown profile, bad profile file, malformed --target or one naming a node
type the cluster does not have)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `check` subcommand."""
    parser = subparsers.add_parser(
        "check",
        help="gather a cluster snapshot and report its findings (for pipelines)",
        description=(
            "Read the cluster (Service Fabric gateway, scale sets, Docker engines), run the "
            "compatibility, settings and staleness rules, and print the findings by severity."
        ),
        epilog=EXAMPLES,
        formatter_class=HelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--profile", metavar="NAME", help="a cluster profile from the config file")
    source.add_argument(
        "--scenario",
        metavar="NAME|FILE",
        help="start the simulator on this scenario in-process and check it",
    )
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="profiles file (default: profiles.toml in "
        "the sfpatch config dir)"
    )  # fmt: skip
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NODETYPE=VERSION",
        help="the version a node type will be patched to (repeatable; overrides the profile)",
    )
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument(
        "--fail-on",
        choices=("warning", "error"),
        default="error",
        help="exit 1 when a finding at or above this severity exists (default: %(default)s)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Gather, evaluate, print; the exit status follows --fail-on."""
    from tui.config import load_profile, parse_target
    from tui.findings import findings_for
    from tui.inputs import PROFILE, check_name

    if args.profile is not None:
        check_name(PROFILE, args.profile, "--profile")
    targets = dict(parse_target(text) for text in args.target)
    if args.scenario and args.config:
        raise UsageError("--config goes with --profile (a --scenario writes its own profile)")
    if args.profile:
        profile = load_profile(args.profile, args.config)
        snapshot = _gather(profile, None)
    else:
        with _simulated(args.scenario) as (profile, clock):
            snapshot = _gather(profile, clock)
    if not snapshot.nodes:
        reason = next((e.message for e in snapshot.errors if e.source == "fabric"), "no nodes")
        raise ClusterError(f"cannot read the cluster's nodes from {snapshot.endpoint}: {reason}")
    _check_target_node_types(targets, snapshot)
    findings = findings_for(snapshot, {**profile.patch_targets, **targets})
    failed = any(SEVERITY_RANK[f.severity] >= SEVERITY_RANK[args.fail_on] for f in findings)
    if args.json:
        print(json.dumps(report_json(snapshot, findings, args.fail_on, failed), indent=2))
    else:
        print(report_text(snapshot, findings), end="")
    return 1 if failed else 0


def _check_target_node_types(targets: dict[str, object], snapshot: ClusterSnapshot) -> None:
    """A --target for a node type the cluster does not have would silently check nothing."""
    known = sorted({node.node_type for node in snapshot.nodes})
    for node_type in targets:
        if node_type not in known:
            raise UsageError(
                f"--target {node_type}=...: {snapshot.cluster_name} has no node type "
                f"{node_type!r} (known: {', '.join(known)})"
            )


def _gather(profile: ClusterProfile, now: Callable[[], datetime] | None) -> ClusterSnapshot:
    import gc

    from tui.cluster.inventory import connect, gather

    # The modules just imported (the SDKs' models) live as long as the process: kept out of
    # the collections a cold gather's many new objects set off.
    gc.freeze()
    progress = _progress_line if sys.stderr.isatty() else None
    try:
        with connect(profile, now, read_only=True) as inventory:  # check only reads
            return gather(inventory, progress)
    finally:
        if progress is not None:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _progress_line(done: int, total: int, what: str) -> None:
    sys.stderr.write(f"\r\033[Kgathering: {done}/{total} {what}"[:120])
    sys.stderr.flush()


@contextmanager
def _simulated(
    scenario_name: str,
) -> Iterator[tuple[ClusterProfile, Callable[[], datetime]]]:
    """The simulator on a temporary state dir (clock frozen), the profile it writes, its clock."""
    import tempfile

    from tui.config import load_profile
    from tui.sim.scenario import load_scenario

    scenario = load_scenario(scenario_name)
    from tui.sim.server import SimServer  # aiohttp and TLS: only once the scenario is good

    with (
        tempfile.TemporaryDirectory(prefix="sfpatch-check-") as tmp,
        SimServer(scenario, Path(tmp), speed=0) as server,
    ):
        yield load_profile(scenario.cluster_name, server.profile_path), server.clock.now


def report_text(snapshot: ClusterSnapshot, findings: tuple[Finding, ...]) -> str:
    """Findings grouped by severity, most severe first, under a one-line summary."""
    counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "none"
    lines = [
        f"{snapshot.cluster_name} ({snapshot.endpoint}): {len(snapshot.nodes)} nodes, "
        f"{len(snapshot.scale_sets)} scale sets, {len(snapshot.engines)} engines; "
        f"findings: {summary}"
    ]
    for severity in ("error", "warning", "info"):
        group = [f for f in findings if f.severity == severity]
        if not group:
            continue
        lines += ["", f"{severity.upper()} ({len(group)})"]
        lines += [f"  {_subject_and_message(f)} [{f.rule_id}]" for f in group]
    return "\n".join(lines) + "\n"


def _subject_and_message(finding: Finding) -> str:
    """`subject: message`, or the message alone when it already names its subject first (the
    message stands alone in the transcript, so it often does)."""
    if finding.message.startswith(finding.subject):
        return finding.message
    return f"{finding.subject}: {finding.message}"


def report_json(
    snapshot: ClusterSnapshot, findings: tuple[Finding, ...], fail_on: str, failed: bool
) -> dict[str, object]:
    """The same report as a JSON-ready dict."""
    return {
        "cluster": snapshot.cluster_name,
        "endpoint": snapshot.endpoint,
        "taken_at": snapshot.taken_at.isoformat(),
        "nodes": len(snapshot.nodes),
        "scale_sets": len(snapshot.scale_sets),
        "engines": len(snapshot.engines),
        "fail_on": fail_on,
        "failed": failed,
        "findings": [asdict(f) for f in findings],
        "errors": [asdict(e) for e in snapshot.errors],
    }
