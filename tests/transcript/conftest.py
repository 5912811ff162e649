"""Fixtures: keys and realistic transcripts written by the real writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.transcript.keys import HmacKey
from tui.transcript.writer import SessionHeader, TranscriptWriter

NODES = ("_FrontEnd_0", "_FrontEnd_1", "_BackEnd_0")


@pytest.fixture
def hmac_key() -> HmacKey:
    return HmacKey(b"test-secret-0123456789abcdef")


def header(**overrides: object) -> SessionHeader:
    fields = dict(
        cluster="contoso-prod",
        endpoint="https://127.0.0.1:19080",
        server_cert_sha256="ab" * 32,
        ticket="CHG-1",
        mode="operate",
        operator="alice",
        host="jumpbox-1",
        session="0123456789abcdef0123456789abcdef",
        started="2025-01-14T09:30:00.000Z",
    )
    fields.update(overrides)
    return SessionHeader(**fields)  # type: ignore[arg-type]


def write_session(writer: TranscriptWriter, nodes: tuple[str, ...] = NODES) -> None:
    """A plausible patch session: a warning, then disable/patch/enable per node with gates."""
    writer.warning("container image ltsc2019 will not start on host 2022", rule="compat.host")
    for node in nodes:
        writer.confirm(f"disable {node}", node=node, typed=node)
        for action in ("disable", "patch", "enable"):
            op = writer.new_op()
            writer.intent(op, action, node=node, intent="Restart")
            writer.result(op, action != "patch" or node != "_BackEnd_0", node=node)
        writer.gate("cluster-healthy", node != "_FrontEnd_1", why="", node=node)
    writer.note("all nodes patched, one failure on _BackEnd_0 to follow up")


@pytest.fixture
def closed_transcript(tmp_path: Path, hmac_key: HmacKey) -> Path:
    """A closed, HMAC-signed transcript with checkpoints every 5 records."""
    writer = TranscriptWriter.create(header(), directory=tmp_path, key=hmac_key, checkpoint_every=5)
    write_session(writer)
    writer.close()
    return writer.path
