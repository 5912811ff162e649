"""`sfpatch run`: the console against a real cluster described by a profile."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "run",
        help="open the console on a cluster from your profiles",
        description="Open the console on the cluster a profile describes (see README, "
        "'Cluster profiles'). Every action is recorded to a session transcript.",
        epilog="example:\n  sfpatch run --profile contoso-prod --ticket CHG-1234",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--profile", required=True, help="cluster profile name")
    parser.add_argument("--config", type=Path, default=None, help="profiles file to read")
    parser.add_argument("--ticket", default="", help="change ticket recorded in the transcript")
    parser.add_argument(
        "--transcript-dir",
        type=Path,
        default=None,
        help="where transcripts go (default: the user data dir)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="watch only: the session has no way to change the cluster",
    )
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between refreshes")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tui.config import load_profile
    from tui.errors import UsageError
    from tui.session import open_session

    if args.poll <= 0:
        raise UsageError("--poll must be > 0")
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
    )
    try:
        from tui.app.app import SfpatchApp

        SfpatchApp(session).run()
    finally:
        session.close()
    if session.transcript_path:
        print(f"sfpatch: transcript written to {session.transcript_path}", file=sys.stderr)
    return 0
