"""The sweep loop's connections against engines that misbehave on purpose: a scripted TLS
server on loopback (the simulator's engines answer every request; these do not)."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tui.cluster import engines, sweep_loop
from tui.cluster.engine_http import EngineResponse, answer_end
from tui.cluster.sweep_tls import TLSConnection, engine_address
from tui.errors import ReadOnlyError
from tui.sim.tls import TlsFiles, make_tls


def answer(body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return f"HTTP/1.1 200 OK\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


@dataclass
class Scripted:
    """A TLS server on 127.0.0.1 that reads until it has seen `wait_for` requests, writes
    `script`, then closes (or, `hold`, keeps the connection open and silent)."""

    tls: TlsFiles
    script: bytes = b""
    wait_for: int = 1
    hold: bool = False
    handshake: bool = True
    received: list[bytes] = field(default_factory=list)
    port: int = 0

    def endpoint(self, timeout: float = 5.0) -> engines.EngineConnection:
        """How a profile would name this engine."""
        tls = self.tls
        return engines.EngineConnection(
            f"tcp://127.0.0.1:{self.port}", tls.ca, tls.client_cert, tls.client_key, timeout
        )

    def connection(self, timeout: float = 5.0, read_only: bool = False) -> TLSConnection:
        conn = self.endpoint(timeout)
        context = engines.sweep_context(conn)
        return TLSConnection(engine_address(conn.endpoint), timeout, context, None, read_only)


@contextlib.contextmanager
def scripted(tmp_path: Path, **kwargs: object) -> Iterator[Scripted]:
    engine = Scripted(make_tls(tmp_path / "pki", ["127.0.0.1"]), **kwargs)  # type: ignore[arg-type]
    listener = socket.create_server(("127.0.0.1", 0))
    engine.port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        with contextlib.suppress(OSError):
            raw, _ = listener.accept()
            if not engine.handshake:
                stop.wait(10)
                raw.close()
                return
            with engine.tls.server_context().wrap_socket(raw, server_side=True) as tls:
                seen = b""
                while seen.count(b"\r\n\r\n") < engine.wait_for:
                    chunk = tls.recv(65536)
                    if not chunk:
                        break
                    seen += chunk
                engine.received.append(seen)
                tls.sendall(engine.script)
                if engine.hold:
                    stop.wait(10)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield engine
    finally:
        stop.set()
        listener.close()
        thread.join(5)


class Job:
    """Asks for `targets` at once, then nothing more; keeps what it ended with."""

    def __init__(self, connection: TLSConnection, *targets: str) -> None:
        self.connection = connection
        self.targets = targets
        self.ended: list[sweep_loop.Answered] = []

    def next(self, answers: Mapping[str, EngineResponse]) -> tuple[str, ...] | None:
        return () if answers else self.targets

    def finish(self, answered: sweep_loop.Answered) -> None:
        self.ended.append(answered)


A, B = "/v1.41/info", "/v1.41/images/json"


def test_pipelined_answers_are_all_read_and_the_session_kept(tmp_path):
    with scripted(tmp_path, script=answer(b'{"a":1}') + answer(b'{"b":2}'), wait_for=2) as e:
        job = Job(e.connection(), A, B)
        sweep_loop.run([job], 4)
    [ended] = job.ended
    assert ended.error is None and ended.session is not None
    assert {t: r.body for t, r in ended.answers.items()} == {A: b'{"a":1}', B: b'{"b":2}'}
    assert e.received[0].count(b"GET ") == 2  # both in one write, before any answer


def test_an_engine_that_closes_after_an_answer_ends_the_job_with_what_it_answered(tmp_path):
    script = answer(b"{}", "Connection: close")
    with scripted(tmp_path, script=script, wait_for=2, hold=True) as engine:
        job = Job(engine.connection(), A, B)
        sweep_loop.run([job], 4)
    [ended] = job.ended
    assert ended.error is None and list(ended.answers) == [A]  # B is for the caller to ask


def test_an_engine_that_closes_with_requests_unanswered_is_an_error(tmp_path):
    with scripted(tmp_path, script=answer(b"{}"), wait_for=2) as engine:
        job = Job(engine.connection(), A, B)
        sweep_loop.run([job], 4)
    [ended] = job.ended
    assert isinstance(ended.error, http.client.RemoteDisconnected)
    assert list(ended.answers) == [A]


def test_a_body_that_runs_to_the_end_of_the_connection_is_the_last_answer(tmp_path):
    with scripted(tmp_path, script=b"HTTP/1.1 200 OK\r\n\r\n[1, 2]") as engine:
        job = Job(engine.connection(), A)
        sweep_loop.run([job], 4)
    [ended] = job.ended
    assert ended.error is None and ended.answers[A].body == b"[1, 2]"


def test_a_chunked_answer_is_framed_across_its_chunks(tmp_path):
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunked = head + b"3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n"
    with scripted(tmp_path, script=chunked + answer(b"{}"), wait_for=2, hold=True) as engine:
        job = Job(engine.connection(), A, B)
        sweep_loop.run([job], 4)
    [ended] = job.ended
    assert ended.error is None
    assert (ended.answers[A].body, ended.answers[B].body) == (b"[1,2]", b"{}")


def test_an_answer_that_is_not_http_is_an_error(tmp_path):
    with scripted(tmp_path, script=b"SSH-2.0-OpenSSH\r\n\r\n", hold=True) as engine:
        job = Job(engine.connection(), A)
        sweep_loop.run([job], 4)
    [ended] = job.ended
    assert isinstance(ended.error, http.client.HTTPException) and ended.answers == {}


@pytest.mark.parametrize("handshake", [False, True], ids=["no-handshake", "no-answer"])
def test_an_engine_that_goes_quiet_times_out(tmp_path, handshake):
    with scripted(tmp_path, hold=True, handshake=handshake) as engine:
        job = Job(engine.connection(timeout=0.2), A)
        sweep_loop.run([job], 4)
    [ended] = job.ended
    assert isinstance(ended.error, TimeoutError)
    assert engines.describe_error(ended.error) == "timed out"


def test_a_refused_port_is_an_error_of_its_own_job_only(tmp_path):
    with scripted(tmp_path, script=answer(b"{}")) as engine:
        with socket.create_server(("127.0.0.1", 0)) as taken:
            closed_port = taken.getsockname()[1]
        good = Job(engine.connection(), A)
        refused = Job(engine.connection(), A)
        refused.connection.address = engine_address(f"tcp://127.0.0.1:{closed_port}")
        sweep_loop.run([refused, good], 4)
    assert isinstance(refused.ended[0].error, ConnectionRefusedError)
    assert good.ended[0].error is None and good.ended[0].answers[A].body == b"{}"


def test_read_only_refuses_a_request_before_it_connects(tmp_path):
    with scripted(tmp_path, script=answer(b"{}")) as engine:
        job = Job(engine.connection(read_only=True), "/v1.41/containers/abc/logs")
        sweep_loop.run([job], 4)
    [ended] = job.ended
    assert isinstance(ended.error, ReadOnlyError)
    assert engine.received == []  # not even connected to


def test_a_stop_ends_open_connections_and_leaves_the_rest_unstarted(tmp_path):
    stop = threading.Event()

    class Stopping(Job):
        def next(self, answers: Mapping[str, EngineResponse]) -> tuple[str, ...] | None:
            stop.set()  # the session ends as the first read starts
            return super().next(answers)

    with scripted(tmp_path, hold=True) as engine:
        first, second = Stopping(engine.connection(), A), Job(engine.connection(), A)
        sweep_loop.run([first, second], 1, stop=stop)
    assert isinstance(first.ended[0].error, sweep_loop.Abandoned)
    assert second.ended == []


def test_a_stop_set_before_the_sweep_starts_nothing(tmp_path):
    stop = threading.Event()
    stop.set()
    with scripted(tmp_path, script=answer(b"{}")) as engine:
        job = Job(engine.connection(), A)
        sweep_loop.run([job], 4, stop=stop)
    assert job.ended == [] and engine.received == []


# ------------------------------------------------------------------ framing


@pytest.mark.parametrize(
    ("received", "end"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 40),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{", None),
        (b"HTTP/1.1 200 OK\r\nContent-Len", None),
        (b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1", 27),
        (b"HTTP/1.1 200 OK\r\n\r\n[1", None),  # to the end of the connection
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", 58),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n", None),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX: y\r\n\r\n", 64),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 51),  # for the reader
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-7\r\n", 51),  # not hex
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x1\r\n", 52),
    ],
)
def test_answer_end_finds_where_a_complete_answer_ends(received, end):
    assert answer_end(received) == end


def test_answer_end_starts_where_it_is_told():
    two = answer(b"{}") + answer(b"[1]")
    first = answer_end(two)
    assert first == len(answer(b"{}"))
    assert answer_end(two, first) == len(two)


# ------------------------------------------------------------------ a node's read


def test_an_engine_answering_json_of_other_shapes_fails_its_read_alone(tmp_path):
    script = answer(b"null") + answer(b"[]") + answer(b"[]")
    with scripted(tmp_path, script=script, wait_for=3, hold=True) as engine:
        tls = engine.connection()
        conn = engine.endpoint()
        cache = engines.EngineCache()
        job = engines.NodeSweep(
            cache, "_Odd_0", "1", conn, engines.ImageCache(), {}, lambda _: None
        )
        assert job.connection.address == tls.address
        sweep_loop.run([job], 4)
    assert isinstance(job.result, engines.ClusterError)
    assert str(job.result).startswith("docker engine on _Odd_0: ")
    assert cache.last("_Odd_0") is None and len(cache) == 0


def test_a_single_nodes_read_fails_alike_on_json_of_other_shapes(tmp_path):
    script = answer(b"null") + answer(b"[]") + answer(b"[]")
    with scripted(tmp_path, script=script, wait_for=3, hold=True) as engine:
        conn = engine.endpoint()
        cache = engines.EngineCache()
        with pytest.raises(engines.ClusterError, match="^docker engine on _Odd_0: "):
            engines.read_node(cache, "_Odd_0", "1", conn)  # blocking, as after a patch
    assert cache.last("_Odd_0") is None and len(cache) == 0
