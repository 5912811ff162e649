"""Each node's Docker engine over mutual TLS; reads return tui.model.Engine.

A full read of a node costs /info, the container list (state, image, and the exit code in
Status), the same list filtered by the isolation that is not the daemon's default (so each
container's isolation is known without an inspect), an inspect of each container that is not
running (only the inspect has State.Error), and one image list. Image inspects (for OsVersion)
are cached by image Id across nodes in an ImageCache: an Id is a content hash, so the same Id
has the same OsVersion everywhere, and 1,000 nodes running the same few images cost a few
image inspects in all.

The inventory's bulk sweep (`read_node`) sends these GETs through SweepApi, whole requests
over TLS (tui.cluster.sweep_tls) with a lean answer reader (`read_response`), rather than
the docker SDK: the SDK's requests/urllib3 stack costs about four times the CPU per request,
and http.client's header parsing about half of what is left; at 1,000 engines that is most of
a snapshot. Its request
targets are built once, each endpoint parsed once (an IP literal is connected without a name
look-up), and its answers parsed by orjson (`decode_json`). A node's reads share one
connection, closed after the read; what is kept across refreshes in an
EngineCache is each engine's TLS session (resumed at the next read, a cheaper handshake) and
each node's last read, never a socket per engine. While the Service Fabric node's InstanceId is
the same, the host has not rebooted (a reboot or patch restarts the node, which gives it a new
InstanceId), so /info is not asked again and only the container list is: a container is
inspected again only when it is stopped and new or the list shows it changed, the filtered list
is read again only for a container id it has not seen (isolation is fixed at create), and the
image list is read again only when a container uses an image Id it does not have. A container
list byte-identical to the one the last read was made from (its digest is kept, not the list)
gives back the last Engine itself, so that what is drawn or judged from it is seen unchanged. The
durations in the list's Status texts are left out of that comparison ('Up 3 hours' becoming
'Up 4 hours', 'Exited (1) 2 minutes ago' becoming '3 minutes ago'): on a live cluster they move
between two reads of an engine where nothing else did, and each would make a new Engine, judged
and drawn again. A kept container's status text is the one of the read that built it.

Everything else (`build_client`, `fetch_engine`) uses the docker SDK. Its API version is
pinned, so building a client makes no request, and REQUESTS_CA_BUNDLE (which requests would
merge over the TLS config's CA) is switched off before the first call.
"""

from __future__ import annotations

import collections
import functools
import http.client
import json
import re
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode

import docker
import requests
from docker.errors import APIError, DockerException, NotFound
from OpenSSL import SSL
from urllib3.util.ssl_ import create_urllib3_context

from tui.cluster import readonly, sweep_tls
from tui.cluster.answers import decode_json, digest
from tui.cluster.sweep_tls import TLSConnection, engine_address
from tui.errors import ClusterError, UsageError
from tui.model import Container, Engine, Image
from tui.winver import parse_version, revision_from_operating_system

# Engine 20.10 (the oldest on Windows Server "with Containers" images still seen) serves 1.41;
# it is also the first API version whose /info has OSVersion.
API_VERSION = "1.41"
ENGINE_TIMEOUT = 10.0  # seconds per call (connect and each read)


@dataclass(frozen=True)
class EngineConnection:
    """How to reach and trust one node's engine."""

    endpoint: str  # tcp://ADDRESS:PORT
    ca: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    timeout: float = ENGINE_TIMEOUT


def endpoint_for(template: str, address: str) -> str:
    """A profile's endpoint template ('tcp://{address}:2376') filled in for one node."""
    return template.format(address=address)


