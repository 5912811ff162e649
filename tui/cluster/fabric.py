"""The Service Fabric gateway through azure-servicefabric: the client and the read calls.

Mutations are not here: they live in tui/cluster/gateway.py. What leaves this module is
tui.model values, never SDK objects.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from azure.servicefabric import ServiceFabricClientAPIs
from azure.servicefabric.models import FabricErrorException
from msrest.authentication import Authentication, BasicTokenAuthentication
from msrest.exceptions import ClientRequestError, HttpOperationError
from msrest.pipeline import Pipeline
from msrest.pipeline.requests import (
    PipelineRequestsHTTPSender,
    RequestsCredentialsPolicy,
    RequestsPatchSession,
)
from msrest.universal_http.requests import RequestsHTTPSender
from requests.adapters import HTTPAdapter

from tui.cluster import readonly
from tui.cluster.answers import AnswerCache, built, joined
from tui.errors import ClusterError
from tui.model import DeactivationInfo, Health, HealthEvaluation, Node, seconds_since

# Server-side operation timeout the gateway gets, and the client's socket timeout, in seconds.
GATEWAY_TIMEOUT = 30
SOCKET_TIMEOUT = 15.0
BODY_PIECE = 1 << 20  # bytes read at a time from an answer


@dataclass(frozen=True)
class FabricConnection:
    """How to reach and trust one cluster's gateway."""

    endpoint: str
    client_pem: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    ca: Path | None = None
    server_thumbprints: tuple[str, ...] = ()
    aad_token: str | None = None


class _PinnedAdapter(HTTPAdapter):
    """Checks the server certificate's SHA-1 thumbprint, as Service Fabric clients pin it."""

    def __init__(self, thumbprint: str) -> None:
        self._thumbprint = thumbprint.replace(":", "").lower()
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["assert_fingerprint"] = self._thumbprint
        super().init_poolmanager(*args, **kwargs)


class _CertAuthentication(Authentication):
    """msrest authentication that mounts the pinning adapter (or a bearer token for AAD); when
    read-only, read-only adapters (pinning too) in place of every other."""

    def __init__(self, thumbprint: str | None, token: str | None, read_only: bool = False) -> None:
        self._thumbprint = thumbprint
        self._token = token
        self._read_only = read_only

    def signed_session(self, session: requests.Session | None = None) -> requests.Session:
        session = super().signed_session(session)
        if self._read_only:
            pin = {"assert_fingerprint": self._thumbprint} if self._thumbprint else {}
            readonly.mount_read_only(session, readonly.FABRIC, **pin)
        elif self._thumbprint:
            session.mount("https://", _PinnedAdapter(self._thumbprint))
        if self._token:
            session.headers["Authorization"] = f"Bearer {self._token}"
        return session


def build_client(conn: FabricConnection, read_only: bool = False) -> ServiceFabricClientAPIs:
    """A client that presents the client certificate and validates the server; `read_only`:
    one whose every session can send only the reads in tui/cluster/readonly.py.

    msrest passes `verify` per request, which overrides anything set on the session (the
    sfctl --no-verify bug), so server validation goes into config.connection.
    """
    thumbprint = _pinned_thumbprint(conn)
    if read_only:
        auth: Authentication = _CertAuthentication(thumbprint, conn.aad_token, read_only=True)
    elif conn.aad_token and not thumbprint:
        auth = BasicTokenAuthentication({"access_token": conn.aad_token})
    else:
        auth = _CertAuthentication(thumbprint, conn.aad_token)
    client = ServiceFabricClientAPIs(auth, base_url=conn.endpoint)
    connection = client.config.connection
    if conn.client_pem:
        connection.cert = str(conn.client_pem)
    elif conn.client_cert and conn.client_key:
        connection.cert = (str(conn.client_cert), str(conn.client_key))
    if thumbprint:
        connection.verify = False  # the pinning adapter checks the certificate instead
    elif conn.ca:
        connection.verify = str(conn.ca)
    connection.timeout = SOCKET_TIMEOUT
    # One attempt per call: the poll loop retries on its own schedule, and POSTs must not repeat.
    # With no status list a 503 comes back as its FabricError, not as "Max retries exceeded".
    client.config.retry_policy.retries = 0
    client.config.retry_policy.policy.status_forcelist = None
    if read_only:
        _read_only_pipeline(client, auth)
    return client


class _ReadOnlySender(RequestsHTTPSender):
    """msrest's requests sender whose sessions (one per thread, made on first use) are signed,
    so read-only, from birth rather than at their first request."""

    def __init__(self, config: Any, auth: Authentication) -> None:
        self._auth = auth
        super().__init__(config)

    def _init_session(self, session: requests.Session) -> None:
        self._auth.signed_session(session)
        super()._init_session(session)


