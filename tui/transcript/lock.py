"""One writer per transcript: an exclusive, non-blocking lock on the open file.

flock is advisory and tied to the open file description, so readers never contend with it and
a crashed writer's lock goes away with its process. Windows falls back to msvcrt.locking
(not exercised by the tests, which run on Linux).
"""

from __future__ import annotations

import errno
from pathlib import Path

from tui.transcript.errors import TranscriptLocked

_BUSY = {errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK}


def lock_exclusive(fd: int, path: Path) -> None:
    """Lock fd for this process alone, or raise TranscriptLocked naming the file."""
    try:
        import fcntl
    except ImportError:
        _lock_windows(fd, path)
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in _BUSY:
            raise _locked(path) from None
        raise


def unlock(fd: int) -> None:
    """Release the lock taken by lock_exclusive (closing fd also releases it)."""
    try:
        import fcntl
    except ImportError:
        return
    fcntl.flock(fd, fcntl.LOCK_UN)


def _lock_windows(fd: int, path: Path) -> None:
    import msvcrt  # type: ignore[import-not-found]
    import os

    position = os.lseek(fd, 0, os.SEEK_CUR)
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
    except OSError:
        raise _locked(path) from None
    finally:
        os.lseek(fd, position, os.SEEK_SET)


def _locked(path: Path) -> TranscriptLocked:
    return TranscriptLocked(
        f"{path} is already being written by another sfpatch session; "
        "close that session first (or observe it read-only)"
    )


def is_locked(path: Path) -> bool:
    """Whether a writer holds path's lock now (a live session); False if it cannot be told."""
    import os

    try:
        import fcntl
    except ImportError:
        return False
    try:
        # O_NONBLOCK: a FIFO where a transcript should be must not hang the probe.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        # Shared, so that two probes never make each other look busy.
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        return exc.errno in _BUSY
    finally:
        os.close(fd)
    return False
