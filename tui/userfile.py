"""Files the user names (options, profile keys): opened without blocking, regular files only,
read with a bound.

A FIFO given as --key would block the open; /dev/zero would be read until memory runs out; a
directory or a device is never what was meant. Each is refused with one line naming the file
and the rule before a byte is read, and no read takes more than the kind's cap plus one byte.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tui.errors import SfpatchError, UsageError

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class FileKind:
    """What a file is for: its name in messages and how many bytes it may hold (None: the
    caller reads it in bounded pieces, as the transcript reader reads bounded lines)."""

    label: str
    cap: int | None


KEY = FileKind("key file", 64 * KIB)
PROFILES = FileKind("profiles file", 4 * MIB)
SCENARIO = FileKind("scenario file", 4 * MIB)
PEM = FileKind("certificate or key file", 1 * MIB)  # a CA bundle is a few hundred KB
TRANSCRIPT = FileKind("transcript", None)

_NOT_REGULAR = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def open_user_file(
    path: Path, kind: FileKind, error: type[SfpatchError] = UsageError, buffering: int = -1
) -> BinaryIO:
    """Open a regular file for reading (binary, the caller closes it); anything else, or a
    file larger than the kind's cap, raises `error` with one line naming the file."""
    # O_NONBLOCK makes the open of a FIFO return at once instead of waiting for a writer;
    # fstat of what was opened (not a stat before) is what decides, so nothing can be swapped in.
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL byte
        raise error(f"{path}: cannot open the {kind.label}: {_why(exc)}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            what = next((n for test, n in _NOT_REGULAR if test(info.st_mode)), "a special file")
            raise error(f"{path} is {what}, not a regular file: give the {kind.label} itself")
        if kind.cap is not None and info.st_size > kind.cap:
            raise error(too_large(path, kind))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=buffering)
    except BaseException:
        os.close(fd)
        raise


def read_user_file(path: Path, kind: FileKind, error: type[SfpatchError] = UsageError) -> bytes:
    """The whole content of a regular file of at most the kind's cap (which it must have)."""
    assert kind.cap is not None, f"{kind.label} is read in pieces, not whole"
    with open_user_file(path, kind, error) as handle:
        try:
            data = handle.read(kind.cap + 1)  # a file that grew since fstat is caught here
        except OSError as exc:
            raise error(f"{path}: cannot read the {kind.label}: {_why(exc)}") from None
    if len(data) > kind.cap:
        raise error(too_large(path, kind))
    return data


def read_user_text(path: Path, kind: FileKind, error: type[SfpatchError] = UsageError) -> str:
    """read_user_file decoded as UTF-8; other bytes raise `error` with the offset of the first."""
    data = read_user_file(path, kind, error)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start]
        raise error(f"{path}: not UTF-8 text (byte {exc.start} is {bad:#04x})") from None


def too_large(path: Path, kind: FileKind) -> str:
    """The one-line message for a file over its kind's cap."""
    return f"{path}: larger than {_size(kind.cap or 0)}, the limit for a {kind.label}"


def open_output(path: Path, error: type[SfpatchError] = UsageError) -> BinaryIO:
    """Open (create or truncate) a file to write to; a FIFO nobody reads is refused, not waited
    on, and a directory is refused with one line."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise error(f"cannot write {path}: it is a FIFO and nothing reads it") from None
        raise error(f"cannot write {path}: {_why(exc)}") from None
    except ValueError as exc:
        raise error(f"cannot write {path}: {exc}") from None
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.ftruncate(fd, 0)  # only now: a refused or special file is never emptied
        os.set_blocking(fd, True)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def _why(exc: BaseException) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc)


def _size(n: int) -> str:
    for unit, name in ((MIB, "MiB"), (KIB, "KiB")):
        if n >= unit and n % unit == 0:
            return f"{n // unit} {name}"
    return f"{n} bytes"
