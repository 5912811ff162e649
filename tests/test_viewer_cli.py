"""replay and observe refuse bad input with one line and exit 2, before any screen opens."""

from __future__ import annotations

import pytest

from tui.cli import main


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["replay", "{tmp}/nope.jsonl"], "no such transcript"),
        (["replay", "{tmp}/t.jsonl", "--speed", "32"], "--speed"),
        (["replay", "{tmp}/t.jsonl", "--speed", "nan"], "--speed"),
        (["replay", "{tmp}/t.jsonl", "--idle-limit", "0"], "--idle-limit"),
        (["replay", "{tmp}/empty.jsonl"], "empty"),
        (["replay", "{tmp}/notes.txt"], "not an sfpatch transcript"),
        (["replay", "{tmp}"], "directory"),
        (["observe"], "TRANSCRIPT"),
        (["observe", "{tmp}/t.jsonl", "--profile", "x"], "not both"),
        (["observe", "{tmp}/t.jsonl", "--config", "{tmp}/c.toml"], "--config"),
        (["observe", "{tmp}/nope.jsonl"], "no such transcript"),
        (["observe", "{tmp}/t.jsonl", "--poll", "-1"], "--poll"),
        (["observe", "{tmp}/notes.txt"], "not an sfpatch transcript"),
        (["observe", "{tmp}"], "directory"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, argv, said):
    (tmp_path / "t.jsonl").write_text("")
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "notes.txt").write_text("hello\n")
    code = main([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and said in err, err