class ImageCache:
    """Image inspect facts by image Id, shared by the reads of many engines (thread-safe):
    each Id is inspected once, however many engines list it at the same time. And the Image
    values built from them: equal images on many engines are one object (a thousand nodes
    list the same few images: ten thousand objects less to keep and to walk in a collection)."""

    def __init__(self) -> None:
        self._facts: dict[str, dict[str, Any]] = {}
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._images: dict[Image, Image] = {}

    def shared(self, image: Image) -> Image:
        """The Image equal to `image` that this cache handed out first (`image` if none)."""
        with self._lock:
            return self._images.setdefault(image, image)

    def get(self, image_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._facts.get(image_id)

    def put(self, image_id: str, facts: dict[str, Any]) -> None:
        with self._lock:
            self._facts[image_id] = facts

    def load(self, image_id: str, inspect: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        """The cached facts of `image_id`, or `inspect(image_id)` run once and kept; another
        thread asking for the same Id meanwhile waits for that one call."""
        with self._lock:
            found = self._facts.get(image_id)
            if found is not None:
                return found
            loading = self._loading.setdefault(image_id, threading.Lock())
        with loading:
            found = self.get(image_id)
            if found is None:
                found = inspect(image_id)
                self.put(image_id, found)
        with self._lock:
            self._loading.pop(image_id, None)
        return found

    def __len__(self) -> int:
        with self._lock:
            return len(self._facts)


@dataclass(frozen=True)
class LastRead:
    """A node's last successful engine read, the node instance it was made under, and the
    digest of the container list it was read from (None: the list alone does not stand for it,
    as when a listed container was gone at its inspect)."""

    instance_id: str
    engine: Engine
    listed: bytes | None = None


@dataclass(frozen=True)
class Listing:
    """What a read keeps of the full container list it got: the answer's digest, and how many
    containers it names."""

    digest: bytes
    count: int


class EngineCache:
    """What the bulk sweep keeps across refreshes: each engine's TLS session (never its
    socket), one client TLS context per set of TLS files, and each node's last read.

    Thread-safe; a node is read by one thread at a time. `read_only`: the connections it
    opens refuse, before sending, any request but the reads in tui/cluster/readonly.py."""

    def __init__(self, read_only: bool = False) -> None:
        self.read_only = read_only
        self._sessions: dict[str, SSL.Session] = {}
        self._contexts: dict[tuple[Path | None, ...], SSL.Context] = {}
        self._reads: dict[str, LastRead] = {}
        self._lock = threading.Lock()
        self.stats = SweepStats()

    def open(self, conn: EngineConnection) -> SweepApi:
        """A SweepApi for `conn.endpoint` that resumes the endpoint's kept TLS session; give it
        back with `keep` once the read is done."""
        files = (conn.ca, conn.client_cert, conn.client_key)
        with self._lock:
            context = self._contexts.get(files)
        if context is None:
            context = sweep_context(conn)
            with self._lock:
                context = self._contexts.setdefault(files, context)
        with self._lock:
            session = self._sessions.get(conn.endpoint)
        return SweepApi(conn, context, session, self.stats, self.read_only)

    def keep(self, api: SweepApi) -> None:
        """Close `api`'s connection and keep its TLS session for the endpoint's next read."""
        session = api.close()
        if session is not None:
            with self._lock:
                self._sessions[api.endpoint] = session

    def last(self, node_name: str) -> LastRead | None:
        with self._lock:
            return self._reads.get(node_name)

    def remember(self, node_name: str, read: LastRead) -> None:
        with self._lock:
            self._reads[node_name] = read

    def discard(self, node_name: str, endpoint: str) -> None:
        """After a failed read: forget the endpoint's TLS session and the node's last read."""
        with self._lock:
            self._sessions.pop(endpoint, None)
            self._reads.pop(node_name, None)

    def close(self) -> None:
        """Forget every session and read; the cache can still be used, and starts afresh."""
        with self._lock:
            self._sessions.clear()
            self._contexts.clear()
            self._reads.clear()

    def __len__(self) -> int:
        """How many engines have a kept TLS session."""
        with self._lock:
            return len(self._sessions)


@dataclass
class SweepStats:
    """Counts of the bulk sweep's work (thread-safe), for `make bench` and tests."""

    requests: int = 0
    handshakes: int = 0
    resumed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, requests: int = 0, handshakes: int = 0, resumed: int = 0) -> None:
        with self.lock:
            self.requests += requests
            self.handshakes += handshakes
            self.resumed += resumed


# ------------------------------------------------------------------ the bulk sweep's wire


class EngineHTTPError(Exception):
    """An Engine API answer that is not 2xx, with the daemon's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class EngineNotFound(EngineHTTPError):
    """404: no such container or image (removed between the list and the inspect)."""


MAX_LINE = 65536  # bytes in a status or header line, as http.client allows
MAX_HEADERS = 100


@dataclass(frozen=True)
class EngineResponse:
    """One HTTP answer of an engine: status, body, and whether the engine closes after it."""

    status: int
    body: bytes
    will_close: bool


def read_response(fp: BinaryIO) -> EngineResponse:
    """An HTTP/1.1 answer to a GET from a buffered reader: a body by Content-Length, chunked
    (as dockerd sends a large one), or up to the end of the connection. A malformed or cut-off
    answer raises http.client.HTTPException."""
    line = fp.readline(MAX_LINE + 1)
    if not line:
        raise http.client.RemoteDisconnected("the engine closed the connection without an answer")
    version, _, rest = line.partition(b" ")
    code = rest[:3]
    if not version.startswith(b"HTTP/1.") or not code.isdigit() or len(line) > MAX_LINE:
        raise http.client.BadStatusLine(line.decode("latin-1").strip()[:200])
    headers: dict[bytes, bytes] = {}
    while True:
        line = fp.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):
            break
        if not line or len(line) > MAX_LINE or len(headers) >= MAX_HEADERS:
            raise http.client.IncompleteRead(b"", None)
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    status = int(code)
    connection = headers.get(b"connection", b"").lower()
    will_close = b"close" in connection or (
        version == b"HTTP/1.0" and b"keep-alive" not in connection
    )
    if status < 200 or status in (204, 304):
        return EngineResponse(status, b"", will_close)
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        return EngineResponse(status, _read_chunked(fp), will_close)
    length = headers.get(b"content-length")
    if length is None:
        return EngineResponse(status, fp.read(), True)
    if not length.isdigit():
        raise http.client.HTTPException(f"bad Content-Length {length[:20]!r}")
    body = fp.read(int(length))
    if len(body) < int(length):
        raise http.client.IncompleteRead(body, int(length) - len(body))
    return EngineResponse(status, body, will_close)


def _read_chunked(fp: BinaryIO) -> bytes:
    parts = []
    while True:
        line = fp.readline(MAX_LINE + 1)
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise http.client.IncompleteRead(b"".join(parts)) from None
        if size == 0:
            break
        chunk = fp.read(size)
        if len(chunk) < size or fp.readline(MAX_LINE + 1) not in (b"\r\n", b"\n"):
            raise http.client.IncompleteRead(b"".join(parts) + chunk)
        parts.append(chunk)
    while fp.readline(MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
        pass  # trailers
    return b"".join(parts)


class SweepApi:
    """The Engine API reads of the bulk sweep, named as the docker SDK's low-level APIClient
    names them: one connection for all of a node's reads, then closed."""

    def __init__(
        self,
        conn: EngineConnection,
        context: SSL.Context,
        session: SSL.Session | None,
        stats: SweepStats,
        read_only: bool = False,
    ) -> None:
        self.endpoint = conn.endpoint
        self._address = engine_address(conn.endpoint)
        self._timeout = conn.timeout
        self._context = context
        self._session = session
        self._stats = stats
        self._read_only = read_only
        self._conn: TLSConnection | None = None
        self._sent: collections.deque[str] = collections.deque()  # answers not read yet
        self._early: dict[str, EngineResponse] = {}  # answers read before they were asked for
        self.listed: Listing | None = None  # the last full container list (all=1) it read

    def info(self) -> dict[str, Any]:
        return self._get(INFO_TARGET)

    def containers(
        self, all: bool = False, filters: Mapping[str, list[str] | str] | None = None
    ) -> list[dict[str, Any]]:
        wanted = None
        if filters:
            wanted = json.dumps(
                {k: [v] if isinstance(v, str) else list(v) for k, v in filters.items()},
                separators=(",", ":"),
            )
        body = self._answer(containers_target(all, wanted))
        found = decode_json(body)
        if all and wanted is None:
            self.listed = Listing(listing_digest(body), len(found))
        return found

    def images(self) -> list[dict[str, Any]]:
        return self._get(IMAGES_TARGET)

    def inspect_container(self, ident: str) -> dict[str, Any]:
        return self._get(f"{PREFIX}/containers/{_quoted(ident, '')}/json")

    def inspect_image(self, ident: str) -> dict[str, Any]:
        return self._get(f"{PREFIX}/images/{_quoted(ident, '/:')}/json")

    def connection(self) -> TLSConnection:
        """The connection this read uses (opened at its first request)."""
        if self._conn is None:
            self._conn = TLSConnection(
                self._address,
                self._timeout,
                self._context,
                self._session,
                self._read_only,
            )
        return self._conn

    def prefetch(self, *targets: str) -> None:
        """Ask for the GETs of `targets` now, in one write, before the read asks for each:
        one round trip for them all, not one each (a full read's first three requests,
        measured: 14-18% less CPU on both sides). Their answers are read when asked for."""
        self._send(targets)

    def close(self) -> SSL.Session | None:
        """Close the connection; returns the TLS session to resume next time (or None)."""
        conn, self._conn = self._conn, None
        self._sent.clear()
        self._early.clear()
        if conn is None:
            return self._session
        session = conn.tls_session()
        conn.close()
        return session

    def _get(self, target: str) -> Any:
        return decode_json(self._answer(target))

    def _answer(self, target: str) -> bytes:
        """The body of a 2xx answer to GET `target` (asked for now, unless it was already);
        any other status raises EngineHTTPError."""
        if target not in self._early and target not in self._sent:
            self._send((target,))
        response = self._early.pop(target, None) or self._receive(target)
        if response.status >= 300:
            raise _http_error(response.status, response.body)
        return response.body

    def _send(self, targets: Iterable[str]) -> None:
        targets = tuple(targets)
        conn = self.connection()
        fresh = conn.sock is None
        try:
            conn.request("GET", *targets)
        except BaseException:
            self._drop(conn)
            raise
        finally:
            if fresh and conn.sock is not None:
                self._stats.count(handshakes=1, resumed=int(conn.resumed))
            self._stats.count(requests=len(targets))
        self._sent.extend(targets)

    def _receive(self, target: str) -> EngineResponse:
        """The answer to `target`, reading (and keeping) the answers sent before it first: an
        engine answers pipelined requests in the order they came."""
        while True:
            conn = self.connection()
            sent = self._sent.popleft()
            try:
                assert conn.reader is not None
                response = read_response(conn.reader)
            except BaseException:
                self._drop(conn)
                raise
            if response.will_close:
                # The engine closes after this answer: what was sent after it is not answered
                # there, and is asked again on a new connection when it is asked for.
                self._session = conn.tls_session()
                self._drop(conn)
            if sent == target:
                return response
            self._early[sent] = response
            if response.will_close:
                self._send((target,))

    def _drop(self, conn: TLSConnection) -> None:
        self._conn = None
        self._sent.clear()
        conn.close()


PREFIX = f"/v{API_VERSION}"
INFO_TARGET = f"{PREFIX}/info"
IMAGES_TARGET = f"{PREFIX}/images/json"


@functools.lru_cache(maxsize=16)
def containers_target(all: bool, filters: str | None = None) -> str:
    """The container list's request target; `filters` is the JSON of the filters query."""
    query = {"all": "1" if all else "0"}
    if filters:
        query["filters"] = filters
    return f"{PREFIX}/containers/json?{urlencode(query)}"


def _quoted(ident: str, safe: str) -> str:
    # An engine id is hex (an image's after 'sha256:', where ':' is safe): nothing in it to
    # quote, and the check costs less than quote's.
    plain = ident.removeprefix("sha256:") if ":" in safe else ident
    return ident if plain.isascii() and plain.isalnum() else quote(ident, safe)


def _http_error(status: int, body: bytes) -> EngineHTTPError:
    try:
        message = str(decode_json(body).get("message") or "")
    except (ValueError, AttributeError):
        message = body[:200].decode("utf-8", "replace")
    return (EngineNotFound if status == 404 else EngineHTTPError)(status, message)


def sweep_context(conn: EngineConnection) -> SSL.Context:
    """The sweep's client TLS context for `conn`'s CA and client certificate."""
    try:
        return sweep_tls.sweep_context(
            str(conn.ca) if conn.ca else requests.certs.where(),
            str(conn.client_cert) if conn.client_cert else None,
            str(conn.client_key) if conn.client_key else None,
        )
    except ClusterError as exc:
        raise ClusterError(f"docker engine {conn.endpoint}: {exc}") from exc


# ------------------------------------------------------------------ the docker SDK


def build_client(
    conn: EngineConnection, context: ssl.SSLContext | None = None, read_only: bool = False
) -> docker.DockerClient:
    """A DockerClient over TLS that verifies the engine with `ca` and presents the client cert.

    Its connections use `context` (from `tls_context`; one can serve many clients), so the CA
    and the key are not loaded again for each connection as requests would. `read_only`: its
    adapters (http too) send only the reads in tui/cluster/readonly.py."""
    cert = (str(conn.client_cert), str(conn.client_key)) if conn.client_cert else None
    try:
        tls = docker.tls.TLSConfig(
            client_cert=cert, ca_cert=str(conn.ca) if conn.ca else None, verify=True
        )
        client = docker.DockerClient(
            base_url=conn.endpoint, tls=tls, version=API_VERSION, timeout=conn.timeout
        )
    except DockerException as exc:
        raise ClusterError(f"docker engine {conn.endpoint}: {describe_error(exc)}") from exc
    api = client.api
    api.trust_env = False
    if read_only:
        readonly.mount_read_only(api, readonly.DOCKER, ssl_context=context or tls_context(conn))
    else:
        api.mount("https://", _ContextAdapter(context or tls_context(conn)))
    # The context holds the CA and the client certificate: a path here would have urllib3
    # load it into the context again at every connection.
    api.verify, api.cert = True, None
    return client


def tls_context(conn: EngineConnection) -> ssl.SSLContext:
    """The engine's CA (certifi's bundle without one) and the client certificate, loaded once."""
    context = create_urllib3_context()
    try:
        context.load_verify_locations(cafile=str(conn.ca) if conn.ca else requests.certs.where())
        if conn.client_cert:
            key = str(conn.client_key) if conn.client_key else None
            context.load_cert_chain(str(conn.client_cert), key)
    except (OSError, ssl.SSLError) as exc:
        raise ClusterError(f"docker engine {conn.endpoint}: TLS files: {exc}") from exc
    return context


class _ContextAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter with every connection on one given SSLContext."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, ssl_context=self._context, **kwargs)


def describe_error(exc: BaseException) -> str:
    """One line for an SDK or transport failure."""
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS failed (check the engine CA and the client certificate)"
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.ConnectionError):
        # Under TLS 1.3 a rejected client certificate shows up after the handshake, as a
        # closed or reset connection: it cannot be told apart from a down engine.
        return (
            "not answering (connection refused, reset or closed: engine down, or client "
            "certificate not accepted)"
        )
    if isinstance(exc, APIError):
        return f"HTTP {exc.status_code}: {exc.explanation or exc}"
    if isinstance(exc, EngineHTTPError):
        return str(exc)
    if isinstance(exc, sweep_tls.EngineNameMismatch):
        return f"TLS failed ({exc})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "TLS failed (check the engine CA and the client certificate)"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionError | ssl.SSLEOFError | http.client.HTTPException):
        return (
            "not answering (connection refused, reset or closed: engine down, or client "
            "certificate not accepted)"
        )
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({getattr(exc, 'reason', None) or exc})"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def read_failed(node_name: str, exc: BaseException) -> ClusterError:
    """What a failed read of a node's engine raises: one line, naming the node."""
    return ClusterError(f"docker engine on {node_name}: {describe_error(exc)}")


