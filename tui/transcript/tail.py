"""Follow a growing transcript by offset, for `observe`: complete records only, chain-checked.

The writer never truncates or replaces a live transcript, so a file that shrinks, changes inode,
disappears or stops chaining raises an alarm and the tailer stops; the observer must say so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tui.transcript import schema
from tui.transcript.chain import ChainError, ChainVerifier
from tui.transcript.errors import TranscriptUnreadable
from tui.transcript.keys import VerifyKey
from tui.userfile import TRANSCRIPT, open_user_file

MAX_POLL_BYTES = 4 * 1024 * 1024  # per poll, so a huge backlog is read in bounded pieces


class Tailer:
    """Call poll() on a timer; it returns the records completed since the last poll."""

    def __init__(self, path: Path, key: VerifyKey | None = None) -> None:
        self.path = Path(path)
        with open_user_file(self.path, TRANSCRIPT, TranscriptUnreadable) as handle:
            st = os.fstat(handle.fileno())
        self._identity = (st.st_dev, st.st_ino)
        self._chain = ChainVerifier(key)
        self.offset = 0  # end of the last complete line consumed
        self._partial = b""
        self._last_line = b""
        self.alarm: str | None = None

    @property
    def records(self) -> int:
        """How many records have been delivered so far."""
        return self._chain.count

    @property
    def sealed(self) -> bool:
        """The last record seen is the final checkpoint of a closed session."""
        return self._chain.sealed

    def poll(self) -> list[dict[str, Any]]:
        """New complete records; [] once `alarm` is set (truncation, replacement, bad chain)."""
        if self.alarm is not None:
            return []
        try:
            with open_user_file(self.path, TRANSCRIPT, TranscriptUnreadable) as handle:
                st = os.fstat(handle.fileno())
                if (st.st_dev, st.st_ino) != self._identity:
                    return self._raise_alarm("the file was replaced (its inode changed)")
                if st.st_size < self.offset + len(self._partial):
                    return self._raise_alarm(
                        f"the file was truncated from {self.offset + len(self._partial)} "
                        f"to {st.st_size} bytes"
                    )
                if self._last_line and not self._unchanged(handle):
                    return self._raise_alarm("the last record read was rewritten")
                handle.seek(self.offset + len(self._partial))
                chunk = handle.read(MAX_POLL_BYTES)
        except TranscriptUnreadable as exc:  # removed, or replaced by a FIFO or a directory
            if not os.path.lexists(self.path):
                return self._raise_alarm("the file was removed")
            return self._raise_alarm(f"the file cannot be read ({exc})")
        except OSError as exc:
            return self._raise_alarm(f"the file cannot be read ({exc.strerror or exc})")
        return self._consume(self._partial + chunk)

    def _unchanged(self, handle: Any) -> bool:
        handle.seek(self.offset - len(self._last_line))
        return handle.read(len(self._last_line)) == self._last_line

    def _consume(self, data: bytes) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        start = 0
        while (end := data.find(b"\n", start)) != -1:
            line = data[start : end + 1]
            try:
                out.append(self._chain.feed(self.offset, line))
            except ChainError as exc:
                self._raise_alarm(f"the chain is broken at {exc}")
                return out
            self.offset += len(line)
            self._last_line = line
            start = end + 1
        self._partial = data[start:]
        if len(self._partial) > schema.MAX_LINE:
            self._raise_alarm(f"a record at byte {self.offset} is longer than {schema.MAX_LINE}")
        return out

    def _raise_alarm(self, why: str) -> list[dict[str, Any]]:
        self.alarm = f"{self.path}: {why}; stopped following"
        return []
