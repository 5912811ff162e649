"""Each node's Docker engine: the Engine API on the node's own loopback address, mutual TLS.

All engines of one simulator share one port number on their distinct addresses, so a profile's
endpoint template `tcp://{address}:PORT` reaches every node; each address has its own
certificate, as each real node's dockerd does. A down engine (the VM rebooting, or the
`engine-down:NODE` fault) resets every connection before the TLS handshake: the docker SDK
raises requests.exceptions.ConnectionError and the docker CLI prints "error during connect".
That is how a host without a listening dockerd looks to a client (a refused or reset connect).
A connection kept alive from before is reset at its next request, unanswered: a client that
keeps one connection per engine sees the outage too, not the answers of a dead dockerd.

The engines are served by one thread of their own, a selector loop over non-blocking sockets
(see EngineServer), not by the asyncio loop of the other protocols: asyncio's TLS runs through
memory buffers in Python, and 1,000 engines would cost the simulator more CPU than they cost
the client that reads them.
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import functools
import heapq
import http.server
import itertools
import logging
import os
import selectors
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tui.sim import docker_wire as wire
from tui.sim import http1
from tui.sim.engine_tls import EngineTLS, ServerTLS
from tui.sim.server import ServeContext, free_port
from tui.sim.state import SimCluster, SimNode

log = logging.getLogger("tui.sim")

PROTOCOL = "docker"
PING_HEADERS = (*wire.HEADERS.items(), *wire.PING_HEADERS.items())
PORT_ATTEMPTS = 20
HANDSHAKE_TIMEOUT = 10.0
KEEPALIVE_TIMEOUT = 75.0  # seconds an idle kept-alive connection is held (as aiohttp's default)
SWEEP_EVERY = 1.0  # seconds between looks for connections idle past their deadline
RECEIVE_SIZE = 1 << 16
monotonic = time.monotonic  # the serving thread's clock for deadlines (a test may move it)


def engine_up(cluster: SimCluster, node: SimNode) -> bool:
    """Whether the node's engine answers: its VM is up and no engine-down fault is set."""
    with cluster.lock:
        cluster.advance()
        return _up(cluster, node)


def _up(cluster: SimCluster, node: SimNode) -> bool:
    """engine_up with the lock held and the clock already advanced."""
    return node.host_up and not cluster.faults.active("engine-down", node.name)