def fetch_engine(
    node_name: str, conn: EngineConnection, image_cache: ImageCache | None = None
) -> Engine:
    """Connect, read one node's engine, and close; failures raise ClusterError."""
    client = build_client(conn)
    try:
        return read_engine(client.api, node_name, conn.endpoint, image_cache)
    finally:
        client.close()


def read_node(
    cache: EngineCache,
    node_name: str,
    instance_id: str,
    conn: EngineConnection,
    image_cache: ImageCache | None = None,
) -> Engine:
    """One node's engine over one connection (resuming its kept TLS session): a full read, or
    a refresh of the last one while the node instance is the same (see `reusable`); the engine
    names that instance. A failure raises ClusterError and drops the session and the last read,
    so the next read starts afresh."""
    api = cache.open(conn)
    last = cache.last(node_name)
    try:
        if last is not None and reusable(last, instance_id, conn.endpoint):
            engine = refresh_engine(api, last, image_cache)
        else:
            previous = last.engine if last is not None else None
            try:
                api.prefetch(INFO_TARGET, containers_target(True), IMAGES_TARGET)
            except READ_ERRORS as exc:
                raise read_failed(node_name, exc) from exc
            engine = read_engine(api, node_name, conn.endpoint, image_cache, previous)
    except ClusterError:
        api.close()
        cache.discard(node_name, conn.endpoint)
        raise
    cache.keep(api)
    if last is not None and engine is last.engine:
        return engine  # the list it was read from, again: the last read stands
    if engine.node_instance_id != instance_id:  # a refresh keeps the instance it was read under
        engine = replace(engine, node_instance_id=instance_id)
    cache.remember(node_name, LastRead(instance_id, engine, listed_digest(api.listed, engine)))
    return engine


