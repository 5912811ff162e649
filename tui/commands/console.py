"""What `demo` and `run` share: the session options and running the console to the end."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from tui.errors import UsageError
from tui.inputs import Range, check_number

# Headless runs against a frozen simulator poll every 0.05 s; an hour between refreshes is blind.
POLL_SECONDS = Range(0.01, 3600.0)


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


def stdout_is_terminal() -> bool:
    """Both streams: Textual draws on stderr, and what is printed goes to stdout."""
    return sys.stdout.isatty() and sys.stderr.isatty()


def check_session_arguments(args: argparse.Namespace) -> None:
    """The numbers among the session options are in range (one-line UsageError if not)."""
    check_number(args.poll, POLL_SECONDS, "--poll")


def check_console_terminal(args: argparse.Namespace) -> None:
    """The console has a terminal to draw on (one-line UsageError if not). Called once every
    option and file is known good, so bad input is named first, and before anything starts."""
    if not getattr(args, "headless", False) and not stdout_is_terminal():
        # The console would draw its escape codes into the pipe or file.
        raise UsageError(
            "the console needs a terminal on stdout and stderr, and one is a pipe or a file; "
            "use `sfpatch run --headless` (or `sfpatch check`) for output without a screen"
        )


def signing_key(args: argparse.Namespace):
    """The transcript signing key the options name (or $SFPATCH_TRANSCRIPT_KEY), or None."""
    from tui.transcript.keys import load_signing_key

    return load_signing_key(args.transcript_key)


def run_viewer(source) -> int:
    """Run the app on a source that holds nothing to act with (observe, replay) until quit or
    SIGTERM/SIGHUP; the source is always closed."""
    from tui.app.app import SfpatchApp
    from tui.shutdown import SignalWatch, end_without_teardown

    app = SfpatchApp(source=source)
    with SignalWatch(end=app.end_from_any_thread, seal=source.close):
        try:
            app.run_until_ended()
        finally:
            source.close(app.end_reason)
            end_without_teardown()
    return 0


def run_console(session, options=None) -> int:
    """Run the app until the engineer quits or SIGTERM/SIGHUP; the session is always closed.
    Plan options the cluster does not match end it at the first read, as a UsageError.

    After a signal the process ends within tui.shutdown.GRACE_SECONDS, sealed, whatever the
    app was doing (a poll, a patch, quitting)."""
    from tui.app.app import SfpatchApp
    from tui.runbook.plan import PlanOptions
    from tui.shutdown import SignalWatch, end_without_teardown

    app = SfpatchApp(session, plan_options=options or PlanOptions())
    seal = lambda reason: session.close(app.ending_reason(reason))  # noqa: E731
    with SignalWatch(end=app.end_from_any_thread, seal=seal):
        try:
            app.run_until_ended()
            # What q leads to can take a while (the lease, the seal): say so at once.
            with contextlib.suppress(OSError):
                print(
                    "sfpatch: closing the session: releasing the lease, sealing the transcript ...",
                    file=sys.stderr,
                    flush=True,
                )
        finally:
            session.close(app.end_reason)
            end_without_teardown()
    if app.plan_error:
        raise UsageError(app.plan_error)
    if session.transcript_path:
        with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
            print(f"sfpatch: transcript written to {session.transcript_path}", file=sys.stderr)
    return 0
