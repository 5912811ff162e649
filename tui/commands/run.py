"""`sfpatch run`: the console against a real cluster described by a profile."""

from __future__ import annotations

import argparse
import sys
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
        "run",
        help="open the console on a cluster from your profiles",
        description="Open the console on the cluster a profile describes (see README, "
        "'Cluster profiles'). Every action is recorded to a session transcript.",
        epilog="examples:\n  sfpatch run --profile contoso-prod --ticket CHG-1234\n"
        "  sfpatch run --profile contoso-prod --resume ~/.local/share/sfpatch/transcripts/"
        "contoso-prod/20261126T220000Z-<id>.jsonl   # after a crash\n"
        "  sfpatch run --profile contoso-prod --break-lease   # take over a lease that expired",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--profile", required=True, help="cluster profile name")
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
        help="confirm without asking (--break-lease takes the expired lease at once)",
    )
    add_session_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tui.config import load_profile
    from tui.errors import UsageError
    from tui.session import open_session

    check_session_arguments(args)
    if args.resume and args.read_only:
        raise UsageError("--resume continues an operating session; it cannot be --read-only")
    if args.resume_elsewhere and not args.resume:
        raise UsageError("--resume-elsewhere goes with --resume TRANSCRIPT")
    if args.resume and not args.resume.is_file():
        raise UsageError(f"{args.resume}: no such transcript")
    if args.break_lease and args.read_only:
        raise UsageError("--break-lease takes the cluster lease; a --read-only session takes none")
    profile = load_profile(args.profile, args.config)
    confirm = break_confirmation(profile.name, args.yes) if args.break_lease else None
    print(
        f"sfpatch: connecting to {profile.name} at {profile.gateway.endpoint} ...", file=sys.stderr
    )
    session = open_session(
        profile,
        transcript_dir=args.transcript_dir,
        ticket=args.ticket,
        poll_seconds=args.poll,
        read_only=args.read_only,
        transcript_key=signing_key(args),
        resume=args.resume,
        resume_elsewhere=args.resume_elsewhere,
        break_lease=confirm,
    )
    return run_console(session)


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
