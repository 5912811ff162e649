"""`sfpatch report FILE --format md|html [-o OUT]`: an audit report of a session transcript."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tui.cli import HelpFormatter
from tui.transcript.keys import add_key_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write an audit report (Markdown or HTML) of a session transcript",
        description=(
            "Verify a transcript and write an audit report: a summary of each node's actions, "
            "who, when, ticket, a per-node timeline with durations, outcomes and the patch "
            "output, the warnings shown, gates and confirmations. The "
            "report is written even for a damaged transcript; the exit status is verify's: "
            "0 intact, 1 tampered or broken, 3 torn final record, 2 not a transcript, empty "
            "or unreadable."
        ),
        epilog=(
            "examples:\n"
            "  sfpatch report SESSION.jsonl --format html -o session.html\n"
            "  sfpatch report SESSION.jsonl --key transcript.key > session.md\n"
            "      checks the checkpoint signatures too; --no-key ignores "
            "$SFPATCH_TRANSCRIPT_KEY"
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("file", type=Path, help="the transcript (.jsonl)")
    parser.add_argument(
        "--format",
        choices=("md", "html"),
        default="md",
        help="report format (default: %(default)s)",
    )
    parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    add_key_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tui.errors import UsageError
    from tui.transcript.keys import key_from_arguments
    from tui.transcript.report import build_report
    from tui.userfile import open_output

    key = key_from_arguments(args)
    text, result = build_report(args.file, args.format, key)
    if args.output is None:
        sys.stdout.write(text + "\n")
    else:
        try:
            with open_output(args.output) as out:
                out.write((text + "\n").encode("utf-8"))
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        print(f"wrote {args.output}", file=sys.stderr)
    # The report is written either way (its verdict is at the top); the exit status is
    # verify's, so that a script does not file the report of a tampered transcript as clean.
    return result.exit_code