# The duration docker's Status text gives (go-units HumanDuration: 'Less than a second',
# '1 second', '5 minutes', 'About an hour', '3 days'...) after 'Up', 'Exited (N)' or
# 'Restarting (N)'; what follows it (' ago', ' (healthy)', ' (Paused)') is kept.
_STATUS_DURATION = re.compile(
    rb'("Status"\s*:\s*"(?:Up|Exited \(-?\d+\)|Restarting \(-?\d+\)) )'
    rb"(?:Less than a second|About an? (?:minute|hour)"
    rb"|\d+ (?:second|minute|hour|day|week|month|year)s?)"
)


def listing_digest(body: bytes) -> bytes:
    """The digest of a container list with the durations of its Status texts left out: two
    lists that differ only in how long ago each container started or exited are the same."""
    return digest(_STATUS_DURATION.sub(rb"\1", body))


def listed_digest(listing: Listing | None, engine: Engine) -> bytes | None:
    """The digest of the list `engine` was read from, if that list stands for it: it has each
    listed container and the image of each (else the next read tries for the rest again)."""
    if listing is None or len(engine.containers) != listing.count:
        return None
    images = {image.id for image in engine.images}
    if any(c.image_id and c.image_id not in images for c in engine.containers):
        return None
    return listing.digest


