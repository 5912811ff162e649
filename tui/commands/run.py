"""`sfpatch run`: the console, or a headless run of the plan, on a cluster from a profile or
on an embedded simulator (--scenario)."""

from __future__ import annotations

import argparse
import contextlib
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
        "run",
        help="open the console, or run the patch plan headless, on a cluster",
        description="Open the console on the cluster a profile describes (see README, "
        "'Cluster profiles'), or with --headless run the plan without a screen: nodes in "
        "upgrade-domain order, one at a time, gated, each step recorded to the transcript. "
        "Headless exit codes: 0 every planned node done, 3 paused (a gate, a timeout, the "
        "window; the reason on stderr), 1 an error, 2 bad input.",
        epilog="examples:\n  sfpatch run --profile contoso-prod --ticket CHG-1234\n"
        "  sfpatch run --profile contoso-prod --headless --yes --node-type FrontEnd "
        "--window-end 04:00\n"
        "  sfpatch run --scenario seed --headless --yes --node-type FrontEnd --speed 0\n"
        "  sfpatch run --profile contoso-prod --headless --read-only   # the plan and its gates\n"
        "  sfpatch run --profile contoso-prod --resume ~/.local/share/sfpatch/transcripts/"
        "contoso-prod/20261126T220000Z-<id>.jsonl --headless --yes   # after a crash\n"
        "  sfpatch run --profile contoso-prod --break-lease   # take over a lease that expired",
        formatter_class=HelpFormatter,
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--profile", help="cluster profile name")
    where.add_argument(
        "--scenario", help="run against an embedded simulator of this scenario (name or .toml)"
    )
    parser.add_argument("--config", type=Path, default=None, help="profiles file to read")
    parser.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="TRANSCRIPT",
        help="continue the transcript of a session that crashed (on the same gateway)",
    )
    parser.add_argument(
        "--resume-elsewhere",
        action="store_true",
        help="with --resume: the cluster's gateway moved (another endpoint or server "
        "certificate); continue anyway and record the move",
    )
    parser.add_argument(
        "--break-lease",
        action="store_true",
        help="take over the cluster lease of another session once it has expired; "
        "you type the cluster name to confirm",
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help="confirm without asking: headless, every step whose gates pass (seed nodes too; "
        "without it nothing is sent); --break-lease takes the expired lease at once",
    )
    plan = add_plan_arguments(parser)
    plan.add_argument("--headless", action="store_true", help="run the plan without a screen")
    plan.add_argument(
        "--speed",
        type=float,
        default=None,
        help="with --scenario: simulated seconds per real second; 0 lets the run move the "
        "clock itself, as fast as it goes (default: 0 headless, 10 in the console)",
    )
    plan.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME:ARG",
        help="with --scenario: inject a simulator fault (see `sfpatch sim --help`)",
    )
    add_session_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tui.errors import UsageError
    from tui.inputs import PROFILE, check_name
    from tui.userfile import TRANSCRIPT, open_user_file

    if args.profile is not None:
        check_name(PROFILE, args.profile, "--profile")
    check_session_arguments(args)
    _check_plan_arguments(args)
    if args.resume and args.read_only:
        raise UsageError("--resume continues an operating session; it cannot be --read-only")
    if args.resume_elsewhere and not args.resume:
        raise UsageError("--resume-elsewhere goes with --resume TRANSCRIPT")
    if args.resume:
        open_user_file(args.resume, TRANSCRIPT).close()  # a regular file, or one line why not
    if args.break_lease and args.read_only:
        raise UsageError("--break-lease takes the cluster lease; a --read-only session takes none")
    key = signing_key(args)  # a bad key file is refused before anything connects or starts
    if args.scenario is not None:
        return _run_on_simulator(args, key)
    from tui.config import load_profile
    from tui.runbook.clock import WallClock

    profile = load_profile(args.profile, args.config)
    resumable = None
    if args.resume:  # a transcript that may not be resumed is named before the terminal is
        from tui.session import check_resumable

        resumable = check_resumable(args.resume, profile.name, key)
    check_console_terminal(args)
    args.break_confirm = break_confirmation(profile.name, args.yes) if args.break_lease else None
    if sys.stderr.isatty():  # progress for the engineer; a refusal stays one line in a log
        print(
            f"sfpatch: connecting to {profile.name} at {profile.gateway.endpoint} ...",
            file=sys.stderr,
        )
    return _run(args, profile, WallClock(), None, key, resumable)


