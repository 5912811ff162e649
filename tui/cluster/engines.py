"""Each node's Docker engine through the docker SDK, over TLS; reads return tui.model.Engine.

Per node an inventory costs /info, one container list, one inspect per container (only the
inspect has HostConfig.Isolation, ExitCode and Error), and one image list. Image inspects (for
OsVersion) are cached by image Id across nodes in an ImageCache: an Id is a content hash, so
the same Id has the same OsVersion everywhere, and 1,000 nodes running the same few images
cost a few image inspects in all. The low-level `client.api` calls are used, which is what
`containers.list(sparse=True)` + `containers.get` would send, without building model objects.

The API version is pinned, so building a client makes no request and REQUESTS_CA_BUNDLE (which
requests would merge over the TLS config's CA) is switched off before the first call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import requests
from docker.errors import APIError, DockerException, NotFound

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
    """Image inspect facts by image Id, shared by the reads of many engines (thread-safe)."""

    def __init__(self) -> None:
        self._facts: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, image_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._facts.get(image_id)

    def put(self, image_id: str, facts: dict[str, Any]) -> None:
        with self._lock:
            self._facts[image_id] = facts

    def __len__(self) -> int:
        with self._lock:
            return len(self._facts)


def build_client(conn: EngineConnection) -> docker.DockerClient:
    """A DockerClient over TLS that verifies the engine with `ca` and presents the client cert."""
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
    client.api.trust_env = False
    return client


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
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def fetch_engine(
    node_name: str, conn: EngineConnection, image_cache: ImageCache | None = None
) -> Engine:
    """Connect, read one node's engine, and close; failures raise ClusterError."""
    client = build_client(conn)
    try:
        return read_engine(client, node_name, conn.endpoint, image_cache)
    finally:
        client.close()


def read_engine(
    client: docker.DockerClient,
    node_name: str,
    endpoint: str,
    image_cache: ImageCache | None = None,
) -> Engine:
    """The host version (with revision), containers and images of one engine."""
    api = client.api
    try:
        info = api.info()
        default_isolation = (info.get("Isolation") or "process").lower()
        containers = tuple(
            c
            for c in (
                _container(api, summary, default_isolation) for summary in api.containers(all=True)
            )
            if c is not None
        )
        cache = image_cache if image_cache is not None else ImageCache()
        images = tuple(_image(api, summary, cache) for summary in api.images())
    except (DockerException, requests.RequestException) as exc:
        raise ClusterError(f"docker engine on {node_name}: {describe_error(exc)}") from exc
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


def host_version(info: dict[str, Any]) -> str:
    """'10.0.17763.6054' from /info: the revision comes from OperatingSystem's 'OS Build'."""
    try:
        base = parse_version(info.get("OSVersion") or "")
    except UsageError:
        return ""
    return str(revision_from_operating_system(info.get("OperatingSystem") or "", base))


def _container(api: Any, summary: dict[str, Any], default_isolation: str) -> Container | None:
    try:
        attrs = api.inspect_container(summary["Id"])
    except NotFound:
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
    image_id = summary["Id"]
    facts = cache.get(image_id)
    if facts is None:
        attrs = api.inspect_image(image_id)
        facts = {
            "os": attrs.get("Os") or "",
            "os_version": attrs.get("OsVersion") or "",
            "created": attrs.get("Created") or "",
        }
        cache.put(image_id, facts)
    return Image(
        id=image_id,
        repo_tags=tuple(summary.get("RepoTags") or ()),
        repo_digests=tuple(summary.get("RepoDigests") or ()),
        os=facts["os"],
        os_version=facts["os_version"],
        created=facts["created"],
        size=summary.get("Size") or 0,
    )