def reusable(last: LastRead, instance_id: str, endpoint: str) -> bool:
    """Whether a node's last read can stand for its host facts: same node instance (a host
    reboot restarts the node, which changes its InstanceId) and same endpoint."""
    same_instance = bool(instance_id) and last.instance_id == instance_id
    return same_instance and last.engine.endpoint == endpoint


def containers_to_inspect(
    cached: Mapping[str, Container], summaries: Iterable[Mapping[str, Any]]
) -> list[str]:
    """Ids in a container list that need an inspect: those not running (only the inspect has
    State.Error), unless the cached inspect saw the same State and exit code (in Status)."""
    wanted = []
    for summary in summaries:
        state = summary.get("State") or ""
        if state == "running":
            continue
        known = cached.get(summary["Id"])
        if (
            known is None
            or known.state != state
            or listed_exit_code(summary) not in (None, known.exit_code)
        ):
            wanted.append(summary["Id"])
    return wanted


def other_isolation(default_isolation: str) -> str:
    """The isolation a container list is filtered by: the one that is not the daemon's default
    (a container created without --isolation is listed under neither filter)."""
    return "process" if default_isolation == "hyperv" else "hyperv"


def image_list_stale(images: Iterable[Image], summaries: Iterable[Mapping[str, Any]]) -> bool:
    """Whether a container list names an image Id the cached image list lacks."""
    known = {image.id for image in images}
    return any(s.get("ImageID") and s["ImageID"] not in known for s in summaries)


