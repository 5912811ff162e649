"""The `sfpatch` entry point: behaviour shared by every command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli import EXIT_BROKEN_PIPE, main
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


def help_of(command: str, capsys) -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize("command", ["sim", "check", "compat", "verify", "report"])
def test_the_help_has_examples(command: str, capsys) -> None:
    assert "\nexamples:\n  sfpatch " + command in help_of(command, capsys)


def test_help_shows_defaults(capsys) -> None:
    assert "(default: 1.0)" in help_of("sim", capsys)
    assert "(default: error)" in help_of("check", capsys)
    assert "(default: process)" in help_of("compat", capsys)
    assert "(default: md)" in help_of("report", capsys)


def test_sim_faults_line_up_and_fault_has_help(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    text = help_of("sim", capsys)
    assert "--fault NAME:ARG      inject a fault" in text
    rows = text.split("faults (--fault NAME:ARG, repeatable):\n")[1].split("\n\n")[0]
    starts = {re.match(r"  \S+\s+", line).end() for line in rows.splitlines()}
    assert len(rows.splitlines()) >= 7 and len(starts) == 1  # one column for the descriptions


def test_compat_explains_every_example(capsys) -> None:
    examples = help_of("compat", capsys).split("examples:\n")[1].split("\n\n")[0].splitlines()
    commands = [i for i, line in enumerate(examples) if line.startswith("  sfpatch")]
    assert all(examples[i + 1].startswith("      ") for i in commands)
