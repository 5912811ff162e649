"""The engine sweep's HTTP answer reader, on answers as dockerd writes them, and how it finds
and connects to an engine's address."""

from __future__ import annotations

import http.client
import io
import json
import math
import socket
import struct
from collections.abc import Iterator

import pytest

from tui.cluster import engines
from tui.cluster.answers import decode_json
from tui.cluster.engines import EngineResponse, Listing, listed_digest, read_response
from tui.cluster.sweep_tls import EngineAddress, engine_address, open_socket, socket_timeout
from tui.errors import ClusterError
from tui.model import Container, Engine, Image


def answer(raw: bytes) -> EngineResponse:
    return read_response(io.BufferedReader(io.BytesIO(raw)))


HEAD = b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (HEAD + b"Content-Length: 2\r\n\r\n[]", EngineResponse(200, b"[]", False)),
        # Go's net/http sends a body it did not buffer whole in chunks, with an extension
        # and a trailer allowed.
        (
            HEAD + b'Transfer-Encoding: chunked\r\n\r\n4\r\n[{"a\r\n3;x=1\r\n":1\r\n2\r\n}]\r\n'
            b"0\r\nX-Trailer: 1\r\n\r\n",
            EngineResponse(200, b'[{"a":1}]', False),
        ),
        (
            b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 13\r\n\r\n"
            b'{"message":1}',
            EngineResponse(404, b'{"message":1}', True),
        ),
        (b"HTTP/1.0 200 OK\r\n\r\n{}", EngineResponse(200, b"{}", True)),  # to the end
        (b"HTTP/1.1 204 No Content\r\n\r\n", EngineResponse(204, b"", False)),
        (b"HTTP/1.1 200 OK\ncontent-length: 1\n\n1", EngineResponse(200, b"1", False)),
    ],
    ids=["length", "chunked", "close", "http/1.0", "no content", "bare newlines"],
)
def test_read_response(raw: bytes, expected: EngineResponse) -> None:
    assert answer(raw) == expected


def test_answers_on_one_connection_are_read_one_after_another() -> None:
    fp = io.BufferedReader(
        io.BytesIO(HEAD + b"Content-Length: 1\r\n\r\n1" + HEAD + b"Content-Length: 2\r\n\r\n22")
    )
    assert [read_response(fp).body, read_response(fp).body] == [b"1", b"22"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",  # closed before an answer
        b"SSH-2.0-OpenSSH\r\n\r\n",
        HEAD + b"Content-Length: 10\r\n\r\n[]",  # cut off
        HEAD + b"Content-Length: x\r\n\r\n[]",
        HEAD + b"Transfer-Encoding: chunked\r\n\r\n5\r\n[]",
        HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
        HEAD,  # headers never end
    ],
    ids=["closed", "not http", "short", "bad length", "short chunk", "bad chunk", "no end"],
)
def test_a_broken_answer_is_an_http_error(raw: bytes) -> None:
    with pytest.raises(http.client.HTTPException):
        answer(raw)


@pytest.mark.parametrize(
    "body",
    [
        b'[{"Id": "ab", "Names": ["/web"], "Size": 9223372036854775807}]',
        b'{"message": "caf\xc3\xa9"}',
        b'"\\ud800"',  # a lone surrogate: orjson refuses it, json.loads keeps it
        b"\xef\xbb\xbf{}",  # a UTF-8 byte order mark
        b'{"a": 1, "a": 2}',
    ],
    ids=["list", "utf-8", "lone surrogate", "bom", "duplicate key"],
)
def test_an_answer_reads_as_the_standard_parser_reads_it(body: bytes) -> None:
    assert decode_json(body) == json.loads(body)


def test_an_answer_with_nan_reads_as_the_standard_parser_reads_it() -> None:
    assert math.isnan(decode_json(b'{"x": NaN}')["x"])


@pytest.mark.parametrize("body", [b"", b"{", b"<html>", b"\xff"])
def test_an_answer_that_is_not_json_is_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        decode_json(body)


# ------------------------------------------------------------------ an engine's address


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("tcp://10.0.0.4:2376", EngineAddress("10.0.0.4", 2376, socket.AF_INET)),
        ("tcp://[fd00::4]:2376", EngineAddress("fd00::4", 2376, socket.AF_INET6)),
        ("tcp://node-4.contoso.test:2376", EngineAddress("node-4.contoso.test", 2376, 0)),
    ],
    ids=["ipv4", "ipv6", "host name"],
)
def test_an_endpoint_is_parsed_into_host_port_and_family(
    endpoint: str, expected: EngineAddress
) -> None:
    assert engine_address(endpoint) == expected


@pytest.mark.parametrize(
    "endpoint", ["tcp://10.0.0.4", "tcp://10.0.0.4:99999", "tcp://10.0.0.4:x", "tcp://:2376"]
)
def test_an_endpoint_without_a_host_and_port_is_a_cluster_error(endpoint: str) -> None:
    with pytest.raises(ClusterError, match="expected tcp://ADDRESS:PORT"):
        engine_address(endpoint)