def listed_exit_code(summary: Mapping[str, Any]) -> int | None:
    """The exit code in a container list's Status ('Exited (3221684481) 2 minutes ago')."""
    status = summary.get("Status") or ""
    if not status.startswith("Exited ("):
        return None
    code = status[len("Exited (") :].partition(")")[0]
    return int(code) if code.lstrip("-").isdigit() else None


def listed_name(summary: Mapping[str, Any]) -> str:
    names = summary.get("Names") or ()
    return names[0].lstrip("/") if names else ""


def read_engine(
    api: Any,
    node_name: str,
    endpoint: str,
    image_cache: ImageCache | None = None,
    previous: Engine | None = None,
) -> Engine:
    """The host version (with revision), containers and images of one engine. The containers
    of `previous` (an earlier read of the same engine) give what cannot have changed. `api` is
    a SweepApi or the docker SDK's APIClient."""
    try:
        info = api.info()
        default_isolation = (info.get("Isolation") or "process").lower()
        cached = {c.id: c for c in previous.containers} if previous else {}
        containers = _containers(api, api.containers(all=True), default_isolation, cached)
        cache = image_cache if image_cache is not None else ImageCache()
        images = tuple(_image(api, summary, cache) for summary in api.images())
    except READ_ERRORS as exc:
        raise read_failed(node_name, exc) from exc
    return Engine(
        node_name=node_name,
        endpoint=endpoint,
        os_version=host_version(info),
        operating_system=info.get("OperatingSystem") or "",
        kernel_version=info.get("KernelVersion") or "",
        isolation=default_isolation,
        server_version=info.get("ServerVersion") or "",
        containers=containers,
        images=images,
    )


