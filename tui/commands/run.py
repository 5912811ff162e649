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
        "contoso-prod/20261126T220000Z-<id>.jsonl   # after a crash",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--profile", required=True, help="cluster profile name")
    parser.add_argument("--config", type=Path, default=None, help="profiles file to read")
    parser.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="TRANSCRIPT",
        help="continue the transcript of a session that crashed",
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
    if args.resume and not args.resume.is_file():
        raise UsageError(f"{args.resume}: no such transcript")
    profile = load_profile(args.profile, args.config)
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
    )
    return run_console(session)
