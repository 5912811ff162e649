"""The engines' HTTP/1.1 request reader: request lines, headers, bodies, keep-alive, and the
error answers http.server's handler gave for what cannot be read."""

from __future__ import annotations

import http.server
import io

import pytest

from tui.sim import http1
from tui.sim.http1 import BadRequest, read_head, skip_body

SERVER = "Docker/20.10.9 (windows)"
DATE = "Tue, 01 Dec 2026 10:00:00 GMT"


def stream(data: bytes) -> io.BufferedReader:
    return io.BufferedReader(io.BytesIO(data))


def refused(data: bytes) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        fp = stream(data)
        head = read_head(fp)
        assert head is not None
        skip_body(fp, head)
    return caught.value


class _StdlibHandler(http.server.BaseHTTPRequestHandler):
    """http.server's handler, without a socket: what its send_error writes."""

    protocol_version = "HTTP/1.1"

    def __init__(self, command: str | None) -> None:
        self.wfile = io.BytesIO()
        self.request_version = "HTTP/1.1"
        self.command = command
        self.requestline = ""

    def version_string(self) -> str:
        return SERVER

    def date_time_string(self, timestamp: float | None = None) -> str:
        return DATE

    def log_message(self, format: str, *args: object) -> None:
        pass


def stdlib_error(status: int, reason: str | None = None, command: str | None = None) -> bytes:
    handler = _StdlibHandler(command)
    handler.send_error(status, reason)
    return handler.wfile.getvalue()


def test_a_request_line_and_headers_are_read_by_lower_cased_name():
    fp = stream(b"GET /v1.41/info HTTP/1.1\r\nHOST: x:2376\r\nUser-Agent:  docker/1 \n\r\n")
    head = read_head(fp)
    assert head == http1.Head(
        "GET", "/v1.41/info", "HTTP/1.1", {"host": "x:2376", "user-agent": "docker/1"}
    )
    assert head.keep_alive and not head.expects_continue
    assert read_head(fp) is None  # the stream ended: the client is done


def test_two_requests_on_one_stream_are_read_in_turn_keeping_the_connection():
    fp = stream(
        b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
        b"GET /b HTTP/1.1\r\nConnection: close\r\n\r\n"
    )
    first = read_head(fp)
    assert first is not None and skip_body(fp, first) and first.keep_alive
    second = read_head(fp)
    assert second is not None and second.target == "/b"
    assert skip_body(fp, second) and not second.keep_alive


@pytest.mark.parametrize(
    ("version", "connection", "kept"),
    [
        ("HTTP/1.1", None, True),
        ("HTTP/1.1", "Close", False),
        ("HTTP/1.0", None, False),
        ("HTTP/1.0", "keep-alive", True),
    ],
)
def test_keep_alive_follows_the_version_and_connection_header(version, connection, kept):
    extra = f"Connection: {connection}\r\n" if connection else ""
    head = read_head(stream(f"GET / {version}\r\n{extra}\r\n".encode()))
    assert head is not None and head.keep_alive is kept


def test_a_blank_line_where_a_request_belongs_ends_the_connection_unanswered():
    assert read_head(stream(b"\r\n")) is None
    assert read_head(stream(b"")) is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"BREW", "Bad request 'BREW'"),
        (b"GET /v1.41/version", "Bad request 'GET /v1.41/version'"),
        (b"GET /v1.41/version HTTP/2.0", "Bad request 'GET /v1.41/version HTTP/2.0'"),
    ],
)
def test_a_malformed_request_line_is_a_400_as_http_server_answered(line, reason):
    bad = refused(line + b"\r\nhost: x\r\n\r\n")
    assert (bad.status, bad.reason) == (400, reason)
    assert bad.answer(SERVER, DATE) == stdlib_error(400, reason)


def test_an_oversized_request_line_is_a_414():
    bad = refused(b"GET /" + b"a" * http1.MAX_LINE + b" HTTP/1.1\r\n\r\n")
    assert bad.status == 414
    assert bad.answer(SERVER, DATE) == stdlib_error(414, command="")


