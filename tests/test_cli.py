"""The `sfpatch` entry point: behaviour shared by every command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tui.cli import EXIT_BROKEN_PIPE
from tui.transcript.writer import TranscriptWriter

from .transcript.conftest import header, write_session


def test_a_reader_that_went_away_ends_the_command_quietly(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    write_session(writer)
    writer.close()
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head` that has already exited: the first write hits a closed pipe
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tui.cli", "verify", str(writer.path)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[1],
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.stderr == b""
    assert done.returncode == EXIT_BROKEN_PIPE
