"""`sfpatch` command line: one subcommand per module in tui/commands/.

Command modules keep heavy imports (SDKs, Textual) inside their run function so that
`sfpatch --help` and the quick commands start fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from typing import NoReturn

from tui import __version__
from tui.errors import SfpatchError


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Fills prose paragraphs to the terminal like argparse does, and keeps a paragraph with
    indented lines (examples, a table of faults) exactly as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = text.strip("\n").split("\n\n")
        return "\n\n".join(
            para
            if any(line.startswith(" ") for line in para.splitlines())
            else argparse.HelpFormatter._fill_text(self, para, width, indent)
            for para in paragraphs
        )


class Parser(argparse.ArgumentParser):
    """argparse's parser, with a usage error told in one line (the usage is in --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


# Order here is the order in `sfpatch --help`.
COMMANDS = ("demo", "run", "observe", "replay", "sim", "check", "compat", "verify", "report")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="sfpatch",
        description="Patch Azure Service Fabric clusters on Windows scale sets, node by node.",
    )
    parser.add_argument("--version", action="version", version=f"sfpatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"tui.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        code = int(args.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not as a warning at interpreter exit
        return code
    except SfpatchError as exc:
        print(f"sfpatch: error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("sfpatch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `sfpatch verify FILE | head -2`: the reader has gone, which is not an error of ours.
        _silence_stdout()
        return EXIT_BROKEN_PIPE


EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a killed writer
# Line breaks and other control characters, which a file name or a key in a file may hold.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(message: str) -> str:
    """The message with control characters escaped, so that an error is always one line."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], message)


def _silence_stdout() -> None:
    """Point stdout at devnull so the interpreter's final flush does not fail again (the recipe
    in the Python docs, "Note on SIGPIPE")."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (captured in tests): nothing will be flushed to a pipe
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def entry() -> None:
    """The `sfpatch` console script: main(), then the end of the process (tui.shutdown)."""
    from tui.shutdown import finish

    finish(main())


if __name__ == "__main__":
    entry()