def _read_only_pipeline(client: ServiceFabricClientAPIs, auth: Authentication) -> None:
    """msrest's default pipeline (ServiceClient._create_default_pipeline) on _ReadOnlySender: the
    default one holds a session with plain adapters until its first request."""
    config = client.config
    plain = config.pipeline
    config.pipeline = Pipeline(
        [
            config.user_agent_policy,
            RequestsCredentialsPolicy(auth),
            RequestsPatchSession(),
            config.http_logger_policy,
        ],
        PipelineRequestsHTTPSender(_ReadOnlySender(config, auth)),
    )
    plain.__exit__()


def describe_error(exc: Exception) -> str:
    """One line for an SDK or transport failure."""
    if isinstance(exc, HttpOperationError):
        error = getattr(getattr(exc, "error", None), "error", None)
        if error is not None and getattr(error, "code", None):
            return f"{error.code}: {error.message}"
        status = getattr(exc.response, "status_code", "?")
        return f"HTTP {status}: {exc}"
    if isinstance(exc, ClientRequestError):
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text or "Fingerprints did not match" in text:
            return "the gateway's server certificate is not trusted (check ca / thumbprint)"
        if "Read timed out" in text:
            return "the gateway did not answer in time (read timed out)"
        if "Connection refused" in text or "Max retries exceeded" in text:
            return f"cannot connect to the gateway: {text.splitlines()[0][:160]}"
        return text.splitlines()[0][:200]
    return f"{type(exc).__name__}: {exc}"[:200]


