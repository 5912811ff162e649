"""`sfpatch compat` exit codes and output."""

from __future__ import annotations

import pytest

from tui.cli import main


def test_compatible_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compat", "--host", "10.0.17763.6054", "--image", "10.0.17763.5936"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("compatible:")
    assert "rule compat.process-build" in out


def test_incompatible_exits_1_and_names_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["compat", "--host", "10.0.14393.1944", "--image", "10.0.14393.1770"])
    assert code == 1
    out = capsys.readouterr().out
    assert out.startswith("NOT compatible:")
    assert "compat.ws2016-revision" in out
    assert "host 10.0.14393.1944, image 10.0.14393.1770" in out


def test_hyperv_isolation_option(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["compat", "--host", "10.0.17763.6054", "--image", "10.0.14393.1770"]
    assert main(argv) == 1
    assert main([*argv, "--isolation", "hyperv"]) == 0
    assert "compat.hyperv" in capsys.readouterr().out


def test_unknown_2016_revision_cannot_be_decided_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["compat", "--host", "10.0.14393", "--image", "10.0.14393.1770"])
    assert code == 1
    out = capsys.readouterr().out
    assert out.startswith("cannot be decided: image 10.0.14393.1770 on host 10.0.14393")
    assert "compatible" not in out.splitlines()[0]
    assert "rule compat.revision-unknown" in out
    assert "cannot be checked without both revisions" in out and "(no host revision)" in out


@pytest.mark.parametrize("bad", ["10.0.x", "", "17763", "10.0.17763.6054.1"])
def test_malformed_version_exits_2_with_one_line(
    bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compat", "--host", bad, "--image", "10.0.17763.5936"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("sfpatch: error: not a Windows version")


def test_help_has_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["compat", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "sfpatch compat --host 10.0.14393.1944 --image 10.0.14393.1770" in out
    assert "--isolation" in out
