"""The engine server's TLS, on the OpenSSL that cryptography ships (through pyOpenSSL), not
the one the ssl module links.

Measured on `large` with the ssl module on OpenSSL 3.0: a resumed mutual-TLS handshake cost the
simulator about 1.6 ms of CPU, a full one 2.2-2.7 ms; on the OpenSSL 4 that cryptography
bundles, 0.7-1.0 ms and 1.6-1.7 ms. A warm snapshot of 1,000 engines cost the simulator
1.05-1.44 CPU-seconds against 1.8-2.1 s: the simulator is no longer the floor of the client's
figures. What the loop in tui.sim.docker_api sees is the ssl module's non-blocking surface
(SSLWantReadError, SSLWantWriteError, SSLError, OSError), so it does not care which OpenSSL
serves it.

One difference a client can see: OpenSSL sends two TLS 1.3 session tickets after each
handshake, where Go's crypto/tls (dockerd) sends one; a client resumes with either.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

from OpenSSL import SSL

# The session id context OpenSSL requires of a server that resumes sessions with client
# certificates (any fixed value: it scopes sessions to this server).
SESSION_CONTEXT = b"sfpatch-sim-engine"


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
            return b""  # the client's close_notify
        except SSL.SysCallError as exc:
            if exc.args and exc.args[0] == -1:
                return b""  # closed without a close_notify, as most HTTP clients do
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
