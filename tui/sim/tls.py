"""Test PKI for the simulator: one CA, a server certificate for the gateway, ARM and control
listeners (localhost), one for each engine address (as each real node's dockerd has its own),
and a client certificate that the servers require (mutual TLS)."""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tui.sim.engine_tls import EngineTLS


@dataclass(frozen=True)
class TlsFiles:
    """Where the certificate files live; paths are absolute."""

    ca: Path
    server_pem: Path
    client_cert: Path
    client_key: Path
    client_pem: Path
    server_thumbprint: str  # SHA-1 of the server certificate, as Service Fabric pins it
    engines_dir: Path | None = None  # ADDRESS.pem: each engine address's key and certificate

    def server_context(self) -> ssl.SSLContext:
        """A server-side context that requires a client certificate signed by our CA."""
        return _server_context(self.server_pem, self.ca)

    def engine_context(self, address: str) -> EngineTLS:
        """The server-side TLS of the engine on `address`: its own certificate, small, so a
        handshake costs both sides what a real node's would."""
        pem = self.engines_dir / f"{address}.pem" if self.engines_dir else self.server_pem
        return EngineTLS(pem, self.ca)


def _server_context(pem: Path, ca: Path) -> ssl.SSLContext:
    # Not create_default_context: it also loads the system's CA store, which a server that
    # trusts only our CA does not need (and 1,000 engine contexts would pay for 1,000 times).
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(pem)
    context.load_verify_locations(ca)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def make_tls(directory: Path, addresses: list[str]) -> TlsFiles:
    """Create a fresh CA, server and client certificates under `directory`."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="sfpatch simulator")
    server = ca.issue_cert("localhost", "127.0.0.1")
    client = ca.issue_cert("sfpatch-admin.contoso.test", common_name="sfpatch-admin")
    files = TlsFiles(
        ca=directory / "ca.pem",
        server_pem=directory / "server.pem",
        client_cert=directory / "client-cert.pem",
        client_key=directory / "client-key.pem",
        client_pem=directory / "client.pem",
        server_thumbprint=_sha1(server.cert_chain_pems[0].bytes()),
        engines_dir=directory / "engines",
    )
    assert files.engines_dir is not None
    files.engines_dir.mkdir(exist_ok=True)
    for address in dict.fromkeys(addresses):
        pem = files.engines_dir / f"{address}.pem"
        ca.issue_cert(address).private_key_and_cert_chain_pem.write_to_path(str(pem))
        pem.chmod(0o600)
    ca.cert_pem.write_to_path(str(files.ca))
    server.private_key_and_cert_chain_pem.write_to_path(str(files.server_pem))
    client.cert_chain_pems[0].write_to_path(str(files.client_cert))
    client.private_key_pem.write_to_path(str(files.client_key))
    client.private_key_and_cert_chain_pem.write_to_path(str(files.client_pem))
    for path in (files.server_pem, files.client_key, files.client_pem):
        path.chmod(0o600)
    return files


def _sha1(pem: bytes) -> str:
    der = x509.load_pem_x509_certificate(pem).public_bytes(encoding=Encoding.DER)
    return hashlib.sha1(der).hexdigest().upper()
