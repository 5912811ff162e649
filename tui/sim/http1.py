"""HTTP/1.1 requests read off one connection, for the simulated engines' listener.

The request line, headers by lines, a body by Content-Length or in chunks, keep-alive; an
unreadable request raises BadRequest, whose answer is the one http.server's handler gave
(its status line, headers and HTML page), so a client sees the same errors as before. That
handler cost about as much CPU per request as building the answer did.
"""

from __future__ import annotations

import html
import http.server
from dataclasses import dataclass
from typing import Protocol

MAX_LINE = 65536  # bytes in the request line or a header line, as http.server allows
MAX_HEADERS = 100
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
VERSIONS = ("HTTP/1.0", "HTTP/1.1")
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_CHUNK = 1 << 16  # bytes of a body read at a time: no route reads one, so it is dropped
_ENDS = (b"\r\n", b"\n", b"")
_HEX = frozenset(b"0123456789abcdefABCDEF")


class Stream(Protocol):
    """What a request is read from: a buffered socket file, or Buffered."""

    def readline(self, limit: int, /) -> bytes: ...

    def read(self, count: int, /) -> bytes: ...


class NeedMore(Exception):
    """The bytes read so far end inside a request: parse it again once more have come."""


class Buffered:
    """The bytes a connection has read so far, read as a stream: a line or a body that runs
    past their end raises NeedMore (a non-blocking server parses a request only once it has
    all of it). `pos` is where the next read starts."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes | bytearray, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def readline(self, limit: int, /) -> bytes:
        start, data = self.pos, self.data
        end = data.find(b"\n", start, start + limit)
        if end < 0:
            if len(data) - start < limit:
                raise NeedMore
            end = start + limit - 1  # a line longer than `limit`: its first `limit` bytes
        self.pos = end + 1
        return bytes(data[start : end + 1])

    def read(self, count: int, /) -> bytes:
        start, data = self.pos, self.data
        if len(data) - start < count:
            raise NeedMore
        self.pos = start + count
        return bytes(data[start : self.pos])


@dataclass(frozen=True, slots=True)
class Head:
    """A request's line and headers (by lower-cased name)."""

    method: str
    target: str
    version: str
    headers: dict[str, str]

    @property
    def keep_alive(self) -> bool:
        """Whether the connection stays open after the answer (HTTP/1.1 unless `close`)."""
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return connection == "keep-alive"
        return connection != "close"

    @property
    def expects_continue(self) -> bool:
        return self.headers.get("expect", "").lower() == "100-continue"


class BadRequest(Exception):
    """A request that cannot be answered; `answer` is sent and the connection closed."""

    def __init__(self, status: int, reason: str | None = None, head_request: bool = False):
        super().__init__(f"{status} {reason or ''}".rstrip())
        self.status = status
        self.reason = reason
        self.head_request = head_request  # a HEAD's error has no body

    def answer(self, server: str, date: str) -> bytes:
        """The status line, headers and page http.server's send_error wrote."""
        short, explain = http.server.BaseHTTPRequestHandler.responses.get(
            self.status, ("???", "???")
        )
        reason = self.reason if self.reason is not None else short
        page = http.server.DEFAULT_ERROR_MESSAGE % {
            "code": self.status,
            "message": html.escape(reason, quote=False),
            "explain": html.escape(explain, quote=False),
        }
        body = page.encode("utf-8", "replace")
        lines = [
            f"HTTP/1.1 {self.status} {reason}",
            f"Server: {server}",
            f"Date: {date}",
            "Connection: close",
            f"Content-Type: {http.server.DEFAULT_ERROR_CONTENT_TYPE}",
            f"Content-Length: {len(body)}",
            "\r\n",
        ]
        head = "\r\n".join(lines).encode("latin-1", "replace")
        return head if self.head_request else head + body


def read_head(fp: Stream) -> Head | None:
    """The next request's line and headers from a buffered stream; None once the client is
    done (the stream ended, or a blank line where a request line belongs)."""
    raw = fp.readline(MAX_LINE + 1)
    if len(raw) > MAX_LINE:
        raise BadRequest(414)
    if not raw:
        return None
    line = str(raw, "iso-8859-1").rstrip("\r\n")
    words = line.split()
    if not words:
        return None
    if len(words) != 3 or words[2] not in VERSIONS:
        raise BadRequest(400, f"Bad request {line[:80]!r}")
    method, target, version = words
    head_request = method == "HEAD"
    headers: dict[str, str] = {}
    while (raw := fp.readline(MAX_LINE + 1)) not in _ENDS:
        if len(raw) > MAX_LINE or len(headers) >= MAX_HEADERS:
            raise BadRequest(431, head_request=head_request)
        name, _, value = str(raw, "iso-8859-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if method not in METHODS:
        raise BadRequest(501, f"Unsupported method ({method!r})")
    return Head(method, target, version, headers)


def skip_body(fp: Stream, head: Head) -> bool:
    """Read past the request's body (by Content-Length or chunks); whether the connection
    can serve another request after it (not after a body it cannot delimit)."""
    encoding = head.headers.get("transfer-encoding", "").lower()
    if encoding == "chunked":
        _skip_chunks(fp, head)
        return True
    if encoding:
        return False  # a body it cannot find the end of: answered, then closed
    length = head.headers.get("content-length")
    if length is None:
        return True
    if not length.isdigit():
        raise BadRequest(400, f"Bad Content-Length {length[:20]!r}", head.method == "HEAD")
    _skip(fp, int(length))
    return True


def _skip_chunks(fp: Stream, head: Head) -> None:
    while True:
        line = fp.readline(MAX_LINE + 1)
        size = line.split(b";", 1)[0].strip()
        if not size or not _HEX.issuperset(size) or not line.endswith(b"\n"):
            raise BadRequest(400, "Bad chunked body", head.method == "HEAD")
        count = int(size, 16)
        if count == 0:
            break
        _skip(fp, count)
        if fp.readline(3) not in (b"\r\n", b"\n"):
            raise BadRequest(400, "Bad chunked body", head.method == "HEAD")
    for _ in range(MAX_HEADERS + 1):  # trailers, up to the blank line
        if fp.readline(MAX_LINE + 1) in _ENDS:
            return
    raise BadRequest(431, head_request=head.method == "HEAD")


def _skip(fp: Stream, count: int) -> None:
    """Read `count` bytes and drop them; the stream ending first is the client's loss."""
    while count > 0:
        got = fp.read(min(count, _CHUNK))
        if not got:
            raise ConnectionError("the body ended early")
        count -= len(got)
