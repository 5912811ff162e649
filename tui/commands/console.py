"""What `demo` and `run` share: the session options and running the console to the end."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from tui.errors import UsageError


def add_session_arguments(parser: argparse.ArgumentParser) -> None:
    """--ticket, --transcript-dir, --transcript-key, --read-only, --poll."""
    parser.add_argument("--ticket", default="", help="change ticket recorded in the transcript")
    parser.add_argument(
        "--transcript-dir",
        type=Path,
        default=None,
        help="where transcripts go (default: the user data dir)",
    )
    parser.add_argument(
        "--transcript-key",
        type=Path,
        default=None,
        metavar="FILE",
        help="sign checkpoints with this HMAC secret or Ed25519 private key "
        "(default: $SFPATCH_TRANSCRIPT_KEY if set)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="watch only: the session has no way to change the cluster",
    )
    parser.add_argument(
        "--poll",
        type=float,
        default=2.0,
        help="seconds between health refreshes (default %(default)s)",
    )


def check_session_arguments(args: argparse.Namespace) -> None:
    if not (math.isfinite(args.poll) and args.poll > 0):
        raise UsageError("--poll must be a number of seconds > 0")


def signing_key(args: argparse.Namespace):
    """The transcript signing key the options name (or $SFPATCH_TRANSCRIPT_KEY), or None."""
    from tui.transcript.keys import load_signing_key

    return load_signing_key(args.transcript_key)


def run_console(session) -> int:
    """Run the app until the engineer quits (or SIGTERM/SIGHUP); the session is always closed."""
    app = None
    try:
        from tui.app.app import SfpatchApp

        app = SfpatchApp(session, handle_signals=True)
        app.run()
    finally:
        session.close(app.end_reason if app is not None else "session ended")
    if session.transcript_path:
        print(f"sfpatch: transcript written to {session.transcript_path}", file=sys.stderr)
    return 0
