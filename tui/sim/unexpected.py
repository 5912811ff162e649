"""What a simulator protocol answers when one of its handlers fails unexpectedly.

Left to aiohttp, such a failure is a bare text 500 that never reaches requests.jsonl. Every
protocol's application installs `unexpected_errors` instead: the client gets the protocol's own
error body, requests.jsonl gets the request with status 500 and the error, and the traceback
goes to the simulator's log.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger("tui.sim")

CLIENT_CLOSED = 499
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def unexpected_errors(
    protocol: str,
    log_request: Callable[..., None],
    error_body: Callable[[str], web.StreamResponse],
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """A middleware that answers `error_body(message)` (status 500) for any exception a
    handler did not turn into a response, and logs the request like any other."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except ConnectionResetError:
            # The client gave up (a timeout, a process ending): nothing failed here, and no
            # one is left to answer. Logged as nginx does, 499 "client closed request".
            log_request(protocol, request.method, request.path_qs, CLIENT_CLOSED)
            return web.Response(status=CLIENT_CLOSED)
        except Exception as exc:
            first = (str(exc).splitlines() or [""])[0]
            message = f"internal error: {type(exc).__name__}: {first}".rstrip(": ")
            log.error(
                "%s %s %s: %s", protocol, request.method, request.path_qs, message, exc_info=exc
            )
            log_request(protocol, request.method, request.path_qs, 500, error=message)
            return error_body(message)

    return middleware
