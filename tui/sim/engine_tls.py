"""The engine server's TLS, on the OpenSSL that cryptography ships (through pyOpenSSL), not
the one the ssl module links.

Measured on `large` with the ssl module on OpenSSL 3.0: a resumed mutual-TLS handshake cost the
simulator about 1.6 ms of CPU, a full one 2.2-2.7 ms; on the OpenSSL 4 that cryptography
bundles, 0.7-1.0 ms and 1.6-1.7 ms. A warm snapshot of 1,000 engines cost the simulator
1.05-1.44 CPU-seconds against 1.8-2.1 s: the simulator is no longer the floor of the client's
figures. What the loop in tui.sim.docker_api sees is the ssl module's non-blocking surface
(SSLWantReadError, SSLWantWriteError, SSLError, OSError), so it does not care which OpenSSL
serves it.

As dockerd's Go does, it picks TLS 1.3's AES-128-GCM-SHA256 whatever the client prefers
(OpenSSL's clients ask for AES-256 first). One difference a client can see: OpenSSL sends two
TLS 1.3 session tickets after each handshake, where Go's crypto/tls sends one; a client
resumes with either.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

from OpenSSL import SSL

# The session id context OpenSSL requires of a server that resumes sessions with client
# certificates (any fixed value: it scopes sessions to this server).
SESSION_CONTEXT = b"sfpatch-sim-engine"


# Go's TLS 1.3 order on a CPU with AES instructions (crypto/tls, defaultCipherSuitesTLS13).
# OpenSSL's own puts AES-256 first, and its SHA-384 cost a resumed handshake ~20% more CPU on
# each side than AES-128's SHA-256 (measured on this build machine: 2,000 in memory).
GO_TLS13_SUITES = b"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"


class EngineTLS:
    """One engine address's server context: its own key and certificate, a client certificate
    signed by `ca` required, TLS 1.2 at least."""

    def __init__(self, pem: Path, ca: Path) -> None:
        context = SSL.Context(SSL.TLS_SERVER_METHOD)
        context.set_min_proto_version(SSL.TLS1_2_VERSION)
        context.use_certificate_chain_file(str(pem))
        context.use_privatekey_file(str(pem))
        context.check_privatekey()
        context.load_verify_locations(str(ca))
        context.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT)
        context.set_session_id(SESSION_CONTEXT)
        # As Go's crypto/tls (dockerd): its own cipher order, not the client's; and no alert
        # when a client closes without close_notify (OpenSSL would write one to the closed
        # socket, one write per connection for nothing).
        context.set_options(SSL.OP_CIPHER_SERVER_PREFERENCE | SSL.OP_IGNORE_UNEXPECTED_EOF)
        context.set_tls13_ciphersuites(GO_TLS13_SUITES)
        self._context = context

    def accept(self, sock: socket.socket) -> ServerTLS:
        """The server side of TLS on an accepted non-blocking socket, its handshake not begun."""
        return ServerTLS(self._context, sock)


class ServerTLS:
    """One accepted connection's TLS, non-blocking, with the ssl module's exceptions: a read or
    write that must wait raises SSLWantReadError or SSLWantWriteError, a refused handshake
    SSLError, a reset OSError; a closed connection reads as b""."""

    __slots__ = ("_tls",)

    def __init__(self, context: SSL.Context, sock: socket.socket) -> None:
        self._tls = SSL.Connection(context, sock)
        self._tls.set_accept_state()

    def do_handshake(self) -> None:
        try:
            self._tls.do_handshake()
        except SSL.WantReadError:
            raise ssl.SSLWantReadError("handshake: more bytes needed") from None
        except SSL.WantWriteError:
            raise ssl.SSLWantWriteError("handshake: the socket is full") from None
        except SSL.SysCallError as exc:
            raise ConnectionResetError(f"handshake: {exc}") from None
        except SSL.Error as exc:
            raise ssl.SSLError(f"handshake refused: {exc}") from None

    def recv(self, size: int) -> bytes:
        try:
            return self._tls.recv(size)
        except SSL.WantReadError:
            raise ssl.SSLWantReadError("nothing to read yet") from None
        except SSL.WantWriteError:
            raise ssl.SSLWantWriteError("read: the socket is full") from None
        except SSL.ZeroReturnError:
            # The client's close_notify, or (OP_IGNORE_UNEXPECTED_EOF) its end of stream
            # without one, as most HTTP clients close.
            return b""
        except SSL.SysCallError as exc:
            if exc.args and exc.args[0] == -1:
                return b""  # an end of stream reported as a system error (not seen since)
            raise ConnectionResetError(f"read: {exc}") from None
        except SSL.Error as exc:
            raise ConnectionResetError(f"read: {exc}") from None

    def send(self, data: bytes) -> int:
        try:
            return self._tls.send(data)
        except SSL.WantWriteError:
            raise ssl.SSLWantWriteError("the socket is full") from None
        except SSL.WantReadError:
            raise ssl.SSLWantReadError("write: more bytes needed") from None
        except SSL.Error as exc:
            raise ConnectionResetError(f"write: {exc}") from None
