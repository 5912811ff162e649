"""The gateway certificate probe: the server is checked, and the admin certificate never shown."""

from __future__ import annotations

import hashlib
import socket
import ssl
import threading
from pathlib import Path

import pytest

from tui.cluster.fabric import FabricConnection, server_certificate_sha256
from tui.errors import ClusterError
from tui.sim.tls import TlsFiles, make_tls


class OneHandshake:
    """A TLS server for one connection that asks for a client certificate but does not need one,
    and keeps what the client presented."""

    def __init__(self, tls: TlsFiles) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(tls.server_pem)
        self.context.load_verify_locations(tls.ca)
        self.context.verify_mode = ssl.CERT_OPTIONAL
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.presented: list[object] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        raw, _ = self.listener.accept()
        try:
            with raw, self.context.wrap_socket(raw, server_side=True) as tls:
                self.presented.append(tls.getpeercert())
                tls.recv(1)  # until the client closes
        except ssl.SSLError as exc:
            self.presented.append(exc.reason)  # the client broke the handshake off

    def close(self) -> None:
        self.thread.join(timeout=10)
        self.listener.close()


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    return make_tls(tmp_path / "tls", ["127.0.0.1"])


def test_the_probe_checks_the_server_and_presents_no_client_certificate(tls):
    server = OneHandshake(tls)
    conn = FabricConnection(
        f"https://127.0.0.1:{server.port}", client_pem=tls.client_pem, ca=tls.ca
    )
    fingerprint = server_certificate_sha256(conn)
    server.close()
    assert server.presented == [None]  # asked for, not given
    pem = tls.server_pem.read_text()
    first = pem[pem.index("-----BEGIN CERTIFICATE-----") :]
    der = ssl.PEM_cert_to_DER_cert(first[: first.index("-----END CERTIFICATE-----") + 25] + "\n")
    assert fingerprint == hashlib.sha256(der).hexdigest()


def test_the_probe_refuses_a_server_the_ca_did_not_sign(tls, tmp_path):
    other = make_tls(tmp_path / "other", ["127.0.0.1"])
    server = OneHandshake(other)
    conn = FabricConnection(
        f"https://127.0.0.1:{server.port}", client_pem=tls.client_pem, ca=tls.ca
    )
    with pytest.raises(ClusterError, match="not trusted"):
        server_certificate_sha256(conn)
    server.close()
    assert server.presented == ["TLSV1_ALERT_UNKNOWN_CA"]


@pytest.mark.parametrize("pinned_right", [True, False])
def test_a_pinned_gateway_is_checked_against_its_thumbprints(tls, pinned_right):
    server = OneHandshake(tls)
    pin = tls.server_thumbprint if pinned_right else "00" * 20
    conn = FabricConnection(
        f"https://127.0.0.1:{server.port}", client_pem=tls.client_pem, server_thumbprints=(pin,)
    )
    if pinned_right:
        assert len(server_certificate_sha256(conn)) == 64
    else:
        with pytest.raises(ClusterError, match="none of the pinned thumbprints"):
            server_certificate_sha256(conn)
    server.close()
    assert server.presented == [None]
