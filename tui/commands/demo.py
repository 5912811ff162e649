"""`sfpatch demo`: the console against a simulated cluster; no Azure, no config."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tui.cli import HelpFormatter
from tui.commands.console import (
    add_session_arguments,
    check_console_terminal,
    check_session_arguments,
    run_console,
    signing_key,
)
from tui.commands.plan_args import (
    add_plan_arguments,
    check_plan_arguments,
    plan_options,
    run_settings,
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo",
        help="open the console on a simulated cluster (no Azure needed)",
        description="Start the simulator in-process and open the console against it. "
        "Every action is recorded to a session transcript, as against a real cluster.",
        epilog="examples:\n  sfpatch demo --scenario seed --speed 10 --ticket CHG-1234\n"
        "  sfpatch demo --node-type FrontEnd --settle 30 --window-end 04:00",
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
    add_plan_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tui.sim.clock import check_speed, real_now
    from tui.sim.scenario import load_scenario

    check_speed(args.speed, running=True)  # a frozen clock would never finish a step
    check_session_arguments(args)
    check_plan_arguments(args)
    key = signing_key(args)  # every file the options name is read before the simulator starts
    scenario = load_scenario(args.scenario)
    check_console_terminal(args)
    from tui.sim.server import SimServer  # aiohttp and TLS: only once the input is known good

    with tempfile.TemporaryDirectory(prefix="sfpatch-demo-") as state_dir:
        server = SimServer(scenario, Path(state_dir), speed=args.speed, start=real_now())
        print(
            f"sfpatch: starting the simulated cluster {scenario.cluster_name} ...", file=sys.stderr
        )
        server.start()
        try:
            clock = sim_clock(server)
            session = build_session(
                server,
                args.transcript_dir,
                args.ticket,
                args.poll,
                read_only=args.read_only,
                key=key,
                settings=run_settings(args, _profile(server), clock, scenario.timing),
            )
            return run_console(session, plan_options(args))
        finally:
            server.stop()


def build_session(
    server,
    transcript_dir: Path | None,
    ticket: str,
    poll: float,
    read_only: bool = False,
    key=None,
    settings=None,
):
    """A session on the simulator through the profile it wrote, as against a real cluster; its
    engine keeps the simulator's time (`settings`: how a runbook run goes)."""
    from tui.runbook.engine import RunSettings
    from tui.runbook.timing import timeouts_from_timing
    from tui.session import open_session

    timing = server.cluster.scenario.timing
    return open_session(
        _profile(server),
        transcript_dir=transcript_dir,
        ticket=ticket,
        poll_seconds=poll,
        read_only=read_only,
        transcript_key=key,
        settings=settings or RunSettings(mode="step", timeouts=timeouts_from_timing(timing)),
        clock=sim_clock(server),
    )


def sim_clock(server):
    """The simulator's clock as the engine's: elapsed times, settle and ETA in cluster time."""
    from tui.runbook.clock import ScaledClock

    return ScaledClock(server.clock.now, server.clock.speed, server.advance)


def _profile(server):
    from tui.config import load_profile

    return load_profile(server.cluster.scenario.cluster_name, server.profile_path)
