"""`sfpatch demo`: the console against a simulated cluster; no Azure, no config."""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

from tui.cli import HelpFormatter
from tui.commands.console import (
    add_session_arguments,
    check_session_arguments,
    run_console,
    signing_key,
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo",
        help="open the console on a simulated cluster (no Azure needed)",
        description="Start the simulator in-process and open the console against it. "
        "Every action is recorded to a session transcript, as against a real cluster.",
        epilog="example:\n  sfpatch demo --scenario seed --speed 10 --ticket CHG-1234",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--scenario", default="seed", help="shipped scenario name or .toml path")
    parser.add_argument(
        "--speed",
        type=float,
        default=10.0,
        help="simulated seconds per real second (default 10: a disable takes ~3 s)",
    )
    add_session_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tui.errors import UsageError
    from tui.sim.clock import real_now
    from tui.sim.scenario import load_scenario
    from tui.sim.server import SimServer

    if not (math.isfinite(args.speed) and args.speed > 0):
        raise UsageError(f"--speed must be a finite number > 0 for the demo (got {args.speed})")
    check_session_arguments(args)
    scenario = load_scenario(args.scenario)
    print(f"sfpatch: starting the simulated cluster {scenario.cluster_name} ...", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="sfpatch-demo-") as state_dir:
        server = SimServer(scenario, Path(state_dir), speed=args.speed, start=real_now()).start()
        try:
            session = build_session(
                server,
                args.transcript_dir,
                args.ticket,
                args.poll,
                read_only=args.read_only,
                key=signing_key(args),
            )
            return run_console(session)
        finally:
            server.stop()


def build_session(
    server,
    transcript_dir: Path | None,
    ticket: str,
    poll: float,
    read_only: bool = False,
    key=None,
):
    """A session on the simulator through the profile it wrote, as against a real cluster."""
    from tui.config import load_profile
    from tui.session import open_session

    profile = load_profile(server.cluster.scenario.cluster_name, server.profile_path)
    return open_session(
        profile,
        transcript_dir=transcript_dir,
        ticket=ticket,
        poll_seconds=poll,
        read_only=read_only,
        transcript_key=key,
    )
