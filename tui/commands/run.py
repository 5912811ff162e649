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
        epilog="examples:\n  sfpatch run --profile contoso-prod --ticket CHG-1234\n"
        "  sfpatch run --profile contoso-prod --resume ~/.local/share/sfpatch/transcripts/"
        "contoso-prod/20261126T220000Z-<id>.jsonl   # after a crash",
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
    parser.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="TRANSCRIPT",
        help="continue the transcript of a session that crashed",
    )
    parser.add_argument(
        "--transcript-key",
        type=Path,
        default=None,
        metavar="FILE",
        help="sign checkpoints with this HMAC secret or Ed25519 private key "
        "(default: $SFPATCH_TRANSCRIPT_KEY if set)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tui.config import load_profile
    from tui.errors import UsageError
    from tui.session import open_session
    from tui.transcript.keys import load_signing_key

    if args.poll <= 0:
        raise UsageError("--poll must be > 0")
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
        transcript_key=None if args.read_only else load_signing_key(args.transcript_key),
        resume=args.resume,
    )
    try:
        from tui.app.app import SfpatchApp

        SfpatchApp(session).run()
    finally:
        session.close()
    if session.transcript_path:
        print(f"sfpatch: transcript written to {session.transcript_path}", file=sys.stderr)
    return 0
