"""Each node's Docker engine over mutual TLS; reads return tui.model.Engine.

A full read of a node costs /info, the container list (state, image, and the exit code in
Status), the same list filtered by the isolation that is not the daemon's default (so each
container's isolation is known without an inspect), an inspect of each container that is not
running (only the inspect has State.Error), and one image list. Image inspects (for OsVersion)
are cached by image Id across nodes in an ImageCache: an Id is a content hash, so the same Id
has the same OsVersion everywhere, and 1,000 nodes running the same few images cost a few
image inspects in all.

The inventory's bulk sweep sends these GETs as whole requests over TLS (tui.cluster.sweep_tls)
with a lean answer reader (tui.cluster.engine_http), rather than the docker SDK: the SDK's
requests/urllib3 stack costs about four times the CPU per request, and http.client's header
parsing about half of what is left; at 1,000 engines that is most of a snapshot. A gather's
sweep is driven from one thread (tui.cluster.sweep_loop, each node's requests chosen by a
NodeSweep); one node's read (`read_node`) blocks on its own connection, through SweepApi.
Request targets are built once, each endpoint parsed once (an IP literal is connected without a
name look-up), and answers parsed by orjson (`decode_json`). A node's reads share one
connection, closed after the read; what is kept across refreshes in an EngineCache is each
engine's TLS session (resumed at the next read, a cheaper handshake) and
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
import contextlib
import functools
import http.client
import json
import re
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import docker
import requests
from docker.errors import APIError, DockerException, NotFound
from OpenSSL import SSL
from urllib3.util.ssl_ import create_urllib3_context

from tui.cluster import readonly, sweep_loop, sweep_tls
from tui.cluster.answers import decode_json, digest
from tui.cluster.engine_http import EngineResponse, read_response
from tui.cluster.sweep_tls import TLSConnection, engine_address
from tui.errors import ClusterError, ReadOnlyError, UsageError
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

    def open(self, conn: EngineConnection, offline: bool = False) -> SweepApi:
        """A SweepApi for `conn.endpoint` that resumes the endpoint's kept TLS session; give it
        back with `keep` once the read is done. `offline`: it sends nothing (see SweepApi)."""
        context, session = self._tls_for(conn)
        return SweepApi(conn, context, session, self.stats, self.read_only, offline)

    def connection(self, conn: EngineConnection) -> TLSConnection:
        """A connection (not opened) to `conn.endpoint` that offers its kept TLS session."""
        context, session = self._tls_for(conn)
        return TLSConnection(
            engine_address(conn.endpoint), conn.timeout, context, session, self.read_only
        )

    def _tls_for(self, conn: EngineConnection) -> tuple[SSL.Context, SSL.Session | None]:
        files = (conn.ca, conn.client_cert, conn.client_key)
        with self._lock:
            context = self._contexts.get(files)
        if context is None:
            context = sweep_context(conn)
            with self._lock:
                context = self._contexts.setdefault(files, context)
        with self._lock:
            return context, self._sessions.get(conn.endpoint)

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


class NotAnswered(Exception):
    """An offline SweepApi was asked for an answer it was not given."""


class EngineHTTPError(Exception):
    """An Engine API answer that is not 2xx, with the daemon's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class EngineNotFound(EngineHTTPError):
    """404: no such container or image (removed between the list and the inspect)."""


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
        offline: bool = False,
    ) -> None:
        self.endpoint = conn.endpoint
        self._offline = offline  # answers only from `seed`: asking for another raises
        self._address = engine_address(conn.endpoint)
        self._timeout = conn.timeout
        self._context = context
        self._session = session
        self._stats = stats
        self._read_only = read_only
        self._conn: TLSConnection | None = None
        self._sent: collections.deque[str] = collections.deque()  # answers not read yet
        self._early: dict[str, EngineResponse] = {}  # answers read before they were asked for
        self._decoded: dict[str, Any] = {}  # early answers' bodies, already decoded
        self._digests: dict[str, bytes] = {}  # early container lists' `listing_digest`
        self.listed: Listing | None = None  # the last full container list (all=1) it read

    @property
    def offline(self) -> bool:
        return self._offline

    def info(self) -> dict[str, Any]:
        return self._get(INFO_TARGET)

    def containers(
        self, all: bool = False, filters: Mapping[str, list[str] | str] | None = None
    ) -> list[dict[str, Any]]:
        target = containers_target(all, filters_query(filters))
        return self._listing(target, self._answer(target), all and not filters)

    def containers_unless(self, listed: bytes) -> list[dict[str, Any]] | None:
        """The full container list (all=1), or None if its `listing_digest` is `listed`: an
        unchanged list is not decoded (most of a warm refresh's engines)."""
        target = containers_target(True)
        body = self._answer(target)
        digest = self._digests.pop(target, None) or listing_digest(body)
        if digest == listed:
            return None
        self._digests[target] = digest
        return self._listing(target, body, True)

    def _listing(self, target: str, body: bytes, full: bool) -> list[dict[str, Any]]:
        found = self._json(target, body)
        if full:  # the full list (all=1, no filters): its digest is what a refresh compares
            listed = self._digests.pop(target, None) or listing_digest(body)
            self.listed = Listing(listed, len(found))
        return found

    def images(self) -> list[dict[str, Any]]:
        return self._get(IMAGES_TARGET)

    def inspect_container(self, ident: str) -> dict[str, Any]:
        return self._get(container_target(ident))

    def inspect_image(self, ident: str) -> dict[str, Any]:
        return self._get(image_target(ident))

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

    def seed(
        self,
        answered: sweep_loop.Answered,
        decoded: Mapping[str, Any] | None = None,
        digests: Mapping[str, bytes] | None = None,
    ) -> None:
        """Take the answers another connection got (the sweep loop's) as this read's, and
        that connection's TLS session as the one to resume; `decoded` and `digests`: what was
        already made of some of them (their bodies' JSON, a container list's digest)."""
        self._early.update(answered.answers)
        self._decoded.update(decoded or {})
        self._digests.update(digests or {})
        if answered.session is not None:
            self._session = answered.session

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
        self._decoded.clear()
        self._digests.clear()
        if conn is None:
            return self._session
        session = conn.tls_session()
        conn.close()
        return session

    def _get(self, target: str) -> Any:
        return self._json(target, self._answer(target))

    def _json(self, target: str, body: bytes) -> Any:
        """`body` (the answer to `target`) decoded, unless `seed` was given it decoded."""
        found = self._decoded.pop(target, None)
        return decode_json(body) if found is None else found

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
        if self._offline:
            raise NotAnswered(targets)
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


