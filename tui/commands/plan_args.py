"""The plan options `run` (console or headless) and `demo` share: one parser, one check, and
what they become (PlanOptions, RunSettings)."""

from __future__ import annotations

import argparse

from tui.errors import UsageError
from tui.inputs import Range, check_number

SETTLE_SECONDS = Range(0, 86_400.0)  # a node that must stay healthy longer is not settling


def add_plan_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """--nodes, --node-type, --ud, --strategy, --settle, --window-end, --window, --override."""
    plan = parser.add_argument_group("the plan (console runbook pane, or headless)")
    plan.add_argument("--nodes", metavar="NAME,...", help="only these nodes")
    plan.add_argument("--node-type", metavar="TYPE,...", help="only nodes of these node types")
    plan.add_argument("--ud", metavar="N,...", help="only nodes in these upgrade domains")
    plan.add_argument(
        "--strategy",
        choices=("windows-update", "reimage", "manual"),
        help="patch every planned node this way (default: per node type, else windows-update)",
    )
    plan.add_argument(
        "--settle",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="cluster seconds a node must stay Up and healthy after enable (default %(default)s)",
    )
    plan.add_argument("--window-end", metavar="TIME", help="the change window ends at TIME (UTC)")
    plan.add_argument(
        "--window", metavar="START/END", help="the change window, e.g. 01:00/04:00 (UTC)"
    )
    plan.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="GATE:NODE",
        help="let this failed gate pass for this node (recorded; repeatable)",
    )
    return plan


def check_plan_arguments(args: argparse.Namespace) -> None:
    """UsageError for plan options that cannot be right, before anything is connected."""
    check_number(args.settle, SETTLE_SECONDS, "--settle")
    for text in args.override:
        gate, sep, node = text.partition(":")
        if not sep or not gate or not node:
            raise UsageError(f"--override {text!r}: expected GATE:NODE")


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip()) if text else ()


def plan_options(args: argparse.Namespace):
    """The subset of the cluster the options name."""
    from tui.runbook.plan import PlanOptions

    return PlanOptions(
        nodes=_split(args.nodes),
        node_types=_split(args.node_type),
        upgrade_domains=_split(args.ud),
        strategy=args.strategy,
    )


def run_settings(args: argparse.Namespace, profile, clock, timing, headless: bool = False):
    """How the run goes: settle, window, overrides, per-type strategies and, on a simulator,
    its timeouts and first estimate. The console starts in step mode, headless in auto."""
    from tui.runbook.engine import RunSettings
    from tui.runbook.timing import estimate_from_timing, timeouts_from_timing
    from tui.runbook.window import parse_window

    overrides = frozenset(tuple(text.split(":", 1)) for text in args.override)
    kwargs = {}
    if timing is not None:
        kwargs["timeouts"] = timeouts_from_timing(timing)
        kwargs["seed_estimate_seconds"] = estimate_from_timing(timing, args.settle)
    return RunSettings(
        mode="auto" if headless else "step",
        settle_seconds=args.settle,
        window=parse_window(args.window, args.window_end, clock.now()),
        overrides=overrides,  # type: ignore[arg-type]
        confirmed_by="--yes" if headless else "the engineer",
        strategies={t: nt.strategy for t, nt in profile.node_types.items() if nt.strategy},
        **kwargs,
    )
