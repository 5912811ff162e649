"""The benchmark runner's command line: names to run, and a clear error for a wrong one."""

from __future__ import annotations

import pytest

from bench.__main__ import main


def test_a_benchmark_that_does_not_exist_is_a_one_line_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["inventroy"])
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "no benchmark named inventroy" in error and "inventory" in error


def test_help_lists_the_benchmarks_and_runs_none(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "benchmarks:" in out and "console" in out and "inventory" in out
