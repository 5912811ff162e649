"""Which ended long-running operations their clients have not yet read as ended.

A client's poller (azure-core's LROPoller) reads an operation's status in real time, every few
tenths of a second. A run that moves a frozen clock itself moves it a minute per step, many
steps a second, so it could pass its own timeouts before the poller read an end that came long
before. Before a frozen clock moves on, the simulator waits for those reads (LroReads.wait).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# A client that has not read an operation for this many real seconds is taken to be gone (a
# killed session's poller); its reads are not waited for. Pollers read every 0.2 s or so.
LIVE_READER_SECONDS = 2.0


@dataclass
class _Reads:
    last: float  # time.monotonic() of the latest read
    ended: bool = False  # the operation has ended
    end_read: bool = False  # a read answered its end (the final state the poller asks for)


class LroReads:
    """Reads of each operation by its client, kept so a frozen clock can wait for them."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._reads: dict[str, _Reads] = {}
        self._changed = threading.Condition()

    def read(self, op_id: str, ended: bool, last: bool) -> None:
        """A client read the operation, `ended` or not; `last`: the answer was the last read of
        its end the client makes (a failure's status, or a success's result)."""
        with self._changed:
            reads = self._reads.setdefault(op_id, _Reads(self._monotonic()))
            reads.last = self._monotonic()
            reads.ended = reads.ended or ended
            reads.end_read = reads.end_read or last
            self._changed.notify_all()

    def ended(self, op_id: str) -> None:
        """The operation ended (at its due time on the simulated clock)."""
        with self._changed:
            reads = self._reads.get(op_id)
            if reads is not None:  # never read: no poller waits on it
                reads.ended = True

    def unread_ends(self) -> list[str]:
        """Operations that ended and whose live client has not read the end yet."""
        now = self._monotonic()
        return [
            op_id
            for op_id, r in self._reads.items()
            if r.ended and not r.end_read and now - r.last < LIVE_READER_SECONDS
        ]

    def wait(self, timeout: float = LIVE_READER_SECONDS) -> bool:
        """Wait until every live client has read the ends it polls for; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not self.unread_ends(), timeout)
