"""The simulator's control endpoint: add and remove faults, read and advance the clock.

Served over the same mutual TLS as the gateway. Bad input answers 400 with a one-line JSON
`{"error": ...}`. Every request goes to requests.jsonl with protocol "control".
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tui.errors import UsageError
from tui.sim.clock import RUN_SPAN
from tui.sim.faults import Fault, parse_fault, require_known_node
from tui.sim.state import SimCluster
from tui.sim.unexpected import unexpected_errors

# One advance moves the clock at most as far as a clock must be able to run from its start.
MAX_ADVANCE = RUN_SPAN.total_seconds()
MAX_ADVANCE_TEXT = f"{MAX_ADVANCE:.0f} ({RUN_SPAN.days // 365} years)"


def check_fault(cluster: SimCluster, fault: Fault) -> None:
    """Refuse a node fault on a node the cluster does not have (one-line UsageError)."""
    require_known_node(fault, cluster.nodes)


def clock_state(cluster: SimCluster) -> dict[str, Any]:
    clock = cluster.clock
    return {
        "elapsed": clock.elapsed(),
        "now": clock.now().isoformat().replace("+00:00", "Z"),
        "speed": clock.speed,
    }


def _error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.text() or "{}")
    except json.JSONDecodeError:
        raise UsageError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise UsageError("the request body must be a JSON object")
    return body


def make_app(cluster: SimCluster, log_request: Callable[..., None]) -> web.Application:
    """The control API as an aiohttp application."""

    def faults() -> web.Response:
        return web.json_response({"faults": cluster.faults.list()})

    async def list_faults(request: web.Request) -> web.Response:
        return faults()

    async def add_fault(request: web.Request) -> web.Response:
        text = (await _body(request)).get("fault")
        if not isinstance(text, str):
            raise UsageError('give {"fault": "NAME:ARG"}')
        fault = parse_fault(text)
        check_fault(cluster, fault)
        with cluster.lock:
            cluster.faults.add(fault)
        return faults()

    async def remove_fault(request: web.Request) -> web.Response:
        fault = parse_fault(unquote(request.match_info["fault"]))
        if str(fault) not in cluster.faults.list():
            return _error(f"fault {fault} is not active", 404)
        with cluster.lock:
            cluster.faults.remove(fault)
        return faults()

    async def clear_faults(request: web.Request) -> web.Response:
        with cluster.lock:
            cluster.faults.clear()
        return faults()

    async def get_clock(request: web.Request) -> web.Response:
        return web.json_response(clock_state(cluster))

    async def advance_clock(request: web.Request) -> web.Response:
        seconds = (await _body(request)).get("seconds")
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 <= seconds <= MAX_ADVANCE  # also false for nan, inf (JSON's 1e400)
        ):
            raise UsageError(f'give {{"seconds": N}} with 0 <= N <= {MAX_ADVANCE_TEXT}')
        with cluster.lock:
            try:
                cluster.clock.advance(float(seconds))
            except ValueError as exc:  # past the latest time the clock can hold
                raise UsageError(str(exc)) from None
            cluster.advance()
        return web.json_response(clock_state(cluster))

    @web.middleware
    async def answer(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            response = await handler(request)
        except UsageError as exc:
            response = _error(str(exc))
        except web.HTTPException as exc:
            response = _error(
                f"{exc.status} {exc.reason}: {request.method} {request.path}", exc.status
            )
        log_request("control", request.method, request.path_qs, response.status)
        return response

    app = web.Application(
        middlewares=[
            unexpected_errors("control", log_request, lambda message: _error(message, 500)),
            answer,
        ]
    )
    app.router.add_get("/faults", list_faults)
    app.router.add_post("/faults", add_fault)
    app.router.add_delete("/faults", clear_faults)
    app.router.add_delete("/faults/{fault}", remove_fault)
    app.router.add_get("/clock", get_clock)
    app.router.add_post("/clock/advance", advance_clock)
    return app


async def serve(ctx: Any) -> dict[str, Any]:
    """Start the control listener; its part of endpoints.json."""
    port = await ctx.listen(make_app(ctx.cluster, ctx.log_request))
    return {"control": {"endpoint": f"https://127.0.0.1:{port}"}}
