"""The engine sweep's connections, all driven from one thread.

Each job is one engine's read. Its connection is opened without blocking, its TLS handshake
stepped as the socket allows, the requests it asks for written at once (pipelined: the
engine answers them in turn) and its answers framed as their bytes come. When every request
it sent has its answer, the job says what it asks next given the answers so far
(`Job.next`): more requests, nothing more (the connection is closed and the job finished),
or to wait (another job's answer is awaited, such as an image inspect asked once for the whole
cluster). At most `in_flight` connections are open at once.

Why one thread: measured at 1,000 engines against the same reads from eight threads each
blocking on its connection, it costs about a third less client CPU (cold 1.05 s against
1.50 s, warm 0.58 s against 0.90 s). The threads' extra cost was their hand-overs of the GIL
and the kernel's switching between them, not their Python; their number changed nothing.

A job ends with the answers it got, its connection's TLS session, and the error that ended it
early if one did: the blocking connection's (tui.cluster.sweep_tls) kinds, so that callers
describe both alike. A connect or handshake failure, a reset, a wait for the engine past the
connection's timeout (TimeoutError), an engine closing with requests unanswered
(http.client.RemoteDisconnected), an answer that is not HTTP (http.client.HTTPException), and
in a read-only session a request that is not an allowed read (ReadOnlyError, raised before
anything is sent). An engine that says it closes after an answer (Connection: close) ends the
job without an error: what it left unanswered is for the job's caller to ask elsewhere.
"""

from __future__ import annotations

import collections
import errno
import http.client
import io
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from OpenSSL import SSL

from tui.cluster.engine_http import EngineResponse, answer_end, read_response
from tui.cluster.sweep_tls import TLSConnection, failure, handshake_failure
from tui.errors import ReadOnlyError

RECEIVE_SIZE = 1 << 16
STOP_CHECK = 0.5  # seconds at most between two looks at `stop`


class Abandoned(Exception):
    """A connection ended by the loop's `stop`: the session is ending."""

    def __str__(self) -> str:
        return "the session is ending"


_CONNECTING = (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN)


@dataclass
class Answered:
    """What one job's connection got: the answers by request target, the TLS session to
    resume next time (None after an error), and the error that ended it early, if one did."""

    answers: dict[str, EngineResponse]
    session: SSL.Session | None
    error: BaseException | None = None


class Job(Protocol):
    """One engine's read, as the loop drives it."""

    @property
    def connection(self) -> TLSConnection:
        """Where to connect, how to trust the engine, the session to offer, the timeout."""
        ...

    def next(self, answers: Mapping[str, EngineResponse]) -> tuple[str, ...] | None:
        """The GET targets to send now, given every answer so far: () when the read needs
        nothing more, None to wait for another job's answers."""
        ...

    def finish(self, answered: Answered) -> None:
        """The job's end (called once, from the loop's thread)."""
        ...


class Counts(Protocol):
    def count(self, requests: int = 0, handshakes: int = 0, resumed: int = 0) -> None: ...


class _NoCounts:
    def count(self, requests: int = 0, handshakes: int = 0, resumed: int = 0) -> None:
        pass


class _Link:
    """One job's connection in the loop, and how far it got."""

    __slots__ = (
        "job",
        "conn",
        "sock",
        "tls",
        "open",
        "out",
        "received",
        "sent",
        "answers",
        "deadline",
        "waiting",
        "events",
    )

    def __init__(self, job: Job) -> None:
        self.job = job
        self.conn = job.connection
        self.sock: socket.socket | None = None
        self.tls: SSL.Connection | None = None
        self.open = False  # handshake done
        self.out = b""  # request bytes not yet written
        self.received = bytearray()  # answer bytes not yet framed
        self.sent: collections.deque[str] = collections.deque()  # targets not yet answered
        self.answers: dict[str, EngineResponse] = {}
        self.deadline = 0.0
        self.waiting = False
        self.events = 0


