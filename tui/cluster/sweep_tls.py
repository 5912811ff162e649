"""The bulk sweep's TLS to each engine: pyOpenSSL, on the OpenSSL 4 that the cryptography wheel
bundles, rather than the ssl module on the system's OpenSSL 3.0.

Measured on this build machine, one connection at a time, a full mutual-TLS handshake and one
small request cost the client ~1.65 ms of CPU against 2.5-2.8 ms through the ssl module, and a
resumed one ~1.0 ms against ~1.2 ms: at 1,000 engines, most of a cold snapshot.

What the ssl module did for us is done here: the engine's chain is verified against the CA
(certifi's bundle when the profile names none: engines.sweep_context picks) during the
handshake, and in the same step its leaf certificate is checked against the endpoint's
address (an IP literal against the certificate's IP addresses, a host name against its DNS
names, by service_identity, as Go's crypto/tls and RFC 6125 match them: subjectAltName only).
A resumed handshake shows no certificate: its session came from a verified handshake with the
same endpoint, as its ticket did. Reads and writes time out through the socket's own
SO_RCVTIMEO and SO_SNDTIMEO, the socket staying blocking (OpenSSL reads it directly).
Failures are raised as kinds of the ssl module's exceptions (TLSFailure, an SSLError;
CertificateRefused and EngineNameMismatch, SSLCertVerificationErrors) or as OSError
(TimeoutError, ConnectionResetError), which the sweep's callers describe.
"""

from __future__ import annotations

import functools
import io
import ipaddress
import os
import socket
import ssl
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import service_identity
from cryptography import x509
from OpenSSL import SSL, crypto
from service_identity.cryptography import (
    verify_certificate_hostname,
    verify_certificate_ip_address,
)

from tui.cluster import readonly
from tui.errors import ClusterError

USER_AGENT = "sfpatch"


class TLSFailure(ssl.SSLError):
    """A TLS failure of the sweep's connection, its text OpenSSL's reasons (the ssl module's
    own SSLError would show its arguments' tuple)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "TLS failed"


class CertificateRefused(TLSFailure, ssl.SSLCertVerificationError):
    """The engine's certificate chain does not verify against the CA."""


class EngineNameMismatch(CertificateRefused):
    """The engine's certificate, signed by the CA, is for another address or name."""


@dataclass(frozen=True)
class EngineAddress:
    """Where an endpoint's engine listens: host, port, and the socket family of an IP
    literal host (0 for a host name)."""

    host: str
    port: int
    family: int = 0


@functools.lru_cache(maxsize=4096)
def engine_address(endpoint: str) -> EngineAddress:
    """A tcp://ADDRESS:PORT endpoint parsed (once: a sweep opens a thousand every refresh)."""
    address = urlsplit(endpoint.replace("tcp://", "https://", 1))
    try:
        host, port = address.hostname, address.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise ClusterError(f"docker engine {endpoint}: expected tcp://ADDRESS:PORT")
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        family = 0
    return EngineAddress(host, port, family)


