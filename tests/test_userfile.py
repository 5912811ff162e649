"""The one way user-named files are opened: regular files only, a cap per kind, bounded reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tui.errors import UsageError
from tui.userfile import (
    FileKind,
    open_output,
    open_user_file,
    read_user_file,
    read_user_text,
)

TINY = FileKind("tiny file", 8)


def test_a_regular_file_up_to_its_cap_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"12345678")
    assert read_user_file(path, TINY) == b"12345678"


def test_one_byte_over_the_cap_is_refused_with_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"123456789")
    with pytest.raises(UsageError) as caught:
        read_user_file(path, TINY)
    assert str(caught.value) == f"{path}: larger than 8 bytes, the limit for a tiny file"


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda d: (os.mkfifo(d / "p"), d / "p")[1], "is a FIFO (named pipe), not a regular file"),
        (lambda d: d, "is a directory, not a regular file"),
        (lambda d: Path("/dev/zero"), "is a character device, not a regular file"),
        (lambda d: d / "absent", ": no such file"),
    ],
)
def test_what_is_not_a_regular_file_is_refused_before_a_byte_is_read(
    tmp_path: Path, make, says: str
) -> None:
    path = make(tmp_path)
    with pytest.raises(UsageError) as caught:
        open_user_file(path, TINY)
    assert str(caught.value).startswith(str(path)) and says in str(caught.value)


def test_the_caller_names_the_error_class(tmp_path: Path) -> None:
    class Mine(UsageError):
        pass

    with pytest.raises(Mine):
        read_user_file(tmp_path / "absent", TINY, Mine)


def test_text_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"ab\xffc")
    with pytest.raises(UsageError, match=r"not UTF-8 text \(byte 2 is 0xff\)"):
        read_user_text(path, TINY)


def test_an_output_fifo_nobody_reads_is_refused_not_waited_on(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "p")
    with pytest.raises(UsageError, match="it is a FIFO and nothing reads it"):
        open_output(tmp_path / "p")


def test_an_output_file_is_emptied_only_once_it_is_known_to_be_one(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_bytes(b"old content")
    with open_output(path) as out:
        out.write(b"new")
    assert path.read_bytes() == b"new"