def _reset(sock: socket.socket) -> None:
    """Drop a connection with a TCP reset (SO_LINGER 0), as a host with no dockerd does."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# ------------------------------------------------------------------ HTTP


@dataclass(frozen=True)
class Reply:
    """One answer of an engine: status, body and headers (the daemon's on every answer)."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = tuple(wire.HEADERS.items())


def _json(body: Any, status: int = 200) -> Reply:
    return Reply(status, wire.encode(body))


def _error(message: str, status: int) -> Reply:
    return _json({"message": message}, status)


def _split_version(path: str) -> tuple[str | None, str]:
    """'/v1.41/info' -> ('1.41', '/info'); an unversioned path keeps version None."""
    if path.startswith("/v"):
        head, sep, rest = path[2:].partition("/")
        if sep and head and all(ch.isdigit() or ch == "." for ch in head):
            return head, "/" + rest
    return None, path


@functools.lru_cache(maxsize=1024)
def _route(target: str) -> tuple[str | None, str, tuple[tuple[str, str], ...]]:
    """A request target's API version, path and query: the same few targets come from every
    client, so each is parsed once."""
    url = urlsplit(target)
    version, path = _split_version(unquote(url.path))
    return version, path, tuple(parse_qsl(url.query))


def _answer(
    cluster: SimCluster, node: SimNode, method: str, path: str, query: dict[str, str]
) -> Reply:
    """Route one request (the lock is held); returns the answer."""
    images = cluster.scenario.images
    now = cluster.clock.now()
    if path == "/_ping" and method in ("GET", "HEAD"):
        return Reply(200, b"OK", "text/plain; charset=utf-8", PING_HEADERS)
    if method != "GET":
        return _error("page not found", 404)
    if path == "/version":
        return _json(wire.version_body(node))
    if path == "/info":
        return Reply(200, wire.info_json(node, now))
    if path == "/containers/json":
        try:
            return Reply(200, wire.list_containers_json(node, query, images, now))
        except ValueError as exc:
            return _error(str(exc), 400)
    if path == "/images/json":
        try:
            return Reply(200, wire.list_images_json(node, query, images))
        except ValueError as exc:
            return _error(str(exc), 400)
    if path.startswith("/containers/") and path.endswith("/json"):
        ident = path[len("/containers/") : -len("/json")]
        container = wire.find_container(node.containers, ident)
        if container is None or "/" in ident:
            return _error(f"No such container: {ident}", 404)
        return _json(wire.container_inspect(container, images))
    if path.startswith("/images/") and path.endswith("/json"):
        name = path[len("/images/") : -len("/json")]
        spec = wire.find_image((images[ref] for ref in node.images), name)
        if spec is None:
            return _error(f"No such image: {name}", 404)
        return _json(wire.image_inspect(spec))
    return _error("page not found", 404)


def dispatch(
    cluster: SimCluster, node: SimNode, method: str, target: str, log_request: Callable[..., None]
) -> Reply | None:
    """The answer to one request (logged), or None when the engine is down: the connection is
    then reset, unanswered and unlogged, as a new connection is at accept."""
    try:
        version, path, query = _route(target)
        problem = wire.api_version_error(version) if version else None
        with cluster.lock:
            cluster.advance()
            if not _up(cluster, node):
                return None
            if problem:
                reply = _error(problem, 400)
            else:
                reply = _answer(cluster, node, method, path, dict(query))
    except Exception as exc:
        first = (str(exc).splitlines() or [""])[0]
        message = f"internal error: {type(exc).__name__}: {first}".rstrip(": ")
        log.error("%s %s %s: %s", PROTOCOL, method, target, message, exc_info=exc)
        log_request(PROTOCOL, method, target, 500, error=message)
        return _error(message, 500)
    log_request(PROTOCOL, method, target, reply.status, node=node.name)
    return reply


def _head(reply: Reply, date: str) -> bytes:
    """The status line and headers of `reply`, in the order BaseHTTPRequestHandler's
    send_response and send_header write them, built in one piece (they cost more than the
    rest of an answer)."""
    before, after = _head_parts(reply.status, reply.headers, reply.content_type)
    return f"{before}{date}{after}{len(reply.body)}\r\n\r\n".encode("latin-1")


@functools.lru_cache(maxsize=64)
def _head_parts(
    status: int, headers: tuple[tuple[str, str], ...], content_type: str
) -> tuple[str, str]:
    """A head's text before its Date and after it up to the Content-Length's number: the
    same for every answer of one status and headers."""
    known = http.server.BaseHTTPRequestHandler.responses.get(status)
    before = [f"HTTP/1.1 {status} {known[0] if known else ''}", f"Server: {wire.HEADERS['Server']}"]
    after = [f"{name}: {value}" for name, value in headers if name != "Server"]
    after += [f"Content-Type: {content_type}", "Content-Length: "]
    return "\r\n".join(before) + "\r\nDate: ", "\r\n" + "\r\n".join(after)


@functools.lru_cache(maxsize=2)
def _http_date(second: int) -> str:
    """The Date header for a moment, as BaseHTTPRequestHandler.date_time_string writes it."""
    return email.utils.formatdate(second, usegmt=True)


class _Connection:
    """One accepted connection: its TLS socket, the bytes read but not yet answered, the
    answer not yet written, and until when it may wait for the client's next bytes."""

    __slots__ = (
        "sock",
        "fd",
        "node",
        "context",
        "tls",
        "inbox",
        "outbox",
        "deadline",
        "events",
        "handshaking",
        "waiting",
        "continued",
        "ended",
        "last",
        "open",
    )

    def __init__(
        self, sock: socket.socket, node: SimNode, context: EngineTLS, deadline: float
    ) -> None:
        self.sock = sock
        self.fd = sock.fileno()  # the TLS socket keeps it: wrapping moves it across
        self.node = node
        self.context = context
        self.tls: ServerTLS | None = None
        self.inbox = bytearray()
        self.outbox = b""
        self.deadline = deadline
        self.events = 0  # what the selector watches for (0: not registered yet)
        self.handshaking = True
        self.waiting = False  # an engine-slow wait is under way: nothing is read or answered
        self.continued = False  # 100 Continue is sent for the request at the inbox's start
        self.ended = False  # the client is done sending: answer what is complete, then close
        self.last = False  # close once the outbox is written
        self.open = True


class EngineServer:
    """Every engine's listener on one port, and every connection to them, served by one
    thread: a selector over the listeners and the open connections, non-blocking TLS, and a
    timer for each engine-slow wait. Measured on `large` (1,000 resumed connections, one
    request each), it cost the simulator 1.06-1.27 CPU-seconds where a thread per connection
    cost 1.21-1.57, in turn: no thread hand-offs, less lock contention in OpenSSL and malloc."""

    def __init__(self, cluster: SimCluster, log_request: Callable[..., None]) -> None:
        self.cluster = cluster
        self.log_request = log_request
        self._listeners: dict[socket.socket, tuple[SimNode, EngineTLS]] = {}
        self._open: dict[int, _Connection] = {}  # by file descriptor
        self._lock = threading.Lock()  # for readers of `_open` on other threads
        self._timers: list[
            tuple[float, int, _Connection, Callable[..., None], tuple[Any, ...]]
        ] = []
        self._sequence = itertools.count()
        self._selector: selectors.BaseSelector = selectors.DefaultSelector()
        self._next_sweep = 0.0
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def listen(self, nodes: list[SimNode], contexts: dict[str, EngineTLS], port: int) -> None:
        """Bind every node's address on `port`; OSError (EADDRINUSE) leaves nothing bound."""
        try:
            for node in nodes:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                self._listeners[sock] = (node, contexts[node.address])
                sock.bind((node.address, port))
                sock.listen(128)
                sock.setblocking(False)
        except BaseException:
            self._close_listeners()
            raise

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="sim-engines", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, reset every open connection, and wait for the serving thread."""
        self._stopping = True
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._close_listeners()
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def open_sockets(self) -> list[socket.socket]:
        """The connections open now (for a test: from any thread)."""
        with self._lock:
            return [conn.sock for conn in self._open.values()]

    def _close_listeners(self) -> None:
        for sock in self._listeners:
            sock.close()
        self._listeners.clear()

    # -------------------------------------------------------------- the loop

    def _loop(self) -> None:
        selector = self._selector
        for sock, listening in self._listeners.items():
            selector.register(sock, selectors.EVENT_READ, listening)
        selector.register(self._wake_r, selectors.EVENT_READ, None)
        try:
            while not self._stopping:
                for key, events in selector.select(self._timeout()):
                    if key.data is None:
                        return
                    if type(key.data) is tuple:
                        self._accept(key.fileobj, *key.data)  # type: ignore[arg-type]
                    else:
                        self._guarded(key.data, self._ready, key.data, events)
                self._run_timers()
                self._sweep()
        finally:
            for conn in list(self._open.values()):
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)
                self._close(conn)

    def _guarded(self, conn: _Connection, step: Callable[..., None], *args: Any) -> None:
        """Run one step of a connection; a fault in the simulator closes that one alone."""
        try:
            step(*args)
        except Exception:
            log.exception("%s: serving a connection failed", PROTOCOL)
            self._close(conn)

    def _timeout(self) -> float:
        now = monotonic()
        soonest = min(self._next_sweep, self._timers[0][0]) if self._timers else self._next_sweep
        return max(0.0, soonest - now)

    def _defer(
        self, seconds: float, conn: _Connection, step: Callable[..., None], *args: Any
    ) -> None:
        """Run `step(*args)` in `seconds` (an engine-slow wait), unless `conn` closes first."""
        conn.waiting = True
        when = monotonic() + seconds
        heapq.heappush(self._timers, (when, next(self._sequence), conn, step, args))

    def _run_timers(self) -> None:
        now = monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, conn, step, args = heapq.heappop(self._timers)
            if conn.open:
                conn.waiting = False
                self._guarded(conn, step, *args)

    def _sweep(self) -> None:
        """Close the connections idle past their deadline, once a second."""
        now = monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY
        for conn in list(self._open.values()):
            if conn.deadline <= now and not conn.waiting:
                self._close(conn)

    def _slow(self) -> float | None:
        """The engine-slow fault's wait: the round trip of an engine far from its client."""
        return self.cluster.faults.delay("engine-slow")

    # -------------------------------------------------------------- a connection

    def _accept(self, listener: socket.socket, node: SimNode, context: EngineTLS) -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:  # none left to accept (or one gone before it was)
                return
            try:
                self._take(sock, node, context)
            except Exception:
                # This connection is reset; the thread goes on serving every other engine.
                log.exception("%s: accepting a connection failed", PROTOCOL)
                _reset(sock)

    def _take(self, sock: socket.socket, node: SimNode, context: EngineTLS) -> None:
        # The up/down check runs as each connection is accepted, so a test that advances the
        # frozen clock sees the engine's new state on its very next connect.
        if not engine_up(self.cluster, node):
            _reset(sock)
            return
        sock.setblocking(False)
        # As dockerd (Go sets TCP_NODELAY on every connection): with Nagle on, a small answer
        # written after another waits for the client's delayed ACK, some 40 ms a request.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Connection(sock, node, context, monotonic() + HANDSHAKE_TIMEOUT)
        with self._lock:
            self._open[conn.fd] = conn
        delay = self._slow()
        if delay is None:
            self._guarded(conn, self._start_tls, conn)
        else:
            self._defer(delay, conn, self._start_tls, conn)

    def _start_tls(self, conn: _Connection) -> None:
        conn.tls = conn.context.accept(conn.sock)
        self._watch(conn, selectors.EVENT_READ)
        self._handshake(conn)

    def _watch(self, conn: _Connection, events: int) -> None:
        if events == conn.events:
            return
        if conn.events:
            self._selector.modify(conn.fd, events, conn)
        else:
            self._selector.register(conn.fd, events, conn)
        conn.events = events

    def _ready(self, conn: _Connection, events: int) -> None:
        if not conn.open:
            return
        if conn.handshaking:
            self._handshake(conn)
            return
        if events & selectors.EVENT_WRITE and conn.outbox:
            self._flush(conn)
        if conn.open and events & selectors.EVENT_READ and not conn.ended:
            self._receive(conn)
        self._serve(conn)

    def _handshake(self, conn: _Connection) -> None:
        assert conn.tls is not None
        try:
            conn.tls.do_handshake()
        except ssl.SSLWantReadError:
            self._watch(conn, selectors.EVENT_READ)
            return
        except ssl.SSLWantWriteError:
            self._watch(conn, selectors.EVENT_READ | selectors.EVENT_WRITE)
            return
        except (OSError, ssl.SSLError):
            self._close(conn)  # refused before any request: a bad or missing client certificate
            return
        conn.handshaking = False
        self._watch(conn, selectors.EVENT_READ)
        self._receive(conn)  # the first request may have come with the handshake's end
        self._serve(conn)

    def _receive(self, conn: _Connection) -> None:
        """Read what the client has sent (TLS may hold decrypted bytes the selector cannot
        see, so until it has no more)."""
        assert conn.tls is not None
        while True:
            try:
                chunk = conn.tls.recv(RECEIVE_SIZE)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                break
            except OSError:  # reset by the client
                self._close(conn)
                return
            if not chunk:
                conn.ended = True
                break
            conn.inbox += chunk
        conn.deadline = monotonic() + KEEPALIVE_TIMEOUT

    def _serve(self, conn: _Connection) -> None:
        """Answer the complete requests at the start of the inbox, one at a time, HTTP/1.1
        with keep-alive, until the client is done or a request asks to close (or cannot be
        read: answered, then closed)."""
        while conn.open and not conn.waiting and not conn.outbox and not conn.last:
            reader = http1.Buffered(conn.inbox)
            try:
                head = http1.read_head(reader)
                if head is None:
                    self._close(conn)
                    return
                if head.expects_continue and not conn.continued:
                    conn.continued = True
                    self._send(conn, http1.CONTINUE)
                    continue
                more = http1.skip_body(reader, head) and head.keep_alive
            except http1.NeedMore:
                if conn.ended:
                    self._close(conn)
                return
            except http1.BadRequest as bad:
                now = _http_date(int(time.time()))
                self._send(conn, bad.answer(wire.HEADERS["Server"], now), last=True)
                return
            except ConnectionError:
                self._close(conn)
                return
            del conn.inbox[: reader.pos]
            conn.continued = False
            delay = self._slow()
            if delay is not None:
                self._defer(delay, conn, self._answer_then_serve, conn, head, more)
                return
            self._answer(conn, head, more)

    def _answer_then_serve(self, conn: _Connection, head: http1.Head, more: bool) -> None:
        self._answer(conn, head, more)
        self._serve(conn)

    def _answer(self, conn: _Connection, head: http1.Head, more: bool) -> None:
        reply = dispatch(self.cluster, conn.node, head.method, head.target, self.log_request)
        if reply is None:
            self._close(conn, reset=True)
            return
        answer = _head(reply, _http_date(int(time.time())))
        # One write, one TLS record, for the status line, headers and body.
        self._send(conn, answer if head.method == "HEAD" else answer + reply.body, last=not more)

    def _send(self, conn: _Connection, data: bytes, last: bool = False) -> None:
        conn.outbox += data
        conn.last = conn.last or last
        self._flush(conn)

    def _flush(self, conn: _Connection) -> None:
        assert conn.tls is not None
        try:
            while conn.outbox:
                sent = conn.tls.send(conn.outbox)
                conn.outbox = conn.outbox[sent:]
        except ssl.SSLWantWriteError:
            self._watch(conn, selectors.EVENT_READ | selectors.EVENT_WRITE)
            return
        except ssl.SSLWantReadError:
            self._watch(conn, selectors.EVENT_READ)
            return
        except OSError:
            self._close(conn)
            return
        if conn.last:
            self._close(conn)
            return
        self._watch(conn, selectors.EVENT_READ)

    def _close(self, conn: _Connection, reset: bool = False) -> None:
        if not conn.open:
            return
        conn.open = False
        with self._lock:
            self._open.pop(conn.fd, None)
        if conn.events:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(conn.fd)
        sock = conn.sock
        if reset:
            _reset(sock)
        else:
            sock.close()


def serve_blocking(ctx: ServeContext) -> dict[str, Any]:
    """Start every node's engine on one shared port; returns the "docker" endpoints entry."""
    nodes = list(ctx.cluster.nodes.values())
    contexts = {node.address: ctx.tls.engine_context(node.address) for node in nodes}
    server = EngineServer(ctx.cluster, ctx.log_request)
    last: OSError | None = None
    for _ in range(PORT_ATTEMPTS):
        port = free_port(nodes[0].address)
        try:
            server.listen(nodes, contexts, port)
            break
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            last = exc  # another simulator holds this port on some address: try another
    else:
        raise OSError(errno.EADDRINUSE, f"no port free on every node address: {last}")
    server.start()
    ctx.stoppers.append(server.stop)
    return {
        "docker": {
            "ca": str(ctx.tls.ca),
            "client_cert": str(ctx.tls.client_cert),
            "client_key": str(ctx.tls.client_key),
            "port": port,
            "nodes": {node.name: f"tcp://{node.address}:{port}" for node in nodes},
        }
    }


async def serve(ctx: ServeContext) -> dict[str, Any]:
    """The protocol entry point (see tui.sim.server): the engines run in their own threads."""
    return serve_blocking(ctx)
