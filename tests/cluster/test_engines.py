"""The engine sweep's HTTP answer reader, on answers as dockerd writes them."""

from __future__ import annotations

import http.client
import io
import json
import math

import pytest

from tui.cluster.engines import EngineResponse, decode_json, read_response


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
