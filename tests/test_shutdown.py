"""The signal watch and the daemon pool, in this process (no console)."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import threading

import pytest

from tui import shutdown
from tui.daemon_pool import DaemonPool
from tui.shutdown import SignalWatch, finish

GUARD = 10.0  # seconds; a hang guard only


class Watched:
    """What a SignalWatch calls, kept; `end` does nothing, as an app whose thread is stuck."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.exited = threading.Event()

    def watch(self, grace: float = 0.0) -> SignalWatch:
        return SignalWatch(
            end=lambda reason: self.calls.append(("end", reason)),
            seal=lambda reason: self.calls.append(("seal", reason)),
            grace=grace,
            exit=self._exit,
        )

    def _exit(self, code: int) -> None:
        self.calls.append(("exit", code))
        self.exited.set()


@pytest.mark.parametrize(
    ("signum", "reason"),
    [(signal.SIGTERM, "SIGTERM"), (signal.SIGHUP, "SIGHUP (the terminal went away)")],
)
def test_a_signal_ends_the_app_then_seals_and_exits_if_it_is_still_there(signum, reason):
    watched = Watched()
    with watched.watch():
        os.kill(os.getpid(), signum)
        assert watched.exited.wait(GUARD)
    assert watched.calls == [("end", reason), ("seal", reason), ("exit", 0)]


def test_without_a_signal_nothing_is_called_and_the_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)
    watched = Watched()
    with watched.watch() as watch:
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, before[0])
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)) == before
    assert signal.set_wakeup_fd(-1) == -1  # ours was taken back
    assert watch.reason is None and watched.calls == []


def test_the_pool_runs_calls_on_daemon_threads_and_hands_back_results_and_errors():
    with DaemonPool(2, "test-pool") as pool:
        threads = [pool.submit(lambda: threading.current_thread()) for _ in range(6)]
        failed = pool.submit(lambda: 1 / 0)
        found = {f.result(GUARD) for f in threads}
        with pytest.raises(ZeroDivisionError):
            failed.result(GUARD)
    assert len(found) <= 2 and all(t.daemon for t in found)
    with pytest.raises(RuntimeError):
        pool.submit(print)


def test_a_pool_shut_down_without_waiting_leaves_a_blocked_call_and_drops_queued_ones():
    release = threading.Event()
    pool = DaemonPool(1, "test-pool")
    blocked = pool.submit(release.wait, GUARD)
    queued = pool.submit(lambda: "never")
    pool.shutdown(wait=False, cancel_futures=True)  # returns at once
    assert queued.cancelled() and not blocked.done()
    release.set()
    assert blocked.result(GUARD) is True


def test_asyncio_takes_the_pool_as_its_default_executor():
    loop = asyncio.new_event_loop()
    try:
        loop.set_default_executor(DaemonPool(1, "test-pool"))
        name = loop.run_until_complete(
            loop.run_in_executor(None, lambda: threading.current_thread().name)
        )
    finally:
        loop.close()
    assert name == "test-pool_0"


def test_the_end_of_the_process_leaves_the_collector_nothing_to_scan(monkeypatch):
    """What is alive at the end is frozen, so the interpreter's teardown does not scan it."""
    monkeypatch.setattr(shutdown, "_without_teardown", False)  # a console test may have set it
    alive = [[]]
    alive[0].append(alive)  # a cycle, as the objects of a snapshot hold
    try:
        with pytest.raises(SystemExit) as ended:
            finish(3)
        assert ended.value.code == 3
        assert gc.get_freeze_count() > 0
        assert not any(o is alive for o in gc.get_objects())  # what a collection would scan
    finally:
        gc.unfreeze()
