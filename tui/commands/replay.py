"""`sfpatch replay TRANSCRIPT`: verify a transcript, then step through it on the screens."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from tui.cli import HelpFormatter
from tui.transcript.keys import add_key_arguments


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "replay",
        help="replay a session transcript on the console's screens",
        description="Verify a transcript, then redraw the screens the engineer saw from its "
        "snapshots and events, with the transcript and a timeline of node steps. A damaged "
        "file replays up to the first bad record, marked. Nothing here can reach a cluster: "
        "replay reads only the file.\n\n"
        "keys: space play/pause, < > speed (0.25x-16x), left/right one record, [ ] previous or "
        "next node step, f next gate, override or failure, g go to a time, home/end, q quit.",
        epilog="examples:\n"
        "  sfpatch replay ~/.local/share/sfpatch/transcripts/contoso-prod/20261126T220000Z-"
        "<id>.jsonl\n"
        "  sfpatch replay SESSION.jsonl --key transcript.pub --speed 4 --idle-limit 1",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("transcript", type=Path, metavar="TRANSCRIPT")
    add_key_arguments(parser)
    parser.add_argument(
        "--speed", type=float, default=1.0, help="play speed, 0.25 to 16 (default %(default)s)"
    )
    parser.add_argument(
        "--idle-limit",
        type=float,
        default=2.0,
        metavar="S",
        help="longest pause between two records while playing, in seconds (default %(default)s)",
    )
    parser.set_defaults(run=run)


def check_arguments(args: argparse.Namespace) -> None:
    from tui.errors import UsageError

    if not (math.isfinite(args.speed) and 0.25 <= args.speed <= 16):
        raise UsageError(f"--speed must be between 0.25 and 16 (got {args.speed})")
    if not (math.isfinite(args.idle_limit) and args.idle_limit > 0):
        raise UsageError(f"--idle-limit must be a number of seconds > 0 (got {args.idle_limit})")
    if not args.transcript.exists():
        raise UsageError(f"{args.transcript}: no such transcript")


def run(args: argparse.Namespace) -> int:
    from tui.commands.console import run_viewer
    from tui.sources.replay import ReplaySource
    from tui.transcript.keys import key_from_arguments

    check_arguments(args)
    source = ReplaySource(
        args.transcript, key_from_arguments(args), speed=args.speed, idle_limit=args.idle_limit
    )
    return run_viewer(source)
