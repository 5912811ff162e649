"""Test PKI for the simulator: one CA, a server certificate for every loopback address the
simulator listens on, and a client certificate that the servers require (mutual TLS)."""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding


@dataclass(frozen=True)
class TlsFiles:
    """Where the certificate files live; paths are absolute."""

    ca: Path
    server_pem: Path
    client_cert: Path
    client_key: Path
    client_pem: Path
    server_thumbprint: str  # SHA-1 of the server certificate, as Service Fabric pins it

    def server_context(self) -> ssl.SSLContext:
        """A server-side context that requires a client certificate signed by our CA."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.server_pem)
        context.load_verify_locations(self.ca)
        context.verify_mode = ssl.CERT_REQUIRED
        return context


def make_tls(directory: Path, addresses: list[str]) -> TlsFiles:
    """Create a fresh CA, server and client certificates under `directory`."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="sfpatch simulator")
    server = ca.issue_cert("localhost", "127.0.0.1", *addresses)
    client = ca.issue_cert("sfpatch-admin.contoso.test", common_name="sfpatch-admin")
    files = TlsFiles(
        ca=directory / "ca.pem",
        server_pem=directory / "server.pem",
        client_cert=directory / "client-cert.pem",
        client_key=directory / "client-key.pem",
        client_pem=directory / "client.pem",
        server_thumbprint=_sha1(server.cert_chain_pems[0].bytes()),
    )
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
