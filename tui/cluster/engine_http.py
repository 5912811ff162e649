"""The bulk sweep's HTTP/1.1 answers from an engine: read whole from a buffered reader
(`read_response`, for a connection read in turn), or found complete in bytes received so far
(`answer_end`, for connections read as their bytes come: see tui.cluster.sweep_loop)."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from typing import BinaryIO

MAX_LINE = 65536  # bytes in a status or header line, as http.client allows
MAX_HEADERS = 100


@dataclass(frozen=True)
class EngineResponse:
    """One HTTP answer of an engine: status, body, and whether the engine closes after it."""

    status: int
    body: bytes
    will_close: bool


def read_response(fp: BinaryIO) -> EngineResponse:
    """An HTTP/1.1 answer to a GET from a buffered reader: a body by Content-Length, chunked
    (as dockerd sends a large one), or up to the end of the connection. A malformed or cut-off
    answer raises http.client.HTTPException."""
    line = fp.readline(MAX_LINE + 1)
    if not line:
        raise http.client.RemoteDisconnected("the engine closed the connection without an answer")
    version, _, rest = line.partition(b" ")
    code = rest[:3]
    if not version.startswith(b"HTTP/1.") or not code.isdigit() or len(line) > MAX_LINE:
        raise http.client.BadStatusLine(line.decode("latin-1").strip()[:200])
    headers: dict[bytes, bytes] = {}
    while True:
        line = fp.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):
            break
        if not line or len(line) > MAX_LINE or len(headers) >= MAX_HEADERS:
            raise http.client.IncompleteRead(b"", None)
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    status = int(code)
    connection = headers.get(b"connection", b"").lower()
    will_close = b"close" in connection or (
        version == b"HTTP/1.0" and b"keep-alive" not in connection
    )
    if status < 200 or status in (204, 304):
        return EngineResponse(status, b"", will_close)
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        return EngineResponse(status, _read_chunked(fp), will_close)
    length = headers.get(b"content-length")
    if length is None:
        return EngineResponse(status, fp.read(), True)
    if not length.isdigit():
        raise http.client.HTTPException(f"bad Content-Length {length[:20]!r}")
    body = fp.read(int(length))
    if len(body) < int(length):
        raise http.client.IncompleteRead(body, int(length) - len(body))
    return EngineResponse(status, body, will_close)


_HEX = b"0123456789abcdefABCDEF"


def chunk_size(line: bytes) -> int | None:
    """A chunk's size from its size line (hex digits, then any extensions after ';'); None if
    it is not one: int() would also take '-7', '+7', '0x7' and '7_0'."""
    text = line.split(b";", 1)[0].strip()
    if not text or text.strip(_HEX):
        return None
    return int(text, 16)


def _read_chunked(fp: BinaryIO) -> bytes:
    parts = []
    while True:
        line = fp.readline(MAX_LINE + 1)
        size = chunk_size(line)
        if size is None:
            raise http.client.IncompleteRead(b"".join(parts))
        if size == 0:
            break
        chunk = fp.read(size)
        if len(chunk) < size or fp.readline(MAX_LINE + 1) not in (b"\r\n", b"\n"):
            raise http.client.IncompleteRead(b"".join(parts) + chunk)
        parts.append(chunk)
    while fp.readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
        pass  # trailers
    return b"".join(parts)


HEADERS_LIMIT = MAX_LINE * (MAX_HEADERS + 1)  # bytes before an answer's headers must have ended


def answer_end(received: bytes | bytearray, start: int = 0) -> int | None:
    """Where the answer beginning at `start` of `received` ends, if it is all there; None if
    more is to come, or if its body runs to the end of the connection (no Content-Length, not
    chunked). Only the framing is looked at: `read_response` judges the rest, so anything this
    cannot frame (a size that is not hex, headers that never end) is given as ending at the
    end of `received`, for `read_response` to refuse."""
    head_end = received.find(b"\r\n\r\n", start)
    if head_end < 0:
        return len(received) if len(received) - start > HEADERS_LIMIT else None
    body = head_end + 4
    head = bytes(received[start:head_end]).lower()
    status_line, _, fields = head.partition(b"\r\n")
    code = status_line.partition(b" ")[2][:3]
    if not code.isdigit():
        return body
    if int(code) < 200 or int(code) in (204, 304):
        return body
    headers = {}
    for line in fields.split(b"\r\n"):
        name, _, value = line.partition(b":")
        headers[name.strip()] = value.strip()
    if b"chunked" in headers.get(b"transfer-encoding", b""):
        return _chunked_end(received, body)
    length = headers.get(b"content-length")
    if length is None:
        return None
    if not length.isdigit():
        return body
    end = body + int(length)
    return end if len(received) >= end else None


def _chunked_end(received: bytes | bytearray, at: int) -> int | None:
    while True:
        line_end = received.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = chunk_size(bytes(received[at:line_end]))
        if size is None:
            return len(received)
        at = line_end + 2
        if size == 0:
            break
        at += size + 2
        if len(received) < at:
            return None
    while True:  # trailers, up to an empty line
        line_end = received.find(b"\r\n", at)
        if line_end < 0:
            return None
        if line_end == at:
            return at + 2
        at = line_end + 2