def run(
    jobs: Iterable[Job],
    in_flight: int,
    stats: Counts | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Drive `jobs` to their ends, `in_flight` connections at a time, in this thread. `stop`
    set: the connections open are ended with Abandoned and the jobs not started are left
    unfinished."""
    _Loop(max(1, in_flight), stats or _NoCounts(), stop, clock).run(iter(jobs))


class _Loop:
    def __init__(
        self,
        in_flight: int,
        stats: Counts,
        stop: threading.Event | None,
        clock: Callable[[], float],
    ) -> None:
        self.in_flight = in_flight
        self.stats = stats
        self.stop = stop
        self.clock = clock
        self.selector = selectors.DefaultSelector()
        self.links: set[_Link] = set()
        self.waiters: set[_Link] = set()
        self.settled = False  # a batch or a job ended since the waiters were last asked

    def run(self, jobs: Iterable[Job]) -> None:
        queue = iter(jobs)
        try:
            while True:
                if self.stop is not None and self.stop.is_set():
                    for link in list(self.links):
                        self._end(link, Abandoned())
                    return
                while len(self.links) < self.in_flight:
                    job = next(queue, None)
                    if job is None:
                        break
                    self._guarded(_Link(job), self._begin)
                if not self.links:
                    return
                wait = min(link.deadline for link in self.links) - self.clock()
                for key, mask in self.selector.select(min(max(0.0, wait), STOP_CHECK)):
                    link = key.data
                    if link in self.links:
                        self._guarded(link, lambda link, mask=mask: self._step(link, mask))
                now = self.clock()
                for link in [link for link in self.links if link.deadline <= now]:
                    if link.waiting:
                        self._end(link)  # its wait is over: what is missing is asked elsewhere
                    else:
                        self._end(link, TimeoutError(f"{self._doing(link)}: timed out"))
                self._ask_waiters()
        finally:
            for link in list(self.links):
                self._close(link)
            self.selector.close()

    # -------------------------------------------------------------- a connection's steps

    def _guarded(self, link: _Link, step: Callable[[_Link], None]) -> None:
        """`step(link)`; what it raises that the steps do not expect (a verify callback's
        error, a host name that is not one) ends that link alone, not the sweep."""
        try:
            step(link)
        except Exception as exc:
            if link not in self.links:
                raise  # raised by the job's own end: not the link's to take
            self._end(link, exc)

    def _begin(self, link: _Link) -> None:
        """Open the job's connection, its first requests ready (a request a read-only session
        refuses ends the job before it connects)."""
        self.links.add(link)
        address = link.conn.address
        self._touch(link)
        first = link.job.next(link.answers)
        if first == ():
            self._end(link)
            return
        if first:
            try:
                link.out = link.conn.request_bytes("GET", first)
            except ReadOnlyError as exc:
                self._end(link, exc)
                return
            self.stats.count(requests=len(first))
            link.sent.extend(first)
        try:
            if address.family:
                family, target = address.family, (address.host, address.port)
            else:
                family, _, _, _, target = socket.getaddrinfo(
                    address.host, address.port, type=socket.SOCK_STREAM
                )[0]
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:
            self._end(link, exc)
            return
        link.sock = sock
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = sock.connect_ex(target)
        if code not in _CONNECTING:
            self._end(link, OSError(code, os.strerror(code)))
            return
        self._watch(link, selectors.EVENT_WRITE)

    def _step(self, link: _Link, mask: int) -> None:
        if link.tls is None:
            assert link.sock is not None
            code = link.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                self._end(link, OSError(code, os.strerror(code)))
                return
            link.tls = link.conn.new_tls(link.sock)
            link.conn.attach(link.sock, link.tls)
        if not link.open:
            self._handshake(link)
            return
        if mask & selectors.EVENT_WRITE and link.out:
            self._flush(link)
        if mask & selectors.EVENT_READ and link in self.links:
            self._receive(link)
            if link in self.links and link.out:
                self._flush(link)  # a write that waited on a read (TLS 1.3 key update)

    def _handshake(self, link: _Link) -> None:
        assert link.tls is not None
        self._touch(link)
        try:
            link.tls.do_handshake()
        except SSL.WantReadError:
            self._watch(link, selectors.EVENT_READ)
            return
        except SSL.WantWriteError:
            self._watch(link, selectors.EVENT_WRITE)
            return
        except SSL.Error as exc:
            self._end(link, handshake_failure(link.conn, exc))
            return
        link.open = True
        link.conn.resumed = not link.conn.certificate_seen
        self.stats.count(handshakes=1, resumed=int(link.conn.resumed))
        if link.out:
            self._flush(link)
        else:
            self._advance(link)

    def _advance(self, link: _Link) -> None:
        """Every request sent is answered: send what the job asks next, or end or wait."""
        targets = link.job.next(link.answers)
        if targets is None and link.waiting:
            return  # still waiting: nothing settled
        self.settled = True
        if targets is None:
            if not link.waiting:
                link.waiting = True
                self.waiters.add(link)
                self._touch(link)
                self._watch(link, selectors.EVENT_READ)  # to see the engine close meanwhile
            return
        if link.waiting:
            link.waiting = False
            self.waiters.discard(link)
        if not targets:
            self._end(link)
            return
        try:
            data = link.conn.request_bytes("GET", targets)
        except ReadOnlyError as exc:
            self._end(link, exc)
            return
        self.stats.count(requests=len(targets))
        link.sent.extend(targets)
        link.out += data
        self._touch(link)
        self._flush(link)

    def _flush(self, link: _Link) -> None:
        assert link.tls is not None
        try:
            while link.out:
                written = link.tls.send(link.out)
                link.out = link.out[written:]
        except SSL.WantWriteError:
            self._watch(link, selectors.EVENT_READ | selectors.EVENT_WRITE)
            return
        except SSL.WantReadError:
            self._watch(link, selectors.EVENT_READ)
            return
        except SSL.Error as exc:
            self._end(link, failure(exc, "write"))
            return
        self._watch(link, selectors.EVENT_READ)

    def _receive(self, link: _Link) -> None:
        assert link.tls is not None
        ended = False
        got = False
        try:
            while True:
                chunk = link.tls.recv(RECEIVE_SIZE)
                if not chunk:
                    ended = True
                    break
                link.received += chunk
                got = True
        except (SSL.WantReadError, SSL.WantWriteError):
            pass
        except SSL.ZeroReturnError:
            ended = True
        except SSL.SysCallError as exc:
            if not (exc.args and exc.args[0] == -1):  # -1: closed without a close_notify
                self._end(link, failure(exc, "read"))
                return
            ended = True
        except SSL.Error as exc:
            self._end(link, failure(exc, "read"))
            return
        if got:
            self._touch(link)
        try:
            closing = self._frame(link, ended)
        except http.client.HTTPException as exc:
            self._end(link, exc)
            return
        if closing:
            self._end(link)  # the engine closes after an answer: the rest is asked elsewhere
        elif ended:
            if link.sent:
                self._end(
                    link,
                    http.client.RemoteDisconnected(
                        "the engine closed the connection without an answer"
                    ),
                )
            else:
                self._end(link)
        elif not link.sent and not link.out and not link.waiting:
            self._advance(link)

    def _frame(self, link: _Link, ended: bool) -> bool:
        """Move the answers complete in `received` to `answers`; True when one says the
        engine closes after it. At the connection's end, what is left is the last answer
        (a body that runs to the end has no other end)."""
        while link.sent and link.received:
            end = answer_end(link.received)
            if end is None:
                if not ended:
                    return False
                end = len(link.received)
            response = read_response(io.BytesIO(bytes(link.received[:end])))
            del link.received[:end]
            link.answers[link.sent.popleft()] = response
            if response.will_close:
                return True
        return False

    def _ask_waiters(self) -> None:
        if not self.waiters or not self.settled:
            return
        self.settled = False
        for link in list(self.waiters):
            if link in self.links and not link.sent:
                self._guarded(link, self._advance)

    # -------------------------------------------------------------- ends and bookkeeping

    def _end(self, link: _Link, error: BaseException | None = None) -> None:
        session = link.conn.tls_session() if error is None and link.open else None
        self._close(link)
        self.settled = True
        link.job.finish(Answered(link.answers, session, error))

    def _close(self, link: _Link) -> None:
        self.links.discard(link)
        self.waiters.discard(link)
        if link.events:
            assert link.sock is not None
            self.selector.unregister(link.sock)
            link.events = 0
        if link.tls is not None:
            link.conn.close()
        elif link.sock is not None:
            link.sock.close()

    def _watch(self, link: _Link, events: int) -> None:
        if link.events == events:
            return
        assert link.sock is not None
        if link.events:
            self.selector.modify(link.sock, events, link)
        else:
            self.selector.register(link.sock, events, link)
        link.events = events

    def _touch(self, link: _Link) -> None:
        link.deadline = self.clock() + link.conn.timeout

    @staticmethod
    def _doing(link: _Link) -> str:
        if link.tls is None:
            return "connect"
        if not link.open:
            return "handshake"
        return "write" if link.out else "read"
