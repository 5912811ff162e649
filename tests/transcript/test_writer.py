"""The writer: layout, header, checkpoints, locking, write failures, resume after a crash."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui.errors import TranscriptError
from tui.transcript import schema
from tui.transcript.errors import TranscriptBroken, TranscriptLocked, TranscriptTampered
from tui.transcript.keys import HmacKey
from tui.transcript.reader import verify_file
from tui.transcript.writer import TranscriptWriter, default_transcript_dir

from .conftest import header, write_session


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_layout_and_header(tmp_path: Path, hmac_key: HmacKey) -> None:
    writer = TranscriptWriter.create(header(cluster="contoso/prod"), tmp_path, key=hmac_key)
    writer.close()
    assert writer.path == (
        tmp_path / "contoso_prod" / "20250114T093000Z-0123456789abcdef0123456789abcdef.jsonl"
    )
    start = records(writer.path)[0]
    assert start["kind"] == "start" and start["seq"] == 0 and start["prev"] == schema.GENESIS
    data = start["data"]
    assert data["format"] == schema.FORMAT and data["version"] == schema.VERSION
    for name in (
        "operator",
        "host",
        "tool_version",
        "session",
        "cluster",
        "endpoint",
        "server_cert_sha256",
        "ticket",
        "mode",
        "started",
    ):
        assert data[name], name
    assert data["key_kid"] == hmac_key.kid
    assert oct(writer.path.stat().st_mode & 0o777) == "0o600"


def test_default_dir_is_under_the_user_data_dir() -> None:
    assert default_transcript_dir().parts[-1] == "transcripts"
    assert "sfpatch" in default_transcript_dir().parts


def test_every_record_has_the_fields_and_ops_tie_intents_to_results(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path, checkpoint_every=4)
    rec = writer.append("intent", op="op1", node="_FrontEnd_0", data={"action": "disable"})
    assert rec["seq"] == 1 and rec["hash"] and rec["prev"] == records(writer.path)[0]["hash"]
    writer.append("result", op="op1", node="_FrontEnd_0", data={"outcome": "ok"})
    writer.close()
    recs = records(writer.path)
    assert [r["seq"] for r in recs] == list(range(len(recs)))
    assert all(set(schema.RECORD_FIELDS) | {"hash"} == set(r) for r in recs)
    assert [r["kind"] for r in recs[-2:]] == ["end", "checkpoint"] and recs[-1]["data"]["final"]
    assert writer.new_op() != writer.new_op()


def test_checkpoints_every_n_records(tmp_path: Path, hmac_key: HmacKey) -> None:
    writer = TranscriptWriter.create(header(), tmp_path, key=hmac_key, checkpoint_every=3)
    for i in range(7):
        writer.note(f"n{i}")
    kinds = [r["kind"] for r in records(writer.path)]
    assert (
        kinds
        == ["start", "note", "note", "checkpoint"] + ["note"] * 3 + ["checkpoint"] + ["note"] * 2
    )
    writer.close()


def test_warnings_shown_together_are_one_write_and_one_fsync(
    tmp_path: Path, hmac_key: HmacKey, monkeypatch
) -> None:
    writer = TranscriptWriter.create(header(), tmp_path, key=hmac_key, checkpoint_every=3)
    writer.note("before")
    syncs: list[int] = []
    monkeypatch.setattr(writer, "_os_fsync", lambda fd: syncs.append(fd) or os.fsync(fd))
    shown = [(f"warning {i}", "staleness.host-behind", "warning", f"_Node_{i}") for i in range(5)]
    recs = writer.warnings(shown)
    assert len(syncs) == 1
    assert [r["node"] for r in recs] == [f"_Node_{i}" for i in range(5)]
    writer.note("after")
    writer.close()
    kinds = [r["kind"] for r in records(writer.path)]
    # Checkpoints fall every 3 records inside the batch as they would between appends.
    assert kinds[:10] == ["start", "note", "warning", "checkpoint"] + ["warning"] * 3 + [
        "checkpoint",
        "warning",
        "note",
    ]
    assert [r["data"]["message"] for r in records(writer.path) if r["kind"] == "warning"] == [
        m for m, *_ in shown
    ]
    assert verify_file(writer.path, key=hmac_key).exit_code == 0


def test_a_failed_batch_poisons_the_writer_and_a_too_long_one_writes_nothing(
    tmp_path: Path, monkeypatch
) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    size = writer.path.stat().st_size
    with pytest.raises(ValueError, match="exceeds"):
        writer.warnings(
            [("fine", "r", "warning", None), ("x" * schema.MAX_LINE, "r", "error", None)]
        )
    assert writer.path.stat().st_size == size
    writer.note("still usable")

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(writer, "_os_fsync", failing_fsync)
    with pytest.raises(TranscriptError, match="Input/output error"):
        writer.warnings([("w", "r", "warning", None)])
    monkeypatch.undo()
    with pytest.raises(TranscriptError):
        writer.note("after the failure")
    writer.close()


def test_callers_cannot_append_writer_kinds_or_floats(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    for kind in ("start", "end", "checkpoint", "resume", "bogus"):
        with pytest.raises(ValueError):
            writer.append(kind)
    rec = writer.append("note", data={"elapsed": 1.5, "nan": float("nan")})
    assert rec["data"] == {"elapsed": "1.5", "nan": "nan"}
    writer.close()
    assert verify_file(writer.path).exit_code == 0


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    with pytest.raises(TranscriptLocked, match="already being written"):
        TranscriptWriter.resume(writer.path)
    code = (
        "import sys; from tui.transcript.writer import TranscriptWriter\n"
        "from tui.errors import SfpatchError\n"
        "try: TranscriptWriter.resume(sys.argv[1])\n"
        "except SfpatchError as e: print(type(e).__name__); sys.exit(7)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(writer.path)], capture_output=True, text=True
    )
    assert (proc.returncode, proc.stdout.strip()) == (7, "TranscriptLocked")
    writer.close()
    TranscriptWriter.resume(writer.path).close()  # free once the first writer is gone


def _fill_disk(writer: TranscriptWriter) -> int:
    """Point the writer's descriptor at /dev/full: every write now fails with ENOSPC."""
    saved = os.dup(writer._fd)
    full = os.open("/dev/full", os.O_WRONLY)
    os.dup2(full, writer._fd)
    os.close(full)
    return saved


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_enospc_stops_every_later_mutation(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    writer.note("before")
    size = writer.path.stat().st_size
    saved = _fill_disk(writer)
    calls: list[str] = []
    with pytest.raises(TranscriptError, match="No space left") as first:
        writer.perform("disable", lambda: calls.append("disabled"), node="_FrontEnd_0")
    assert calls == [] and writer.failure is first.value
    os.dup2(saved, writer._fd)  # the disk has room again, but the session stays stopped
    for attempt in (lambda: writer.note("after"), lambda: writer.perform("enable", calls.append)):
        with pytest.raises(TranscriptError, match="no further actions"):
            attempt()
    assert calls == [] and writer.path.stat().st_size == size
    writer.close()
    assert verify_file(writer.path).exit_code == 0


def test_fsync_failure_poisons_the_writer(tmp_path: Path, monkeypatch) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(writer, "_os_fsync", failing_fsync)
    with pytest.raises(TranscriptError, match="Input/output error"):
        writer.intent("op", "disable", node="_FrontEnd_0")
    monkeypatch.undo()
    with pytest.raises(TranscriptError):
        writer.result("op", True)
    writer.close()


def test_short_writes_are_completed(tmp_path: Path, monkeypatch) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    monkeypatch.setattr(writer, "_os_write", lambda fd, data: os.write(fd, bytes(data[:7])))
    writer.note("a note long enough to need many short writes")
    monkeypatch.undo()
    writer.close()
    assert verify_file(writer.path).exit_code == 0


def test_perform_records_intent_then_result_or_error(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    assert writer.perform("disable", lambda: 42, node="n0", intent="Restart") == 42
    with pytest.raises(RuntimeError):
        writer.perform("enable", lambda: (_ for _ in ()).throw(RuntimeError("gateway 503")))
    writer.close()
    recs = records(writer.path)[1:5]
    assert [r["kind"] for r in recs] == ["intent", "result", "intent", "result"]
    assert recs[0]["op"] == recs[1]["op"] != recs[2]["op"] == recs[3]["op"]
    assert recs[1]["data"]["outcome"] == "ok"
    assert recs[3]["data"] == {"outcome": "error", "message": "RuntimeError: gateway 503"}


@pytest.mark.parametrize("tail", [b'{"data":{"act', b"garbage\n", b"\0\0\0", b'{"data":{}\n'])
def test_resume_sets_a_torn_tail_aside_and_continues_the_chain(
    tmp_path: Path, hmac_key: HmacKey, tail: bytes
) -> None:
    writer = TranscriptWriter.create(header(), tmp_path, key=hmac_key, checkpoint_every=4)
    write_session(writer, ("_FrontEnd_0",))
    os.close(writer._fd)  # a crash: no end record, lock gone with the descriptor
    good = writer.path.read_bytes()
    with open(writer.path, "ab") as handle:
        handle.write(tail)
    assert verify_file(writer.path).exit_code == (3 if not tail.endswith(b"\n") else 1)

    resumed = TranscriptWriter.resume(writer.path, key=hmac_key)
    assert writer.path.with_name(writer.path.name + ".torn").read_bytes() == tail
    resumed.note("continuing after the crash")
    resumed.close()
    data = writer.path.read_bytes()
    assert data.startswith(good)
    resume = json.loads(data[len(good) :].splitlines()[0])
    assert (
        resume["kind"] == "resume" and resume["prev"] == json.loads(good.splitlines()[-1])["hash"]
    )
    assert resume["data"]["torn"]["bytes"] == len(tail)
    result = verify_file(writer.path, hmac_key)
    assert (result.exit_code, result.resumes) == (0, 1)


def _forge_next(path: Path, **changes: object) -> bytes:
    """A well-formed record after the last one, with its own correct hash, changed as asked."""
    last = json.loads(path.read_bytes().splitlines()[-1])
    fields = {
        "seq": last["seq"] + 1,
        "ts": last["ts"],
        "mono_ms": last["mono_ms"],
        "kind": "result",
        "op": "0123456789abcdef",
        "node": "_FrontEnd_0",
        "data": {"outcome": "ok", "message": ""},
        "prev": last["hash"],
    }
    fields.update(changes)
    return schema.encode_record(fields)[0]


def _edit_last(data: bytes) -> bytes:
    """The last record with one word changed: still JSON, newline-terminated, hash now wrong."""
    head, last = data.rstrip(b"\n").rsplit(b"\n", 1)
    assert b"one failure" in last
    return head + b"\n" + last.replace(b"one failure", b"no failure") + b"\n"


TAMPERINGS = {
    "content edited": lambda path, data: _edit_last(data),
    "JSON appended without a hash": lambda path, data: data + b'{"data":{},"kind":"note"}\n',
    "forged prev": lambda path, data: data + _forge_next(path, prev="f" * 64),
    "forged seq": lambda path, data: data + _forge_next(path, seq=1),
}


@pytest.mark.parametrize("how", TAMPERINGS)
def test_resume_refuses_a_complete_last_record_that_fails_the_chain(
    tmp_path: Path, hmac_key: HmacKey, how: str
) -> None:
    writer = TranscriptWriter.create(header(), tmp_path, key=hmac_key, checkpoint_every=4)
    write_session(writer, ("_FrontEnd_0",))
    os.close(writer._fd)  # a crash, then someone edits the file
    good = writer.path.read_bytes()
    tampered = TAMPERINGS[how](writer.path, good)
    writer.path.write_bytes(tampered)
    bad = len(tampered.splitlines()) - 1
    before = verify_file(writer.path)
    assert (before.exit_code, before.bad_seq) == (1, bad)

    with pytest.raises(TranscriptTampered, match=f"record {bad} is complete") as refused:
        TranscriptWriter.resume(writer.path, key=hmac_key)
    assert "tampering, not a crash" in str(refused.value) and refused.value.exit_code == 1
    assert writer.path.read_bytes() == tampered  # nothing set aside, nothing appended
    assert not list(tmp_path.rglob("*.torn*"))
    after = verify_file(writer.path, hmac_key)
    assert (after.status, after.bad_seq) == ("broken", bad)


def test_resume_of_a_clean_file_moves_nothing(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    writer.close()
    TranscriptWriter.resume(writer.path).close()
    assert not list(tmp_path.rglob("*.torn*"))
    assert verify_file(writer.path).exit_code == 0


def test_resume_refuses_damage_before_the_end(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    write_session(writer)
    writer.close()
    lines = writer.path.read_bytes().splitlines(keepends=True)
    lines[3] = lines[3].replace(b"disable", b"disabl3")
    writer.path.write_bytes(b"".join(lines))
    with pytest.raises(TranscriptBroken, match="damaged before its end"):
        TranscriptWriter.resume(writer.path)
    assert writer.path.read_bytes() == b"".join(lines)


def test_resume_needs_the_same_key(tmp_path: Path, hmac_key: HmacKey) -> None:
    writer = TranscriptWriter.create(header(), tmp_path, key=hmac_key)
    writer.close()
    with pytest.raises(TranscriptError, match="same key"):
        TranscriptWriter.resume(writer.path, key=HmacKey(b"some-other-key-0123456"))
    with pytest.raises(TranscriptError, match="same key"):
        TranscriptWriter.resume(writer.path)
