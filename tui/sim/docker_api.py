"""Each node's Docker engine: the Engine API on the node's own loopback address, mutual TLS.

All engines of one simulator share one port number on their distinct addresses, so a profile's
endpoint template `tcp://{address}:PORT` reaches every node; each address has its own
certificate, as each real node's dockerd does. A down engine (the VM rebooting, or the
`engine-down:NODE` fault) resets every connection before the TLS handshake: the docker SDK
raises requests.exceptions.ConnectionError and the docker CLI prints "error during connect".
That is how a host without a listening dockerd looks to a client (a refused or reset connect).
A connection kept alive from before is reset at its next request, unanswered: a client that
keeps one connection per engine sees the outage too, not the answers of a dead dockerd.

The engines are served by blocking sockets in threads (one thread accepts on every address,
one thread per open connection, kept for a later one), not by the asyncio loop of the other
protocols: the TLS handshake and record work then run in OpenSSL with the GIL released, on
every core, and 1,000 engines cost the simulator less CPU than they cost the client that reads
them.
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import functools
import http.server
import logging
import os
import queue
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
from tui.sim.server import ServeContext, free_port
from tui.sim.state import SimCluster, SimNode

log = logging.getLogger("tui.sim")

PROTOCOL = "docker"
PING_HEADERS = (*wire.HEADERS.items(), *wire.PING_HEADERS.items())
PORT_ATTEMPTS = 20
HANDSHAKE_TIMEOUT = 10.0
KEEPALIVE_TIMEOUT = 75.0  # seconds an idle kept-alive connection is held (as aiohttp's default)
pause = time.sleep  # how the engine-slow fault waits (a test may record the waits instead)


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


class _Workers:
    """Threads that serve one connection at a time, kept for the next one: starting a thread
    costs about what a resumed TLS handshake does. There is always a thread for a new
    connection (one is started when none is idle), so a kept-alive connection starves none."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._idle = 0
        self._count = 0
        self._lock = threading.Lock()
        self._idled = threading.Condition(self._lock)

    def run(self, job: Callable[[], None]) -> None:
        with self._lock:
            start = self._idle == 0
            if start:
                self._count += 1
            else:
                self._idle -= 1
        self._jobs.put(job)
        if start:
            threading.Thread(target=self._work, name=self._name, daemon=True).start()

    def stop(self) -> None:
        """Let every thread end once its connection is done."""
        with self._lock:
            count = self._count
        for _ in range(count):
            self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception:
                log.exception("%s: serving a connection failed", PROTOCOL)
            with self._lock:
                self._idle += 1
                self._idled.notify_all()
        with self._lock:
            self._count -= 1

    def wait_idle(self, count: int, timeout: float) -> bool:
        """Whether `count` threads are idle (waiting up to `timeout` seconds for it)."""
        with self._idled:
            return self._idled.wait_for(lambda: self._idle >= count, timeout)


class EngineServer:
    """Every engine's listener on one port: an accepting thread and a thread per connection."""

    def __init__(self, cluster: SimCluster, log_request: Callable[..., None]) -> None:
        self.cluster = cluster
        self.log_request = log_request
        self._listeners: dict[socket.socket, tuple[SimNode, ssl.SSLContext]] = {}
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._workers = _Workers("sim-engine")

    def listen(self, nodes: list[SimNode], contexts: dict[str, ssl.SSLContext], port: int) -> None:
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
        self._thread = threading.Thread(target=self._accept_loop, name="sim-engines", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, reset every open connection, and wait for the accepting thread."""
        self._stopping = True
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            still_open = list(self._open)
        for sock in still_open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._close_listeners()
        self._workers.stop()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _close_listeners(self) -> None:
        for sock in self._listeners:
            sock.close()
        self._listeners.clear()

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            for sock in self._listeners:
                selector.register(sock, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping:
                for key, _ in selector.select():
                    if key.fileobj == self._wake_r:
                        return
                    self._accept(key.fileobj)  # type: ignore[arg-type]

    def _accept(self, listener: socket.socket) -> None:
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        node, context = self._listeners[listener]
        # The up/down check runs as each connection is accepted, so a test that advances the
        # frozen clock sees the engine's new state on its very next connect.
        if not engine_up(self.cluster, node):
            _reset(sock)
            return
        sock.setblocking(True)
        # As dockerd (Go sets TCP_NODELAY on every connection): with Nagle on, a small answer
        # written after another waits for the client's delayed ACK, some 40 ms a request.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._workers.run(lambda: self._serve(sock, node, context))

    def _serve(self, sock: socket.socket, node: SimNode, context: ssl.SSLContext) -> None:
        tls: ssl.SSLSocket | None = None
        with self._lock:
            self._open.add(sock)
        try:
            sock.settimeout(HANDSHAKE_TIMEOUT)
            self._slow()
            try:
                tls = context.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError):
                return  # refused before any request: a bad or missing client certificate
            with self._lock:  # wrapping detached `sock`: only `tls` can be shut down now
                self._open.discard(sock)
                self._open.add(tls)
            try:
                self._converse(tls, node)
            except OSError:
                pass  # reset or closed by the client, or idle past KEEPALIVE_TIMEOUT
            finally:
                tls.close()
        finally:
            with self._lock:
                self._open.discard(sock)
                if tls is not None:
                    self._open.discard(tls)
            sock.close()

    def _slow(self) -> None:
        """The engine-slow fault: the round trip of an engine far from its client."""
        delay = self.cluster.faults.delay("engine-slow")
        if delay is not None:
            pause(delay)

    def _converse(self, tls: ssl.SSLSocket, node: SimNode) -> None:
        """Answer the requests on one connection, HTTP/1.1 with keep-alive, until the client
        is done or a request asks to close (or cannot be read: answered, then closed)."""
        tls.settimeout(KEEPALIVE_TIMEOUT)
        with tls.makefile("rb") as reader:
            while True:
                try:
                    head = http1.read_head(reader)
                    if head is None:
                        return
                    if head.expects_continue:
                        tls.sendall(http1.CONTINUE)
                    more = http1.skip_body(reader, head) and head.keep_alive
                except http1.BadRequest as bad:
                    tls.sendall(bad.answer(wire.HEADERS["Server"], _http_date(int(time.time()))))
                    return
                self._slow()
                reply = dispatch(self.cluster, node, head.method, head.target, self.log_request)
                if reply is None:
                    _reset(tls)
                    return
                answer = _head(reply, _http_date(int(time.time())))
                # One write, one TLS record, for the status line, headers and body.
                tls.sendall(answer if head.method == "HEAD" else answer + reply.body)
                if not more:
                    return


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