def refresh_engine(api: SweepApi, read: LastRead, image_cache: ImageCache | None = None) -> Engine:
    """The engine of `read` brought up to date from the container list alone, plus what
    `_containers` needs for new or stopped containers and an image list only for an unknown
    image Id; the host facts are kept. A list byte-identical to the one `read` was made from
    gives back that very engine."""
    last = read.engine
    try:
        summaries = api.containers(all=True)
        if read.listed is not None and api.listed and api.listed.digest == read.listed:
            return last
        cached = {c.id: c for c in last.containers}
        containers = _containers(api, summaries, last.isolation, cached)
        images = last.images
        if image_list_stale(images, summaries):
            cache = image_cache if image_cache is not None else ImageCache()
            images = tuple(_image(api, summary, cache) for summary in api.images())
    except READ_ERRORS as exc:
        raise read_failed(last.node_name, exc) from exc
    return replace(last, containers=containers, images=images)


READ_ERRORS = (
    DockerException,
    requests.RequestException,
    EngineHTTPError,
    OSError,
    http.client.HTTPException,
    ValueError,  # a body that is not JSON
)


def host_version(info: dict[str, Any]) -> str:
    """'10.0.17763.6054' from /info: the revision comes from OperatingSystem's 'OS Build'."""
    try:
        base = parse_version(info.get("OSVersion") or "")
    except UsageError:
        return ""
    return str(revision_from_operating_system(info.get("OperatingSystem") or "", base))