def filters_query(filters: Mapping[str, list[str] | str] | None) -> str | None:
    """The JSON of a container list's filters query, as the docker SDK writes it."""
    if not filters:
        return None
    return _filters_json(
        tuple((k, (v,) if isinstance(v, str) else tuple(v)) for k, v in filters.items())
    )


@functools.lru_cache(maxsize=16)
def _filters_json(filters: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    # Built once: a cold sweep asks for the same isolation filter of every engine, twice.
    return json.dumps({k: list(v) for k, v in filters}, separators=(",", ":"))


@functools.lru_cache(maxsize=16)
def containers_target(all: bool, filters: str | None = None) -> str:
    """The container list's request target; `filters` is the JSON of the filters query."""
    query = {"all": "1" if all else "0"}
    if filters:
        query["filters"] = filters
    return f"{PREFIX}/containers/json?{urlencode(query)}"


def container_target(ident: str) -> str:
    return f"{PREFIX}/containers/{_quoted(ident, '')}/json"


def image_target(ident: str) -> str:
    return f"{PREFIX}/images/{_quoted(ident, '/:')}/json"


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
    answered: sweep_loop.Answered | None = None,
    offline: bool = False,
    decoded: Mapping[str, Any] | None = None,
    digests: Mapping[str, bytes] | None = None,
) -> Engine:
    """One node's engine over one connection (resuming its kept TLS session): a full read, or
    a refresh of the last one while the node instance is the same (see `reusable`); the engine
    names that instance. A failure raises ClusterError and drops the session and the last read,
    so the next read starts afresh.

    `answered`: what the sweep loop's connection got for this read (see NodeSweep), taken
    first; only what it lacks is asked for, or with `offline`, raises NotAnswered (then nothing
    is kept or dropped)."""
    api = cache.open(conn, offline)
    last = cache.last(node_name)
    try:
        if answered is not None:
            if isinstance(answered.error, ReadOnlyError):
                raise answered.error
            if answered.error is not None:
                raise read_failed(node_name, answered.error) from answered.error
            api.seed(answered, decoded, digests)
        if last is not None and reusable(last, instance_id, conn.endpoint):
            engine = refresh_engine(api, last, image_cache)
        else:
            previous = last.engine if last is not None else None
            try:
                if answered is None:
                    api.prefetch(INFO_TARGET, containers_target(True), IMAGES_TARGET)
            except READ_ERRORS as exc:
                raise read_failed(node_name, exc) from exc
            engine = read_engine(api, node_name, conn.endpoint, image_cache, previous)
    except ClusterError:
        api.close()
        cache.discard(node_name, conn.endpoint)
        raise
    except ANSWER_SHAPE_ERRORS as exc:  # JSON, but not of the shapes an engine answers
        api.close()
        cache.discard(node_name, conn.endpoint)
        raise read_failed(node_name, exc) from exc
    cache.keep(api)
    if last is not None and engine is last.engine:
        return engine  # the list it was read from, again: the last read stands
    if engine.node_instance_id != instance_id:  # a refresh keeps the instance it was read under
        engine = replace(engine, node_instance_id=instance_id)
    cache.remember(node_name, LastRead(instance_id, engine, listed_digest(api.listed, engine)))
    return engine


