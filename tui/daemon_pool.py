"""A thread pool whose threads never hold the process up at its end.

concurrent.futures joins every ThreadPoolExecutor thread at interpreter exit, and asyncio.run
waits for the loop's default executor: a call blocked on a slow gateway or a patch's Run
Command would keep a console that was told to end alive for minutes. DaemonPool's threads are
daemon threads nobody joins unless asked (`shutdown(wait=True)`, or leaving a `with` block).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class DaemonPool(ThreadPoolExecutor):
    """Up to `workers` daemon threads running submitted calls in order.

    A ThreadPoolExecutor only so that asyncio takes it as a loop's default executor; none of
    that class's machinery is used."""

    def __init__(self, workers: int, name: str) -> None:  # no super().__init__(): see above
        self._workers = max(1, workers)
        self._name = name
        self._calls: queue.SimpleQueue[tuple[Future, Callable, tuple, dict] | None] = (
            queue.SimpleQueue()
        )
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._calls.put((future, fn, args, kwargs))
            if not self._idle.acquire(blocking=False) and len(self._threads) < self._workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}_{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        return future

    def _work(self) -> None:
        while True:
            call = self._calls.get()
            if call is None:
                self._calls.put(None)  # wake the next thread to stop too
                return
            future, fn, args, kwargs = call
            del call
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:  # handed to whoever waits on the future
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del future, fn, args, kwargs
            self._idle.release()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more calls; with `wait`, block until the running ones end."""
        with self._lock:
            self._closed = True
            if cancel_futures:
                while True:
                    try:
                        call = self._calls.get_nowait()
                    except queue.Empty:
                        break
                    if call is not None:
                        call[0].cancel()
            self._calls.put(None)
            threads = list(self._threads)
        if wait:
            for thread in threads:
                thread.join()