def _containers(
    api: Any,
    summaries: list[dict[str, Any]],
    default_isolation: str,
    cached: Mapping[str, Container],
) -> tuple[Container, ...]:
    """The listed containers, from the list itself: a container's isolation is fixed when it
    is created, so it is kept from `cached` or, for new ids, read from one list filtered by
    the other isolation; a container not running is inspected for its error and exit code
    when `containers_to_inspect` says so."""
    isolation = {ident: c.isolation for ident, c in cached.items()}
    if any(s["Id"] not in isolation for s in summaries):
        other = other_isolation(default_isolation)
        listed = api.containers(all=True, filters={"isolation": other})
        for summary in summaries:
            isolation.setdefault(summary["Id"], default_isolation)
        isolation.update((s["Id"], other) for s in listed)
    inspect = set(containers_to_inspect(cached, summaries))
    found = []
    for summary in summaries:
        ident = summary["Id"]
        if ident in inspect:
            container = _container(api, summary, default_isolation)
        else:
            container = listed_container(summary, isolation[ident], cached.get(ident))
        if container is not None:
            found.append(container)
    return tuple(found)


def listed_container(
    summary: Mapping[str, Any], isolation: str, known: Container | None = None
) -> Container:
    """A container from its list entry; a stopped one keeps the exit code and error of the
    inspect in `known` (the caller checked its State and exit code did not change)."""
    running = (summary.get("State") or "") == "running"
    return Container(
        id=summary["Id"],
        name=listed_name(summary),
        image=summary.get("Image") or "",
        image_id=summary.get("ImageID") or "",
        isolation=isolation,
        state=summary.get("State") or "",
        status=summary.get("Status") or "",
        exit_code=0 if running or known is None else known.exit_code,
        error="" if running or known is None else known.error,
    )


def _container(api: Any, summary: dict[str, Any], default_isolation: str) -> Container | None:
    try:
        attrs = api.inspect_container(summary["Id"])
    except (NotFound, EngineNotFound):
        return None  # removed between the list and the inspect
    state = attrs.get("State") or {}
    isolation = ((attrs.get("HostConfig") or {}).get("Isolation") or "").lower()
    return Container(
        id=attrs["Id"],
        name=(attrs.get("Name") or "").lstrip("/"),
        image=(attrs.get("Config") or {}).get("Image") or summary.get("Image") or "",
        image_id=attrs.get("Image") or "",
        isolation=default_isolation if isolation in ("", "default") else isolation,
        state=state.get("Status") or "",
        status=summary.get("Status") or "",
        exit_code=state.get("ExitCode"),
        error=state.get("Error") or "",
    )


def _image(api: Any, summary: dict[str, Any], cache: ImageCache) -> Image:
    def inspect(image_id: str) -> dict[str, Any]:
        attrs = api.inspect_image(image_id)
        return {
            "os": attrs.get("Os") or "",
            "os_version": attrs.get("OsVersion") or "",
            "created": attrs.get("Created") or "",
        }

    image_id = summary["Id"]
    facts = cache.load(image_id, inspect)
    image = Image(
        id=image_id,
        repo_tags=tuple(summary.get("RepoTags") or ()),
        repo_digests=tuple(summary.get("RepoDigests") or ()),
        os=facts["os"],
        os_version=facts["os_version"],
        created=facts["created"],
        size=summary.get("Size") or 0,
    )
    return cache.shared(image)