def test_an_oversized_header_is_a_431_and_a_heads_has_no_body():
    header = b"x-big: " + b"a" * http1.MAX_LINE + b"\r\n"
    bad = refused(b"GET / HTTP/1.1\r\n" + header + b"\r\n")
    assert bad.status == 431
    assert bad.answer(SERVER, DATE) == stdlib_error(431, command="GET")
    head_bad = refused(b"HEAD / HTTP/1.1\r\n" + header + b"\r\n")
    answer = head_bad.answer(SERVER, DATE)
    assert answer == stdlib_error(431, command="HEAD")
    assert answer.endswith(b"\r\n\r\n") and b"Content-Length: " in answer


def test_more_headers_than_the_limit_is_a_431():
    headers = b"".join(b"h%d: 1\r\n" % i for i in range(http1.MAX_HEADERS + 1))
    assert refused(b"GET / HTTP/1.1\r\n" + headers + b"\r\n").status == 431
    at_limit = b"".join(b"h%d: 1\r\n" % i for i in range(http1.MAX_HEADERS))
    assert read_head(stream(b"GET / HTTP/1.1\r\n" + at_limit + b"\r\n")) is not None


def test_an_unknown_method_is_a_501_once_its_headers_are_read():
    bad = refused(b"BREW /pot HTTP/1.1\r\nhost: x\r\n\r\n")
    assert (bad.status, bad.reason) == (501, "Unsupported method ('BREW')")
    assert bad.answer(SERVER, DATE) == stdlib_error(501, "Unsupported method ('BREW')", "BREW")


def test_a_chunked_body_is_read_past_with_its_extensions_and_trailers():
    fp = stream(
        b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=x\r\nhello\r\n1A\r\n" + b"z" * 26 + b"\r\n0\r\nTrailer: t\r\n\r\n"
        b"GET /b HTTP/1.1\r\n\r\n"
    )
    first = read_head(fp)
    assert first is not None and skip_body(fp, first)
    second = read_head(fp)
    assert second is not None and (second.method, second.target) == ("GET", "/b")


@pytest.mark.parametrize(
    "chunks", [b"zz\r\nhi\r\n0\r\n\r\n", b"2\r\nhiX\r\n0\r\n\r\n", b"-2\r\nhi\r\n0\r\n\r\n"]
)
def test_a_malformed_chunk_is_a_400(chunks):
    bad = refused(b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
    assert (bad.status, bad.reason) == (400, "Bad chunked body")


def test_a_body_that_ends_early_drops_the_connection():
    fp = stream(b"POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nhi")
    head = read_head(fp)
    assert head is not None
    with pytest.raises(ConnectionError):
        skip_body(fp, head)


def test_a_bad_content_length_is_a_400():
    bad = refused(b"POST /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n")
    assert (bad.status, bad.reason) == (400, "Bad Content-Length '-1'")


def test_a_body_of_another_transfer_coding_closes_the_connection_after_the_answer():
    fp = stream(b"POST /a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n...")
    head = read_head(fp)
    assert head is not None and skip_body(fp, head) is False


def test_expect_100_continue_is_seen():
    head = read_head(stream(b"POST /a HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n"))
    assert head is not None and head.expects_continue
    assert http1.CONTINUE == b"HTTP/1.1 100 Continue\r\n\r\n"


CHUNKED = (
    b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    b"GET /next HTTP/1.1\r\n\r\n"
)


def test_a_request_read_from_fewer_bytes_than_it_has_needs_more():
    """A non-blocking server parses a request only once all of it has come: every cut short of
    the first request's end says so, and the whole one is read as a stream reads it."""
    end = CHUNKED.index(b"GET /next")
    for cut in range(end):
        reader = http1.Buffered(CHUNKED[:cut])
        with pytest.raises(http1.NeedMore):
            head = read_head(reader)
            assert head is not None
            skip_body(reader, head)
    reader = http1.Buffered(CHUNKED)
    head = read_head(reader)
    assert head is not None and head.target == "/x"
    assert skip_body(reader, head) is True
    assert reader.pos == end
    following = read_head(reader)
    assert following is not None and following.target == "/next"


def test_a_line_longer_than_allowed_is_refused_before_its_end_comes():
    reader = http1.Buffered(b"GET /" + b"a" * (http1.MAX_LINE + 10))
    with pytest.raises(BadRequest) as refused:
        read_head(reader)
    assert refused.value.status == 414