def call(what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one SDK call; any failure becomes a ClusterError naming what was attempted."""
    try:
        return fn(*args, timeout=GATEWAY_TIMEOUT, **kwargs)
    except (HttpOperationError, ClientRequestError, requests.RequestException) as exc:
        raise ClusterError(f"{what}: {describe_error(exc)}") from exc


# ------------------------------------------------------------------ reads


def list_nodes(
    client: ServiceFabricClientAPIs,
    page_size: int = 0,
    cache: AnswerCache | None = None,
    read_at: datetime | None = None,
) -> tuple[Node, ...]:
    """Every node, following continuation tokens until the last page.

    The request is the SDK's own, sent by its client (certificate, pinning, read-only adapter);
    the pages are read as JSON: building the SDK's models of 1,000 nodes costs ~0.3 s of CPU,
    which a console polling every 2 s would pay at every poll. With `cache`, pages the same as
    last time give back the same nodes (the same tuple when every page is the same). With
    `read_at` too (when the answer is read), pages that differ from the last only in the nodes'
    uptimes, and by the time gone by, give back the same nodes, aged (see `_aged_page`)."""
    pages: list[tuple[Node, ...]] = []
    token = None
    while True:
        query: dict[str, Any] = {"api-version": "6.3", "NodeStatusFilter": "all"}
        query["MaxResults"] = page_size
        if token is not None:
            query["ContinuationToken"] = token
        body = call("list nodes", _get, client, "/Nodes", query)
        key = ("/Nodes", page_size, token)
        if cache is not None and read_at is not None:
            nodes, token = _aged_page(cache, key, body, read_at)
        else:
            nodes, token = built(cache, key, body, _node_page)
        pages.append(nodes)
        if not token:
            return built(cache, "/Nodes", tuple(pages), joined)


def _node_page(body: bytes, read_at: datetime | None = None) -> tuple[tuple[Node, ...], str | None]:
    """A page of the node list: its nodes and the continuation token ('' or None: the last)."""
    page = _json_object("list nodes", body)
    items = page.get("Items") or []
    nodes = tuple(node_from_json(item, read_at) for item in items)
    return nodes, page.get("ContinuationToken")


# On a live cluster every node's uptime moves between two polls, and with it the node list's
# bytes: 1,000 nodes would be decoded, built, judged and drawn again every 2 s. With the uptimes
# taken out, the same bytes as last time are the same nodes, only older.
_UPTIME = re.compile(rb'"NodeUpTimeInSeconds"\s*:\s*"?(\d+)"?')
UPTIME_SLACK = 5  # seconds a node's uptime may be off the one worked out from the last read


def _aged_page(
    cache: AnswerCache, key: tuple, body: bytes, read_at: datetime
) -> tuple[tuple[Node, ...], str | None]:
    """The last nodes of this page again, as they were (`uptime_at` says when their uptime was
    read), when nothing but the uptimes changed and each uptime is what the time gone by makes
    it, within UPTIME_SLACK; else the page built anew. A node restarted has a new instance id
    and times: other bytes, so it is built anew."""
    pieces = _UPTIME.split(body)  # the text around each uptime, then each uptime: one pass
    uptimes = pieces[1::2]

    def only_aged(page: tuple[tuple[Node, ...], str | None]) -> bool:
        nodes = page[0]
        if len(nodes) != len(uptimes):
            return False
        gone: dict[datetime | None, int] = {}  # a page's nodes were read together: one or two
        for node, uptime in zip(nodes, uptimes, strict=True):
            since = gone.get(node.uptime_at)
            if since is None:
                since = gone[node.uptime_at] = seconds_since(node.uptime_at, read_at)
            if abs(node.uptime_after(since) - int(uptime)) > UPTIME_SLACK:
                return False
        return True

    return cache.built(
        (*key, "aged"), b"".join(pieces[0::2]), lambda _: _node_page(body, read_at), only_aged
    )


def cluster_health(client: ServiceFabricClientAPIs, cache: AnswerCache | None = None) -> Health:
    """Aggregated cluster health with every unhealthy evaluation flattened.

    Sent as the SDK's get_cluster_health sends it and read as JSON, as the node list is: the
    SDK's models of 1,000 node health states cost ~0.15 s of CPU, paid at every refresh. With
    `cache`, an answer the same as last time gives back the same Health."""
    query = {
        "api-version": "6.0",
        "NodesHealthStateFilter": 0,
        "ApplicationsHealthStateFilter": 0,
        "EventsHealthStateFilter": 0,
        "ExcludeHealthStatistics": "true",
        "IncludeSystemApplicationHealthStatistics": "false",
    }
    body = call("get cluster health", _get, client, "/$/GetClusterHealth", query)
    return built(cache, "/$/GetClusterHealth", body, _health_from_json)


def _health_from_json(body: bytes) -> Health:
    health = _json_object("get cluster health", body)
    evaluations: list[HealthEvaluation] = []
    for wrapper in health.get("UnhealthyEvaluations") or []:
        _flatten(wrapper.get("HealthEvaluation"), evaluations, node=None, application=None)
    return Health(
        aggregated=health.get("AggregatedHealthState") or "Unknown",
        evaluations=tuple(evaluations),
        node_states={s["Name"]: s.get("AggregatedHealthState") for s in _states(health, "Node")},
        application_states={
            s["Name"]: s.get("AggregatedHealthState") for s in _states(health, "Application")
        },
    )


def _get(client: ServiceFabricClientAPIs, path: str, query: dict[str, Any], timeout: int) -> bytes:
    """GET `path` as the SDK's own method for it sends it, through the SDK's client; the body
    as it came. A non-200 raises what the SDK raises."""
    request = client._client.get(
        path, {**query, "timeout": timeout}, {"Accept": "application/json"}
    )
    response = client._client.send(request, stream=True)
    if response.status_code != 200:
        raise FabricErrorException(client._deserialize, response)
    # In large pieces: requests' own `content` reads 10 KB at a time, which on a node list of
    # 1,000 nodes (~0.7 MB) costs half as much CPU again, at every poll. A body cut short
    # raises requests' own error here (not msrest's wrapping of it), which `call` takes too.
    return b"".join(response.iter_content(BODY_PIECE))


def _json_object(what: str, body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        raise ClusterError(f"{what}: the gateway's answer is not JSON") from None
    if not isinstance(value, dict):
        raise ClusterError(f"{what}: the gateway's answer is not a JSON object")
    return value


def _states(body: dict[str, Any], entity: str) -> list[dict[str, Any]]:
    return [s for s in body.get(f"{entity}HealthStates") or [] if s.get("Name")]


def upgrade_domain_states(client: ServiceFabricClientAPIs) -> dict[str, str]:
    progress = call("get upgrade progress", client.get_cluster_upgrade_progress)
    return {ud.name: ud.state for ud in progress.upgrade_domains or []}


def cluster_version(client: ServiceFabricClientAPIs) -> str:
    return call("get cluster version", client.get_cluster_version).version or ""


def _flatten(
    evaluation: dict[str, Any] | None,
    out: list[HealthEvaluation],
    node: str | None,
    application: str | None,
) -> None:
    """Keep the leaves (events) with the node/application they hang under."""
    if not evaluation:
        return
    node = evaluation.get("NodeName") or node
    application = evaluation.get("ApplicationName") or application
    kind = evaluation.get("Kind") or ""
    if evaluation.get("Name") and kind == "DeployedApplication":
        application = evaluation["Name"]
    children = evaluation.get("UnhealthyEvaluations") or []
    if not children:
        event = evaluation.get("UnhealthyEvent")
        description = evaluation.get("Description") or ""
        if event:
            description = (
                f"{event.get('SourceId')} {event.get('Property')}: {event.get('Description')}"
            )
        out.append(
            HealthEvaluation(
                kind=kind,
                health_state=evaluation.get("AggregatedHealthState") or "Unknown",
                description=description,
                node_name=node,
                application=application,
            )
        )
        return
    for child in children:
        _flatten(child.get("HealthEvaluation"), out, node, application)


def node_from_json(info: dict[str, Any], read_at: datetime | None = None) -> Node:
    """A node from the gateway's NodeInfo JSON (the wire names of sf-rest.md), its uptime as
    read at `read_at` (None: as of the snapshot it goes in)."""
    deactivation = info.get("NodeDeactivationInfo") or {}
    checks = tuple(
        (w.get("SafetyCheck") or {}).get("Kind") or "Unknown"
        for w in deactivation.get("PendingSafetyChecks") or []
    )
    tasks = tuple(
        f"{t['NodeDeactivationTaskId'].get('NodeDeactivationTaskType')}:"
        f"{t['NodeDeactivationTaskId'].get('Id')}"
        for t in deactivation.get("NodeDeactivationTask") or []
        if t.get("NodeDeactivationTaskId") is not None
    )
    return Node(
        name=info["Name"],
        node_type=info.get("Type") or "",
        ip_address=info.get("IpAddressOrFQDN") or "",
        upgrade_domain=info.get("UpgradeDomain") or "",
        fault_domain=info.get("FaultDomain") or "",
        status=info.get("NodeStatus") or "Unknown",
        health_state=info.get("HealthState") or "Unknown",
        is_seed=bool(info.get("IsSeedNode")),
        code_version=info.get("CodeVersion") or "",
        instance_id=info.get("InstanceId") or "",
        node_id=(info.get("Id") or {}).get("Id") or "",
        uptime_seconds=int(info.get("NodeUpTimeInSeconds") or 0),
        up_at=_utc(_moment(info.get("NodeUpAt"))),
        down_at=_utc(_moment(info.get("NodeDownAt"))),
        deactivation=DeactivationInfo(
            intent=deactivation.get("NodeDeactivationIntent") or "Invalid",
            status=deactivation.get("NodeDeactivationStatus") or "None",
            pending_safety_checks=checks,
            task_ids=tasks,
        ),
        uptime_at=read_at,
    )


def _moment(text: str | None) -> datetime | None:
    """An ISO 8601 date-time of the gateway ('2026-11-26T09:00:00.000Z'); None if absent."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.year <= 1:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _pinned_thumbprint(conn: FabricConnection) -> str | None:
    """The thumbprint to pin. With several (a certificate rollover), the one the server shows."""
    prints = _thumbprints(conn)
    if len(prints) <= 1:
        return prints[0] if prints else None
    return hashlib.sha1(_server_certificate_der(conn)).hexdigest()


def _thumbprints(conn: FabricConnection) -> list[str]:
    return [t.replace(":", "").lower() for t in conn.server_thumbprints]


def server_certificate_sha256(conn: FabricConnection) -> str:
    """SHA-256 of the certificate the gateway presents, for the transcript header."""
    return hashlib.sha256(_server_certificate_der(conn)).hexdigest()


def _server_certificate_der(conn: FabricConnection) -> bytes:
    """The gateway's certificate, from a handshake that checks the server as the client does
    (the CA, or the pinned thumbprints) and presents no client certificate: the admin
    certificate is shown only by the SDK client, to a server it has checked.

    Under TLS 1.3 the server's certificate is known once our side of the handshake is done,
    even from a gateway that then turns away a client without a certificate."""
    parts = urlsplit(conn.endpoint)
    if parts.scheme != "https":
        return b""
    pins = _thumbprints(conn)
    try:
        context = ssl.create_default_context(
            cafile=str(conn.ca) if conn.ca else requests.certs.where()
        )
    except (ssl.SSLError, OSError) as exc:
        raise ClusterError(f"cannot use the gateway CA {conn.ca}: {exc}") from exc
    if pins:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # checked against the thumbprints below instead
    address = (parts.hostname, parts.port or 443)
    try:
        with (
            socket.create_connection(address, SOCKET_TIMEOUT) as raw,
            context.wrap_socket(raw, server_hostname=parts.hostname) as tls,
        ):
            der = tls.getpeercert(binary_form=True) or b""
    except ssl.SSLCertVerificationError as exc:
        raise ClusterError(
            f"the gateway's server certificate is not trusted (check ca): {exc.verify_message}"
        ) from exc
    except OSError as exc:
        raise ClusterError(f"cannot reach the gateway at {conn.endpoint}: {exc}") from exc
    if pins and hashlib.sha1(der).hexdigest() not in pins:
        raise ClusterError(
            f"the gateway at {conn.endpoint} shows a certificate that is none of the pinned "
            f"thumbprints (check server_thumbprints)"
        )
    return der
