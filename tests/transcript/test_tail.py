"""The tailer follows a growing transcript and raises an alarm on truncation or replacement."""

from __future__ import annotations

import os
from pathlib import Path

from tui.transcript.tail import Tailer
from tui.transcript.writer import TranscriptWriter

from .conftest import header


def test_follows_complete_records_only(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    tailer = Tailer(writer.path)
    assert [r["kind"] for r in tailer.poll()] == ["start"]
    assert tailer.poll() == []
    writer.note("one")
    line = writer.path.read_bytes().splitlines(keepends=True)[-1]
    writer.note("two")
    assert [r["data"]["text"] for r in tailer.poll()] == ["one", "two"]
    with open(writer.path, "ab") as handle:  # half a record, as a reader may catch it
        handle.write(line[:20])
    assert tailer.poll() == [] and tailer.alarm is None
    with open(writer.path, "ab") as handle:
        handle.write(line[20:])
    assert tailer.poll() == [] and "chain is broken" in (tailer.alarm or "")  # a replayed line
    writer.close()


def test_sees_the_end_of_a_session(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    tailer = Tailer(writer.path)
    writer.close()
    assert [r["kind"] for r in tailer.poll()] == ["start", "end", "checkpoint"]
    assert tailer.sealed and tailer.records == 3 and tailer.alarm is None


def test_truncation_is_reported(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    writer.note("one")
    tailer = Tailer(writer.path)
    assert len(tailer.poll()) == 2
    os.truncate(writer.path, 10)
    assert tailer.poll() == [] and "truncated" in (tailer.alarm or "")
    assert tailer.poll() == []
    writer.close()


def test_replacement_is_reported(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    tailer = Tailer(writer.path)
    tailer.poll()
    copy = writer.path.with_suffix(".new")
    copy.write_bytes(writer.path.read_bytes() + b"extra")
    os.replace(copy, writer.path)
    assert tailer.poll() == [] and "replaced" in (tailer.alarm or "")
    writer.close()


def test_rewrite_in_place_is_reported(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    writer.note("original")
    tailer = Tailer(writer.path)
    tailer.poll()
    data = writer.path.read_bytes().replace(b"original", b"rewrite!")
    with open(writer.path, "r+b") as handle:
        handle.write(data)
    assert tailer.poll() == [] and "rewritten" in (tailer.alarm or "")
    writer.close()


def test_removal_is_reported(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    tailer = Tailer(writer.path)
    writer.close()
    writer.path.unlink()
    assert tailer.poll() == [] and "removed" in (tailer.alarm or "")
