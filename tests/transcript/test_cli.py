"""`sfpatch verify` and `sfpatch report`: exit codes, printed fields, one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tui.cli import main
from tui.transcript.keys import HmacKey
from tui.transcript.writer import TranscriptWriter

from .conftest import header, write_session


@pytest.fixture(autouse=True)
def no_env_key(monkeypatch) -> None:
    monkeypatch.delenv("SFPATCH_TRANSCRIPT_KEY", raising=False)


@pytest.fixture
def key_file(tmp_path: Path, hmac_key: HmacKey) -> Path:
    path = tmp_path / "transcript.key"
    path.write_bytes(hmac_key.secret + b"\n")
    return path


def test_verify_intact_prints_count_span_operator(closed_transcript, key_file, capsys) -> None:
    assert main(["verify", str(closed_transcript), "--key", str(key_file)]) == 0
    out = capsys.readouterr().out
    assert "INTACT" in out and "alice@jumpbox-1" in out and "CHG-1" in out
    assert "sealed by a signed final checkpoint" in out
    lines = closed_transcript.read_bytes().count(b"\n")
    assert f"records:      {lines}\n" in out
    assert "span:         20" in out and "Z .. 20" in out


def test_verify_tampered_names_the_first_bad_record(closed_transcript, capsys) -> None:
    data = closed_transcript.read_bytes()
    closed_transcript.write_bytes(data.replace(b"_BackEnd_0", b"_BackEnd_9", 1))
    assert main(["verify", str(closed_transcript)]) == 1
    assert "BROKEN: record" in capsys.readouterr().out


def test_verify_torn_exits_3(tmp_path: Path, capsys) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    writer.note("x")
    with open(writer.path, "ab") as handle:
        handle.write(b'{"data":')
    assert main(["verify", str(writer.path)]) == 3
    assert "TORN: intact up to record 1" in capsys.readouterr().out
    writer.close()


def test_verify_env_key_and_cut_tail(closed_transcript, hmac_key, monkeypatch, capsys) -> None:
    lines = closed_transcript.read_bytes().splitlines(keepends=True)
    closed_transcript.write_bytes(b"".join(lines[:-2]))
    assert main(["verify", str(closed_transcript)]) == 0
    monkeypatch.setenv("SFPATCH_TRANSCRIPT_KEY", hmac_key.secret.decode())
    assert main(["verify", str(closed_transcript)]) == 1
    assert "not sealed" in capsys.readouterr().out
    assert main(["verify", "--no-key", str(closed_transcript)]) == 0


def test_verify_json(closed_transcript, capsys) -> None:
    import json

    assert main(["verify", "--json", str(closed_transcript)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "intact" and data["exit_code"] == 0 and data["records"] > 10


@pytest.mark.parametrize(
    "argv",
    [
        ["verify", "/no/such/file.jsonl"],
        ["verify", "{tmp}"],
        ["verify", "{file}", "--key", "/no/such/key"],
        ["verify", "{file}", "--key", "{short}"],
        ["report", "/no/such/file.jsonl"],
        ["report", "{file}", "-o", "/no/such/dir/out.md"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, closed_transcript, tmp_path, capsys) -> None:
    short = tmp_path / "short.key"
    short.write_bytes(b"abc")
    args = [a.format(tmp=tmp_path, file=closed_transcript, short=short) for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("sfpatch: error: ") and err.count("\n") == 1, err


def test_report_markdown(closed_transcript, capsys) -> None:
    assert main(["report", str(closed_transcript), "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert out.index("INTACT") < out.index("## Per-node timeline")
    for text in (
        "alice on jumpbox-1",
        "CHG-1",
        "### _FrontEnd_0",
        "### _BackEnd_0",
        "patch (intent=Restart) | error",
        "gate cluster-healthy FAILED",
        "ltsc2019",
        "disable _FrontEnd_1",
        "one failure on _BackEnd_0",
    ):
        assert text in out, text


def test_report_html_is_self_contained(closed_transcript, tmp_path, capsys) -> None:
    out = tmp_path / "report.html"
    assert main(["report", str(closed_transcript), "--format", "html", "-o", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    for external in ("<script", "<link", "src=", "href=", "@import", "url("):
        assert external not in page, external
    assert 'class="verdict intact"' in page and "_BackEnd_0" in page


def test_report_of_a_crashed_session_shows_pending_actions(tmp_path, capsys) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    write_session(writer, ("_FrontEnd_0",))
    writer.intent(writer.new_op(), "disable", node="<b>_FrontEnd_1</b>")
    os.close(writer._fd)  # crash before the result
    with open(writer.path, "ab") as handle:
        handle.write(b'{"data":{"outc')
    assert main(["report", str(writer.path), "--format", "html"]) == 3  # torn, as verify says
    page = capsys.readouterr().out
    assert "TORN" in page and "Actions without a recorded result" in page
    assert "<b>_FrontEnd_1</b>" not in page and "&lt;b&gt;_FrontEnd_1&lt;/b&gt;" in page
    assert "not closed" in page


@pytest.mark.parametrize(
    "content",
    [
        b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n",
        b'{"hello": "world"}\n',
        b"\x89PNG\r\n\x1a\n\0\0",
        b"no newline at all",
    ],
)
@pytest.mark.parametrize("command", ["verify", "report"])
def test_a_file_that_is_no_transcript_exits_2(tmp_path, capsys, command, content) -> None:
    path = tmp_path / "passwd"
    path.write_bytes(content)
    assert main([command, str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"sfpatch: error: {path}: not an sfpatch transcript (its first line is not a "
        "transcript start record)\n"
    )


def test_a_torn_header_is_torn_not_foreign(tmp_path, capsys) -> None:
    path = tmp_path / "crashed.jsonl"
    path.write_bytes(b'{"data":{"clu')
    assert main(["verify", str(path)]) == 3


def test_report_of_a_tampered_transcript_is_written_and_exits_1(
    closed_transcript, tmp_path, capsys
) -> None:
    data = closed_transcript.read_bytes()
    closed_transcript.write_bytes(data.replace(b"_BackEnd_0", b"_BackEnd_9", 1))
    assert main(["report", str(closed_transcript)]) == 1
    out = capsys.readouterr().out
    assert "BROKEN" in out.split("## Per-node timeline")[0]
    html = tmp_path / "report.html"
    assert main(["report", str(closed_transcript), "--format", "html", "-o", str(html)]) == 1
    assert 'class="verdict broken"' in html.read_text(encoding="utf-8")


def test_verify_says_whether_the_session_ended(tmp_path, capsys) -> None:
    closed = TranscriptWriter.create(header(), tmp_path / "closed")
    write_session(closed, ("_FrontEnd_0",))
    closed.close("quit")
    assert main(["verify", str(closed.path)]) == 0
    assert "closed:       yes, reason: quit\n" in capsys.readouterr().out

    crashed = TranscriptWriter.create(header(), tmp_path / "crashed")
    write_session(crashed, ("_FrontEnd_0",))
    os.close(crashed._fd)  # killed: every record is whole, but there is no end record
    assert main(["verify", str(crashed.path)]) == 0  # the chain is intact
    out = capsys.readouterr().out
    assert "result:       INTACT\n" in out
    assert "closed:       no - the session did not end (crashed, killed, or still running)\n" in out
    assert main(["report", str(crashed.path)]) == 0
    assert "**closed**: no - the session did not end" in capsys.readouterr().out


def test_verify_an_empty_file_is_empty_and_exit_2(tmp_path, capsys) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert main(["verify", str(empty)]) == 2
    out = capsys.readouterr().out
    assert "result:       EMPTY: no records\n" in out and "record -1" not in out
    assert main(["report", str(empty)]) == 2
