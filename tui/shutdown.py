"""SIGTERM and SIGHUP end the console within a bound, with its transcript sealed, in any state.

The signals are watched from a thread of their own, through the wakeup fd, not by the event
loop: a loop's handlers run only while it runs, so during its shutdown, or with its thread
stuck writing to a terminal that went away, a signal would go unanswered. The first signal
asks the console to end; if the process is still there `grace` seconds later, the watch seals
the session itself and ends the process (os._exit: what is left is only threads blocked on
the network, and the transcript is already on disk).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

REASONS = {signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP (the terminal went away)"}
GRACE_SECONDS = 1.5  # from the signal to the forced end; the normal path takes a fraction
_STOP = b"\0"  # no signal has number 0


class SignalWatch:
    """While entered: SIGTERM/SIGHUP -> `end(reason)` now, `seal(reason)` and exit if need be."""

    def __init__(
        self,
        end: Callable[[str], None],
        seal: Callable[[str], None],
        grace: float = GRACE_SECONDS,
        exit: Callable[[int], None] = os._exit,
    ) -> None:
        self._end = end
        self._seal = seal
        self._grace = grace
        self._exit = exit
        self._previous: dict[int, object] = {}
        self._previous_fd = -1
        self._read = self._write = -1
        self.reason: str | None = None  # the first signal's, once one came

    def __enter__(self) -> SignalWatch:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        for signum in REASONS:  # a Python handler, so that the wakeup fd is written
            self._previous[signum] = signal.signal(signum, _ignore)
        self._previous_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, name="sfpatch-signals", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        signal.set_wakeup_fd(self._previous_fd)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        with contextlib.suppress(OSError):
            os.write(self._write, _STOP)  # after a signal, the deadline stays armed

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self._read, 64)
            except OSError:
                return
            for signum in data:
                if signum in REASONS and self.reason is None:
                    self.reason = REASONS[signum]
                    self._deadline(self.reason)
                    return
            if _STOP in data:
                os.close(self._read)
                return

    def _deadline(self, reason: str) -> None:
        with contextlib.suppress(Exception):
            self._end(reason)
        time.sleep(self._grace)  # the process is normally gone by then
        try:
            self._seal(reason)  # waits for a seal already under way; then it does nothing
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            self._exit(0)


_without_teardown = False


def end_without_teardown() -> None:
    """Ask that the process end right after main(), skipping the interpreter's teardown.

    For a console whose session is sealed: tearing down a large session's objects takes
    seconds, with abandoned workers (a gather, a patch's Run Command) still running."""
    global _without_teardown
    _without_teardown = True


def finish(code: int) -> None:
    """End the process with `code` (the console script's last step).

    The interpreter's teardown still runs (atexit, flushes), with the cyclic collector's
    scans left out: teardown collects several times over everything still alive, 0.3-0.5 s
    of `sfpatch check` at 1,000 nodes (measured), to free memory the process gives back
    whole. Every file of ours is closed by then; objects are still freed by their counts."""
    if not _without_teardown:
        gc.freeze()
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _ignore(signum: int, frame: object) -> None:
    """The watch thread acts; the main thread only must not die of the signal."""
