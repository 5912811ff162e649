"""A command's peak memory as the benchmarks measure it: its own, not its parent's."""

from __future__ import annotations

import sys

from bench._peak import run_for_peak


def test_a_small_command_started_from_a_large_process_is_measured_small():
    ballast = b"x" * (300 << 20)  # this process: over 300 MB resident
    wall, peak_mb, code = run_for_peak([sys.executable, "-S", "-c", "print('hello')"])
    assert ballast and code == 0 and wall > 0
    assert peak_mb < 100  # forked from this process and measured by wait4 here: over 300


def test_the_peak_is_what_the_command_itself_reached():
    grow = "x = b'x' * (200 << 20)"
    _, peak_mb, code = run_for_peak([sys.executable, "-S", "-c", grow])
    assert code == 0 and 200 <= peak_mb < 300


def test_the_exit_code_is_the_commands():
    _, _, code = run_for_peak([sys.executable, "-S", "-c", "raise SystemExit(3)"])
    assert code == 3