def open_socket(address: EngineAddress, timeout: float) -> socket.socket:
    """A TCP connection to `address`; an IP literal is connected as it is, with no name
    look-up (getaddrinfo costs a sweep more than the rest of its connects)."""
    if not address.family:
        return socket.create_connection((address.host, address.port), timeout)
    sock = socket.socket(address.family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((address.host, address.port))
    except BaseException:
        sock.close()
        raise
    return sock


def sweep_context(ca: str, client_cert: str | None, client_key: str | None) -> SSL.Context:
    """The sweep's client context: the engine's CA bundle, the client
    certificate (its key in `client_key`, or in the certificate's file), TLS 1.2 at least, and
    every engine's leaf checked against the address it was reached at (`_check_engine`).
    A file that cannot be read or does not match raises ClusterError."""
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    try:
        context.load_verify_locations(ca)
        if client_cert:
            context.use_certificate_chain_file(client_cert)
            context.use_privatekey_file(client_key or client_cert)
            context.check_privatekey()
    except (OSError, SSL.Error) as exc:
        raise ClusterError(f"TLS files: {_reason(exc)}") from exc
    context.set_verify(SSL.VERIFY_PEER, _check_engine)
    return context


def _check_engine(
    tls: SSL.Connection, cert: crypto.X509, errno: int, depth: int, chain_ok: int
) -> bool:
    """OpenSSL's verify callback: the chain as OpenSSL judged it, and the leaf (depth 0) for
    the address the connection was opened to."""
    if not chain_ok or depth != 0:
        return bool(chain_ok)
    conn: TLSConnection = tls.get_app_data()
    conn.certificate_seen = True
    try:
        leaf = cert.to_cryptography()
        if conn.address.family:
            verify_certificate_ip_address(leaf, conn.address.host)
        else:
            verify_certificate_hostname(leaf, conn.address.host)
    except (service_identity.VerificationError, service_identity.CertificateError):
        conn.name_error = f"it is for {_names(leaf) or 'no address or host name'}"
        return False
    return True


def _names(cert: x509.Certificate) -> str:
    """The addresses and DNS names a certificate is for ('10.0.0.4, node-4.contoso.test')."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ""
    found = [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]
    return ", ".join(found + names.get_values_for_type(x509.DNSName))


def socket_timeout(seconds: float, windows: bool = os.name == "nt") -> bytes:
    """SO_RCVTIMEO's and SO_SNDTIMEO's value for `seconds`: a struct timeval (seconds and
    microseconds) on POSIX, a DWORD of milliseconds on Windows."""
    if windows:
        return struct.pack("=I", max(1, round(seconds * 1000)))
    whole = int(seconds)
    return struct.pack("@ll", whole, int((seconds - whole) * 1_000_000))


def _reason(exc: BaseException) -> str:
    """OpenSSL's reason texts of an SSL.Error ('certificate verify failed'), else str(exc)."""
    if isinstance(exc, SSL.Error) and exc.args and isinstance(exc.args[0], list):
        reasons = [str(entry[-1]) for entry in exc.args[0] if entry and entry[-1]]
        if reasons:
            return "; ".join(reasons)
    return str(exc) or type(exc).__name__


def failure(exc: BaseException, doing: str) -> OSError:
    """An SSL.Error as what the sweep's callers catch and describe (see engines.describe_error):
    a wait past the timeout as TimeoutError, a reset or a cut as ConnectionResetError."""
    if isinstance(exc, SSL.WantReadError | SSL.WantWriteError):
        return TimeoutError(f"{doing}: timed out")
    if isinstance(exc, SSL.SysCallError):
        return ConnectionResetError(f"{doing}: {exc.args[1] if len(exc.args) > 1 else exc}")
    reason = _reason(exc)
    if "certificate verify failed" in reason:
        return CertificateRefused(f"{doing}: {reason}")
    return TLSFailure(f"{doing}: {reason}")


def handshake_failure(conn: TLSConnection, exc: SSL.Error) -> OSError:
    """What a failed handshake of `conn` raises: EngineNameMismatch when the verify callback
    found the engine's certificate is for another address, else as `failure` says."""
    if conn.name_error:
        return EngineNameMismatch(
            f"the engine's certificate is not for {conn.address.host}: {conn.name_error}"
        )
    return failure(exc, "handshake")


class _Reader(io.RawIOBase):
    """A TLS connection's decrypted bytes as a raw stream, for a buffered reader; the end of
    the connection (close_notify, or a close without one) reads as b""."""

    def __init__(self, tls: SSL.Connection) -> None:
        super().__init__()
        self._tls = tls

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            return self._tls.recv_into(buffer)
        except SSL.ZeroReturnError:
            return 0
        except SSL.SysCallError as exc:
            if exc.args and exc.args[0] == -1:
                return 0  # closed without a close_notify, as dockerd may after its answer
            raise failure(exc, "read") from None
        except SSL.Error as exc:
            raise failure(exc, "read") from None


class TLSConnection:
    """One connection to an engine over TLS, offering the engine's last TLS session for
    resumption; requests are written whole and answers read from a buffered reader (see
    engines.read_response). `read_only`: any request but an allowed read is refused
    (ReadOnlyError) before a byte is sent, whoever asks for it."""

    def __init__(
        self,
        address: EngineAddress,
        timeout: float,
        context: SSL.Context,
        session: SSL.Session | None,
        read_only: bool = False,
    ) -> None:
        self.address = address
        self.timeout = timeout
        self._context = context
        self._session = session
        self.read_only = read_only
        self.certificate_seen = False  # set by the verify callback: a full handshake
        self.name_error = ""  # why the engine's certificate is not for `address`
        self.resumed = False
        self.sock: socket.socket | None = None
        self._tls: SSL.Connection | None = None
        self._file: io.BufferedReader | None = None
        host, port = address.host, address.port
        named = f"[{host}]" if address.family == socket.AF_INET6 else host
        rest = f" HTTP/1.1\r\nHost: {named}:{port}\r\nUser-Agent: {USER_AGENT}\r\n\r\n"
        self._rest = rest.encode("latin-1")  # every request's bytes after its target

    def connect(self) -> None:
        sock = open_socket(self.address, self.timeout)
        tls = None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(None)  # OpenSSL reads the socket itself: the kernel times it out
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, socket_timeout(self.timeout))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, socket_timeout(self.timeout))
            tls = self.new_tls(sock)
            try:
                tls.do_handshake()
            except SSL.Error as exc:
                raise handshake_failure(self, exc) from None
        except BaseException:
            if tls is not None:
                tls.set_app_data(None)
            sock.close()
            raise
        self.resumed = not self.certificate_seen
        self.sock, self._tls = sock, tls
        # A TLS record holds at most 16 KiB: a larger buffer is allocated at each read for
        # nothing.
        self._file = io.BufferedReader(_Reader(tls), 1 << 14)

    def new_tls(self, sock: socket.socket) -> SSL.Connection:
        """The client side of a TLS connection over `sock`, offering the kept session, its
        engine's certificate checked (by `_check_engine`) against `address`."""
        tls = SSL.Connection(self._context, sock)
        tls.set_app_data(self)
        if not self.address.family:
            tls.set_tlsext_host_name(self.address.host.encode("idna"))
        if self._session is not None:
            tls.set_session(self._session)
        tls.set_connect_state()
        return tls

    def attach(self, sock: socket.socket, tls: SSL.Connection) -> None:
        """Take `sock` and its `tls` (from `new_tls`, stepped by someone else: see
        tui.cluster.sweep_loop) as this connection's, for `tls_session` and `close`."""
        self.sock, self._tls = sock, tls

    def request(self, method: str, *targets: str) -> None:
        """Send a request without a body for each of `targets`, in one write (HTTP/1.1
        pipelining: the engine answers them in turn), connecting first if need be. In a
        read-only session, one refused request refuses them all before a byte is sent."""
        data = self.request_bytes(method, targets)
        if self._tls is None:
            self.connect()
        assert self._tls is not None
        try:
            self._tls.sendall(data)
        except SSL.Error as exc:
            raise failure(exc, "write") from None

    def request_bytes(self, method: str, targets: Iterable[str]) -> bytes:
        """The bytes of a request without a body for each of `targets`; in a read-only
        session, a request that is not an allowed read raises ReadOnlyError."""
        targets = tuple(targets)
        if self.read_only:
            for target in targets:
                readonly.refuse_unless_read(readonly.DOCKER, method, target)
        return b"".join(f"{method} {target}".encode("latin-1") + self._rest for target in targets)

    @property
    def reader(self) -> io.BufferedReader | None:
        """The answers' buffered reader (None before the first request)."""
        return self._file

    def close(self) -> None:
        tls, sock, self._tls, self.sock, self._file = self._tls, self.sock, None, None, None
        if tls is not None:
            # Closed without this mark, OpenSSL would take the session as cut short and
            # refuse to resume it.
            tls.set_shutdown(SSL.SENT_SHUTDOWN)
            tls.set_app_data(None)
        if sock is not None:
            sock.close()

    def tls_session(self) -> SSL.Session | None:
        """The session to offer next time: this connection's newest (OpenSSL 4 resumes a
        TLS 1.3 ticket once), else the one it was offered."""
        tls = self._tls
        session = tls.get_session() if tls is not None else None
        return session or self._session