@pytest.fixture
def no_name_lookups(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """The hosts socket.getaddrinfo is asked for while the test runs."""
    asked: list[object] = []
    getaddrinfo = socket.getaddrinfo

    def recording(host: object, *args: object, **kwargs: object) -> object:
        asked.append(host)
        return getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    yield asked


def _listener(family: int, host: str) -> socket.socket:
    try:
        server = socket.socket(family, socket.SOCK_STREAM)
        server.bind((host, 0))
    except OSError:
        pytest.skip(f"no {host} on this machine")
    server.listen()
    return server


@pytest.mark.parametrize(
    ("family", "host"), [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]
)
def test_an_ip_literal_is_connected_without_a_name_lookup(
    family: int, host: str, no_name_lookups: list[object]
) -> None:
    with _listener(family, host) as server:
        address = engine_address(
            f"tcp://{'[::1]' if ':' in host else host}:{server.getsockname()[1]}"
        )
        with open_socket(address, 2.5) as sock:
            assert sock.getpeername()[:2] == server.getsockname()[:2]
            assert sock.gettimeout() == 2.5
    assert no_name_lookups == []


def test_a_host_name_is_looked_up_and_connected(no_name_lookups: list[object]) -> None:
    with _listener(socket.AF_INET, "127.0.0.1") as server:
        address = engine_address(f"tcp://localhost:{server.getsockname()[1]}")
        try:
            sock = open_socket(address, 2.5)
        except OSError:
            pytest.skip("localhost does not resolve to 127.0.0.1 here")
        with sock:
            assert sock.getpeername()[1] == server.getsockname()[1]
    assert no_name_lookups[:1] == ["localhost"]


def test_a_refused_ip_literal_is_an_os_error() -> None:
    with _listener(socket.AF_INET, "127.0.0.1") as server:
        port = server.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        open_socket(engine_address(f"tcp://127.0.0.1:{port}"), 2.5)


# ------------------------------------------------------------------ an unchanged list


def _container(image_id: str) -> Container:
    return Container(id="a", name="web", image="contoso/web:1", image_id=image_id)


def _engine(*containers: Container, images: tuple[str, ...] = ("sha256:1",)) -> Engine:
    return Engine(
        "_N_0",
        "tcp://10.0.0.4:2376",
        containers=containers,
        images=tuple(Image(id=i) for i in images),
    )


@pytest.mark.parametrize(
    ("engine", "count", "stands"),
    [
        (_engine(_container("sha256:1")), 1, True),
        (_engine(), 0, True),
        (_engine(_container("sha256:1")), 2, False),  # one gone at its inspect
        (_engine(_container("sha256:2")), 1, False),  # an image not listed
        (_engine(_container("")), 1, True),
    ],
    ids=["whole", "empty", "container gone", "image unknown", "no image id"],
)
def test_a_list_stands_for_its_engine_only_when_the_engine_has_all_of_it(
    engine: Engine, count: int, stands: bool
) -> None:
    assert listed_digest(Listing(b"d", count), engine) == (b"d" if stands else None)
    assert listed_digest(None, engine) is None


def test_the_socket_timeout_is_a_timeval_on_posix_and_milliseconds_on_windows():
    assert struct.unpack("@ll", socket_timeout(2.5, windows=False)) == (2, 500_000)
    assert struct.unpack("@ll", socket_timeout(10, windows=False)) == (10, 0)
    assert struct.unpack("=I", socket_timeout(2.5, windows=True)) == (2500,)
    assert struct.unpack("=I", socket_timeout(0.0001, windows=True)) == (1,)  # never 0: no limit


class ScriptedConnection:
    """A TLSConnection stand-in that answers from a script: each connection opened gets the
    next list of raw answers, and records the targets of each write."""

    scripts: list[list[bytes]] = []
    opened: list[ScriptedConnection] = []

    def __init__(self, *args: object) -> None:
        self.writes: list[tuple[str, ...]] = []
        self.reader = io.BufferedReader(io.BytesIO(b"".join(self.scripts.pop(0))))
        self.sock = object()
        self.resumed = False
        self.opened.append(self)

    def request(self, method: str, *targets: str) -> None:
        self.writes.append(targets)

    def tls_session(self) -> None:
        return None

    def close(self) -> None:
        pass


def ok(body: str, close: bool = False) -> bytes:
    closing = b"Connection: close\r\n" if close else b""
    return HEAD + closing + f"Content-Length: {len(body)}\r\n\r\n{body}".encode()


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> type[ScriptedConnection]:
    monkeypatch.setattr(engines, "TLSConnection", ScriptedConnection)
    ScriptedConnection.scripts, ScriptedConnection.opened = [], []
    return ScriptedConnection


def sweep_api() -> engines.SweepApi:
    conn = engines.EngineConnection("tcp://10.0.0.4:2376")
    return engines.SweepApi(conn, None, None, engines.SweepStats())  # type: ignore[arg-type]


def test_pipelined_answers_are_read_in_turn_and_kept_until_asked_for(scripted):
    scripted.scripts = [[ok('{"a":1}'), ok('{"b":2}'), ok('{"c":3}'), ok('{"d":4}')]]
    api = sweep_api()
    api.prefetch("/a", "/b", "/c")
    assert api._get("/b") == {"b": 2}  # /a's answer is read first and kept
    assert api._get("/a") == {"a": 1}
    assert api._get("/d") == {"d": 4}  # asked for now: its answer comes after /c's
    assert api._get("/c") == {"c": 3}
    [conn] = scripted.opened
    assert conn.writes == [("/a", "/b", "/c"), ("/d",)]


def test_what_an_engine_closing_mid_pipeline_left_unanswered_is_asked_again(scripted):
    scripted.scripts = [[ok('{"a":1}', close=True)], [ok('{"b":2}'), ok('{"c":3}')]]
    api = sweep_api()
    api.prefetch("/a", "/b", "/c")
    assert api._get("/b") == {"b": 2}
    assert api._get("/a") == {"a": 1}
    assert api._get("/c") == {"c": 3}
    first, second = scripted.opened
    assert first.writes == [("/a", "/b", "/c")]
    assert second.writes == [("/b",), ("/c",)]