class NodeSweep:
    """One node's read as the sweep loop drives it (a tui.cluster.sweep_loop.Job): the
    requests a full read or a refresh needs, asked as the answers before them allow, and at
    the end the read made from those answers in the loop's thread (`result`).

    The requests are those `read_node` would send. A full read: /info, the container list and
    the image list at once; then the isolation-filtered list if a container is new, an
    inspect of each container `containers_to_inspect` names, and of each listed image Id the
    ImageCache lacks. A refresh: the container list; nothing more if it is the list of the last
    read; else what its new or changed containers need, and the image list (then the image
    inspects) if a container names an image Id the last read lacks. An image Id is inspected
    once for all the jobs of a sweep: the first job to see it claims it in `claims`; the
    others wait for its answer (a job's wait ends with the claimer's batch, and the claim
    with it, answered or not).

    `result`: the Engine, the ClusterError (or ReadOnlyError) of a failed read, or NEEDS_MORE
    when the answers lacked something (the engine closed early): `finish_read` then reads it
    with a connection of its own."""

    def __init__(
        self,
        cache: EngineCache,
        node_name: str,
        instance_id: str,
        conn: EngineConnection,
        image_cache: ImageCache,
        claims: dict[str, NodeSweep],
        done: Callable[[NodeSweep], None],
    ) -> None:
        self.cache = cache
        self.node_name = node_name
        self.instance_id = instance_id
        self.conn = conn
        self.image_cache = image_cache
        self.connection = cache.connection(conn)
        self._claims = claims
        self._done = done
        self._last = cache.last(node_name)
        self._refresh = self._last is not None and reusable(self._last, instance_id, conn.endpoint)
        self._decoded: dict[str, Any] = {}  # answers' JSON, for the read made of them too
        self._digests: dict[str, bytes] = {}  # the container list's `listing_digest`
        self.answered: sweep_loop.Answered | None = None
        self.result: Engine | BaseException | object | None = None

    def next(self, answers: Mapping[str, EngineResponse]) -> tuple[str, ...] | None:
        self._settle(answers)
        try:
            wanted, image_ids = self._wanted(answers)
            image_ids = [i for i in image_ids if isinstance(i, str)]
        except ANSWER_SHAPE_ERRORS:
            return ()  # answers not of the shapes expected: the read made of them says how
        asking = [target for target in wanted if target not in answers]
        waiting = False
        for image_id in image_ids:
            target = image_target(image_id)
            if target in answers or self.image_cache.get(image_id) is not None:
                continue
            holder = self._claims.setdefault(image_id, self)
            if holder is self:
                asking.append(target)
            else:
                waiting = True
        if asking:
            return tuple(asking)
        return None if waiting else ()

    def finish(self, answered: sweep_loop.Answered) -> None:
        self._settle(answered.answers)
        for image_id in self._held():
            del self._claims[image_id]
        self.answered = answered
        try:
            self.result = read_node(
                self.cache,
                self.node_name,
                self.instance_id,
                self.conn,
                self.image_cache,
                answered,
                offline=True,
                decoded=self._decoded,
                digests=self._digests,
            )
        except NotAnswered:
            self.result = NEEDS_MORE
        except (ClusterError, ReadOnlyError) as exc:
            self.result = exc
        self._decoded, self._digests = {}, {}  # a sweep's jobs live to its end: keep no bodies
        if self.result is not NEEDS_MORE:
            self.answered = None
        self._done(self)

    def finish_read(self) -> Engine:
        """The read of a job whose answers lacked something, over a connection of its own."""
        answered, self.answered = self.answered, None
        return read_node(
            self.cache, self.node_name, self.instance_id, self.conn, self.image_cache, answered
        )

    def _settle(self, answers: Mapping[str, EngineResponse]) -> None:
        """Keep the image facts this job claimed and got, and let go of those claims."""
        for image_id in self._held():
            response = answers.get(image_target(image_id))
            if response is None:
                continue
            del self._claims[image_id]
            if response.status < 300:
                # Not JSON, or not an inspect: the read asks it again, and fails on it.
                with contextlib.suppress(ValueError, AttributeError):
                    self.image_cache.put(image_id, image_facts(decode_json(response.body)))

    def _held(self) -> list[str]:
        """The image Ids this job has claimed and not let go of."""
        return [image_id for image_id, holder in self._claims.items() if holder is self]

    def _wanted(self, answers: Mapping[str, EngineResponse]) -> tuple[list[str], list[str]]:
        """The targets the read needs, as far as `answers` tell, and the image Ids it needs
        the facts of."""
        listing = containers_target(True)
        if self._refresh:
            assert self._last is not None
            last = self._last
            wanted = [listing]
            body = self._body(answers, listing)
            if body is None:
                return wanted, []
            if listing not in self._digests:
                self._digests[listing] = listing_digest(body)
            if last.listed is not None and self._digests[listing] == last.listed:
                return wanted, []
            summaries = self._json(listing, body)
            cached = {c.id: c for c in last.engine.containers}
            wanted += container_reads(summaries, last.engine.isolation, cached)
            if not image_list_stale(last.engine.images, summaries):
                return wanted, []
            wanted.append(IMAGES_TARGET)
        else:
            wanted = [INFO_TARGET, listing, IMAGES_TARGET]
            info, body = self._body(answers, INFO_TARGET), self._body(answers, listing)
            if info is None or body is None:
                return wanted, []
            isolation = daemon_isolation(self._json(INFO_TARGET, info))
            previous = self._last.engine.containers if self._last is not None else ()
            cached = {c.id: c for c in previous}
            summaries = self._json(listing, body)
            wanted += container_reads(summaries, isolation, cached)
        images = self._body(answers, IMAGES_TARGET)
        if images is None:
            return wanted, []
        return wanted, [summary["Id"] for summary in self._json(IMAGES_TARGET, images)]

    def _body(self, answers: Mapping[str, EngineResponse], target: str) -> bytes | None:
        response = answers.get(target)
        return response.body if response is not None and response.status < 300 else None

    def _json(self, target: str, body: bytes) -> Any:
        """`body` decoded (once); not JSON: as empty, for the read to fail on it."""
        found = self._decoded.get(target)
        if found is None:
            try:
                found = self._decoded[target] = decode_json(body)
            except ValueError:
                return {} if target == INFO_TARGET else []
        return found


