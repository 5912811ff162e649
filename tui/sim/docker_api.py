"""Each node's Docker engine: the Engine API on the node's own loopback address, mutual TLS.

All engines of one simulator share one port number on their distinct addresses, so a profile's
endpoint template `tcp://{address}:PORT` reaches every node. A down engine (the VM rebooting,
or the `engine-down:NODE` fault) resets every connection before the TLS handshake: the docker
SDK raises requests.exceptions.ConnectionError and the docker CLI prints "error during connect".
That is how a host without a listening dockerd looks to a client (a refused or reset connect).
A connection kept alive from before is reset at its next request, unanswered: a client that
keeps one connection per engine sees the outage too, not the answers of a dead dockerd.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import struct
from asyncio import sslproto
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tui.sim import docker_wire as wire
from tui.sim.server import ServeContext, free_port
from tui.sim.state import SimCluster, SimNode
from tui.sim.unexpected import unexpected_errors

PROTOCOL = "docker"
PORT_ATTEMPTS = 20
HANDSHAKE_TIMEOUT = 10.0


def engine_up(cluster: SimCluster, node: SimNode) -> bool:
    """Whether the node's engine answers: its VM is up and no engine-down fault is set."""
    with cluster.lock:
        cluster.advance()
        return _up(cluster, node)


def _up(cluster: SimCluster, node: SimNode) -> bool:
    """engine_up with the lock held and the clock already advanced."""
    return node.host_up and not cluster.faults.active("engine-down", node.name)


def _reset(transport: asyncio.BaseTransport) -> None:
    """Drop a connection with a TCP reset (SO_LINGER 0), as a host with no dockerd does."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


# ------------------------------------------------------------------ HTTP


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, headers=wire.HEADERS)


def _error(message: str, status: int) -> web.Response:
    return _json({"message": message}, status)


def _split_version(path: str) -> tuple[str | None, str]:
    """'/v1.41/info' -> ('1.41', '/info'); an unversioned path keeps version None."""
    if path.startswith("/v"):
        head, sep, rest = path[2:].partition("/")
        if sep and head and all(ch.isdigit() or ch == "." for ch in head):
            return head, "/" + rest
    return None, path


def _answer(cluster: SimCluster, node: SimNode, method: str, path: str, query: dict[str, str]):
    """Route one request (the lock is held); returns the response."""
    images = cluster.scenario.images
    now = cluster.clock.now()
    if path == "/_ping" and method in ("GET", "HEAD"):
        headers = {**wire.HEADERS, **wire.PING_HEADERS}
        return web.Response(text="OK", headers=headers, content_type="text/plain")
    if method != "GET":
        return _error("page not found", 404)
    if path == "/version":
        return _json(wire.version_body(node))
    if path == "/info":
        return _json(wire.info_body(node, now))
    if path == "/containers/json":
        try:
            return _json(wire.list_containers(node, query, images, now))
        except ValueError as exc:
            return _error(str(exc), 400)
    if path == "/images/json":
        try:
            return _json(wire.list_images(node, query, images))
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


def make_app(cluster: SimCluster, log_request: Callable[..., None]) -> web.Application:
    """The Engine API of every node; the node is the local address the request arrived on."""
    by_address = {node.address: node for node in cluster.nodes.values()}

    async def dispatch(request: web.Request) -> web.StreamResponse:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        node = by_address.get(sockname[0]) if sockname else None
        if node is None:
            return _error("page not found", 404)
        version, path = _split_version(unquote(request.raw_path.split("?", 1)[0]))
        problem = wire.api_version_error(version) if version else None
        with cluster.lock:
            cluster.advance()
            up = _up(cluster, node)
            if up and not problem:
                response = _answer(cluster, node, request.method, path, dict(request.query))
        if not up:
            # A kept-alive connection outlives the engine: drop it at the next request,
            # unanswered and unlogged, as a new connection is dropped in EngineSite.
            # aiohttp then finds the transport closed and writes nothing.
            if request.transport is not None:
                _reset(request.transport)
            return _error("engine down", 503)
        if problem:
            response = _error(problem, 400)
        log_request(PROTOCOL, request.method, request.path_qs, response.status, node=node.name)
        return response

    app = web.Application(
        middlewares=[unexpected_errors(PROTOCOL, log_request, lambda message: _error(message, 500))]
    )
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app


# ------------------------------------------------------------------ listeners


class _Reset(asyncio.Protocol):
    """Answers a connection to a down engine with a TCP reset, before any TLS."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        _reset(transport)


class EngineSite(web.BaseSite):
    """One node's listener. The up/down check runs as each connection is accepted, so a test
    that advances the frozen clock sees the engine's new state on its very next connect."""

    __slots__ = ("_host", "_port", "_is_up")

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext,
        is_up: Callable[[], bool],
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self._host = host
        self._port = port
        self._is_up = is_up

    @property
    def name(self) -> str:
        return f"https://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        handler_factory = self._runner.server
        assert handler_factory is not None and self._ssl_context is not None
        context = self._ssl_context

        def accept() -> asyncio.BaseProtocol:
            if not self._is_up():
                return _Reset()
            # What create_server(ssl=...) builds per connection; built here so that the
            # up/down decision can come first.
            return sslproto.SSLProtocol(
                loop,
                handler_factory(),
                context,
                None,
                server_side=True,
                ssl_handshake_timeout=HANDSHAKE_TIMEOUT,
            )

        self._server = await loop.create_server(accept, self._host, self._port)


async def _start_all(
    runner: web.AppRunner,
    ctx: ServeContext,
    nodes: list[SimNode],
    contexts: dict[str, ssl.SSLContext],
    port: int,
) -> list[EngineSite]:
    sites: list[EngineSite] = []
    try:
        for node in nodes:
            context = contexts[node.address]
            site = EngineSite(
                runner, node.address, port, context, lambda n=node: engine_up(ctx.cluster, n)
            )
            await site.start()
            sites.append(site)
    except BaseException:
        for site in sites:
            await site.stop()
        raise
    return sites


async def serve(ctx: ServeContext) -> dict[str, Any]:
    """Start every node's engine on one shared port; returns the "docker" endpoints entry."""
    nodes = list(ctx.cluster.nodes.values())
    runner = web.AppRunner(make_app(ctx.cluster, ctx.log_request), access_log=None)
    await runner.setup()
    ctx.runners.append(runner)
    contexts = {node.address: ctx.tls.engine_context(node.address) for node in nodes}
    last: OSError | None = None
    for _ in range(PORT_ATTEMPTS):
        port = free_port(nodes[0].address)
        try:
            await _start_all(runner, ctx, nodes, contexts, port)
            break
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            last = exc  # another simulator holds this port on some address: try another
    else:
        raise OSError(errno.EADDRINUSE, f"no port free on every node address: {last}")
    return {
        "docker": {
            "ca": str(ctx.tls.ca),
            "client_cert": str(ctx.tls.client_cert),
            "client_key": str(ctx.tls.client_key),
            "port": port,
            "nodes": {node.name: f"tcp://{node.address}:{port}" for node in nodes},
        }
    }