def _check_plan_arguments(args: argparse.Namespace) -> None:
    from tui.errors import UsageError

    check_plan_arguments(args)
    if args.headless and not args.yes and not args.read_only:
        raise UsageError("a headless run sends changes only with --yes (or plans with --read-only)")
    if args.scenario is None and (args.speed is not None or args.fault):
        raise UsageError("--speed and --fault are for --scenario (an embedded simulator)")
    if args.scenario is not None and args.config is not None:
        raise UsageError("--config is for --profile; --scenario needs no profile")


def _run_on_simulator(args: argparse.Namespace, key) -> int:
    from tui.config import load_profile
    from tui.errors import UsageError
    from tui.runbook.clock import ScaledClock
    from tui.sim.clock import check_speed, real_now
    from tui.sim.faults import parse_fault, require_known_node
    from tui.sim.scenario import load_scenario

    speed = check_speed(args.speed if args.speed is not None else (0.0 if args.headless else 10.0))
    if speed == 0 and not args.headless:
        raise UsageError("--speed 0 is for --headless: the console needs a running clock")
    scenario = load_scenario(args.scenario)
    faults = tuple(parse_fault(text) for text in args.fault)
    names = {f"_{nt.name}_{i}" for nt in scenario.node_types for i in range(nt.instances)}
    for fault in faults:
        require_known_node(fault, names)
    check_console_terminal(args)
    from tui.sim.server import SimServer  # aiohttp and TLS: only once the input is known good

    with tempfile.TemporaryDirectory(prefix="sfpatch-run-") as state_dir:
        server = SimServer(scenario, Path(state_dir), speed=speed, faults=faults, start=real_now())
        print(
            f"sfpatch: starting the simulated cluster {scenario.cluster_name} ...", file=sys.stderr
        )
        server.start()
        try:
            profile = load_profile(scenario.cluster_name, server.profile_path)
            args.break_confirm = None  # a fresh simulator holds no lease
            clock = ScaledClock(server.clock.now, speed, server.advance)
            return _run(args, profile, clock, scenario.timing, key)
        finally:
            server.stop()


def _run(args: argparse.Namespace, profile, clock, timing, key, resumable=None) -> int:
    from tui.session import open_session

    settings = run_settings(args, profile, clock, timing, headless=args.headless)
    session = open_session(
        profile,
        transcript_dir=args.transcript_dir,
        ticket=args.ticket,
        poll_seconds=args.poll,
        read_only=args.read_only,
        transcript_key=key,
        resume=args.resume,
        resume_elsewhere=args.resume_elsewhere,
        break_lease=args.break_confirm,
        settings=settings,
        clock=clock,
        resumable=resumable,
    )
    if not args.headless:
        return run_console(session, plan_options(args))
    from tui.commands.headless import Printer, run_headless

    code, reason = 1, "headless run failed"
    try:
        code, reason = run_headless(
            session, plan_options(args), args.poll, Printer(sys.stdout, sys.stderr)
        )
    finally:
        with contextlib.suppress(Exception):
            out = [
                f"{n.name} ({n.status})"
                for n in (session.engine.last.snapshot.nodes if session.engine.last else ())
                if n.status != "Up"
            ]
            if out:
                reason += f"; nodes not Up: {', '.join(out)}"
        session.close(reason)
    print(f"sfpatch: transcript written to {session.transcript_path}", file=sys.stderr)
    return code


def break_confirmation(cluster: str, yes: bool, stdin=None, stderr=None):
    """How --break-lease asks before it takes an expired lease: the engineer types the cluster
    name on the terminal, or --yes answers. Without either, UsageError before any connection."""
    from tui.cluster.lease import LeaseRecord, describe
    from tui.errors import UsageError

    stdin, stderr = stdin or sys.stdin, stderr or sys.stderr
    if yes:
        return lambda record: "--yes"
    if not stdin.isatty():
        raise UsageError(
            "--break-lease asks you to type the cluster name, and stdin is not a terminal; "
            "add --yes to break the expired lease without asking"
        )

    def ask(record: LeaseRecord | None) -> str:
        held = f"held by {describe(record)}" if record else "not a lease record"
        print(f"sfpatch: the lease of {cluster} is {held}: it has expired.", file=stderr)
        print("sfpatch: break it only if that session is gone.", file=stderr)
        print(f"Type the cluster name ({cluster}) to break it: ", end="", file=stderr, flush=True)
        try:
            typed = stdin.readline()
        except KeyboardInterrupt:
            typed = ""
        return "typed the cluster name" if typed.strip() == cluster else ""

    return ask