NEEDS_MORE = object()  # a NodeSweep's result when its answers lacked something
# What reading an answer of an unexpected shape raises ('null' for /info, a number for an Id).
ANSWER_SHAPE_ERRORS = (AttributeError, TypeError, KeyError, ValueError)


def container_reads(
    summaries: list[dict[str, Any]], default_isolation: str, cached: Mapping[str, Container]
) -> list[str]:
    """What `_containers` asks beyond the list: the list filtered by the other isolation if a
    container is new, and an inspect of each container `containers_to_inspect` names."""
    wanted = []
    if isolation_unknown(summaries, cached):
        other = other_isolation(default_isolation)
        wanted.append(containers_target(True, filters_query({"isolation": other})))
    wanted += [container_target(ident) for ident in containers_to_inspect(cached, summaries)]
    return wanted


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


def isolation_unknown(
    summaries: Iterable[Mapping[str, Any]], cached: Mapping[str, Container]
) -> bool:
    """Whether a listed container is new to `cached`: its isolation (fixed at create) is known
    only from the list filtered by the other isolation."""
    return any(s["Id"] not in cached for s in summaries)


def daemon_isolation(info: Mapping[str, Any]) -> str:
    """The isolation a container created without --isolation gets, from /info."""
    return (info.get("Isolation") or "process").lower()


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
        default_isolation = daemon_isolation(info)
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
        if read.listed is None:
            summaries = api.containers(all=True)
        else:
            unless = api.containers_unless(read.listed)
            if unless is None:
                return last
            summaries = unless
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
    if isolation_unknown(summaries, cached):
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


def image_facts(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """What an ImageCache keeps of an image inspect."""
    return {
        "os": attrs.get("Os") or "",
        "os_version": attrs.get("OsVersion") or "",
        "created": attrs.get("Created") or "",
    }


def _image(api: Any, summary: dict[str, Any], cache: ImageCache) -> Image:
    def inspect(image_id: str) -> dict[str, Any]:
        return image_facts(api.inspect_image(image_id))

    image_id = summary["Id"]
    facts = cache.get(image_id)
    if facts is None:
        # Offline (the sweep loop's thread), only its own answers: never wait on another
        # thread's inspect of the same Id.
        facts = (
            inspect(image_id) if getattr(api, "offline", False) else cache.load(image_id, inspect)
        )
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
