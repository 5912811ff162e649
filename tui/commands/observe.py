"""`sfpatch observe`: follow a live session's transcript, or watch the cluster read-only."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from tui.cli import HelpFormatter
from tui.transcript.keys import add_key_arguments


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "observe",
        help="follow a session as it happens (its transcript, or the cluster read-only)",
        description="Follow a live session on the console's screens: its steps, gates, "
        "confirmations and notes as its transcript grows, each record chain-checked. With "
        "--profile, the session is found from the cluster's lease; when its transcript is not "
        "on this host you get a read-only live view of the cluster and who holds the lease. "
        "Observe holds nothing that can change the cluster.",
        epilog="examples:\n"
        "  sfpatch observe ~/.local/share/sfpatch/transcripts/contoso-prod/20261126T220000Z-"
        "<id>.jsonl\n"
        "  sfpatch observe --profile contoso-prod",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("transcript", type=Path, nargs="?", metavar="TRANSCRIPT")
    parser.add_argument("--profile", help="find the session from this cluster's lease")
    parser.add_argument("--config", type=Path, default=None, help="profiles file to read")
    parser.add_argument(
        "--transcript-dir",
        type=Path,
        default=None,
        help="where this host's transcripts are (default: the user data dir)",
    )
    add_key_arguments(parser)
    parser.add_argument(
        "--poll", type=float, default=1.0, help="seconds between reads (default %(default)s)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tui.commands.console import run_viewer
    from tui.errors import UsageError
    from tui.transcript.keys import key_from_arguments

    if (args.transcript is None) == (args.profile is None):
        raise UsageError("give a TRANSCRIPT to follow or --profile NAME, not both")
    if args.config is not None and args.profile is None:
        raise UsageError("--config goes with --profile")
    if not (math.isfinite(args.poll) and args.poll > 0):
        raise UsageError("--poll must be a number of seconds > 0")
    key = key_from_arguments(args)
    if args.transcript is not None:
        return run_viewer(follow(args.transcript, key, args.poll))
    return run_viewer(observe_profile(args, key))


def follow(path: Path, key, poll: float, holder: str = ""):
    """The source that follows one transcript file."""
    from tui.errors import UsageError
    from tui.sources.observe import ObserveSource
    from tui.transcript.reader import check_transcript

    if not path.exists():
        raise UsageError(f"{path}: no such transcript")
    check_transcript(path)
    return ObserveSource(path, key, poll_seconds=poll, holder=holder)


def observe_profile(args: argparse.Namespace, key):
    """The lease names the session: follow its transcript when it is on this host, else watch
    the cluster read-only."""
    from tui.config import load_profile
    from tui.session import find_observed, observer_source

    profile = load_profile(args.profile, args.config)
    print(f"sfpatch: reading the lease of {profile.name} (read-only) ...", file=sys.stderr)
    found = find_observed(profile, args.transcript_dir)
    if found.transcript is not None:
        print(f"sfpatch: following {found.transcript} ({found.holder})", file=sys.stderr)
        return follow(found.transcript, key, args.poll, found.holder)
    print(f"sfpatch: {found.why}; watching the cluster read-only", file=sys.stderr)
    return observer_source(profile, args.poll)
