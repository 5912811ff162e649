"""`sfpatch verify FILE [--key KEY]`: check a transcript's sequence, chain, hashes and checkpoints.

Exit 0 intact, 1 tampered or broken, 3 intact up to a torn final record, 2 unreadable, empty,
or not a transcript at all.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tui.cli import HelpFormatter
from tui.transcript.keys import add_key_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check a session transcript for tampering, gaps and torn writes",
        description=(
            "Check a transcript's sequence, hash chain and checkpoints. With a key (an HMAC "
            "secret file or an Ed25519 public key PEM; default $SFPATCH_TRANSCRIPT_KEY), "
            "checkpoint signatures are checked and a cut-off tail is detected. Exit status: "
            "0 intact, 1 tampered or broken, 3 intact up to a torn final record, 2 unreadable, "
            "empty or not a transcript. An intact transcript of a session that did not end "
            "(crashed, killed, or still running) is intact: `closed: no` says so."
        ),
        epilog=(
            "examples:\n"
            "  sfpatch verify SESSION.jsonl\n"
            "  sfpatch verify SESSION.jsonl --key transcript.key\n"
            "      also checks checkpoint signatures and that a signed final checkpoint seals it\n"
            "  sfpatch verify SESSION.jsonl --json | jq .status"
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("file", type=Path, help="the transcript (.jsonl)")
    add_key_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tui.transcript.keys import key_from_arguments
    from tui.transcript.reader import verify_file
    from tui.transcript.report import describe_verification

    key = key_from_arguments(args)
    result = verify_file(args.file, key)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, sort_keys=True))
    else:
        for label, value in describe_verification(result):
            print(f"{label + ':':<13} {value}")
    return result.exit_code
