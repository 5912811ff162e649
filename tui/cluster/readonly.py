"""Read-only sessions: the reads sfpatch makes of each service, and transports that send nothing
else.

`is_allowed_read` is the one decision. Every read-only transport asks it before a byte leaves:
the requests adapter (the Service Fabric client over msrest, docker-py), the azure-core transport
(azure-mgmt-compute), and below them each urllib3 pool and connection those open, so code that
reaches past the SDK into the adapter, the pool or a kept connection is refused the same way.
Any other transport (a leaner HTTP client, say) calls `refuse_unless_read` before it sends.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from azure.core.pipeline.transport import RequestsTransport
from urllib3 import PoolManager
from urllib3.util.retry import Retry

from tui.errors import ReadOnlyError

FABRIC = "fabric"
ARM = "arm"
DOCKER = "docker"

_NAME = r"[^/]+"  # one path segment
_RESOURCE_GROUP = rf"/subscriptions/{_NAME}/resourceGroups/{_NAME}"
_SCALE_SETS = rf"{_RESOURCE_GROUP}/providers/Microsoft\.Compute/virtualMachineScaleSets"
_DOCKER_VERSION = r"(?:/v[0-9]+\.[0-9]+)?"

# GET is the only method of any read; these are the paths (query excluded) each service may be
# asked. Service Fabric and ARM route paths case-insensitively, the Docker engine does not.
_READS: dict[str, tuple[str, ...]] = {
    FABRIC: (
        r"/Nodes",  # the node list, paged
        rf"/Nodes/{_NAME}",
        r"/\$/GetClusterHealth",
        r"/\$/GetUpgradeProgress",
        r"/\$/GetClusterVersion",
        r"/\$/GetAadMetadata",  # anonymous: where to get an AAD token
        rf"/Names/{_NAME}/\$/GetProperties",  # who holds the cluster's lease
    ),
    ARM: (
        _SCALE_SETS,
        rf"{_SCALE_SETS}/{_NAME}",
        rf"{_SCALE_SETS}/{_NAME}/virtualMachines",  # with $expand=instanceView, paged
        rf"{_SCALE_SETS}/{_NAME}/virtualMachines/{_NAME}",
        rf"{_SCALE_SETS}/{_NAME}/virtualMachines/{_NAME}/instanceView",
        # the status of a long-running operation (a Run Command, a reimage) already started
        rf"/subscriptions/{_NAME}/providers/Microsoft\.Compute/locations/{_NAME}/operations/{_NAME}",
    ),
    DOCKER: tuple(
        _DOCKER_VERSION + path
        for path in (
            r"/_ping",
            r"/version",
            r"/info",
            r"/containers/json",
            rf"/containers/{_NAME}/json",
            r"/images/json",
            rf"/images/(?:{_NAME}/)*{_NAME}/json",  # an image name may have slashes
        )
    ),
}
_PATTERNS: dict[str, tuple[re.Pattern[str], ...]] = {
    service: tuple(re.compile(p, 0 if service == DOCKER else re.IGNORECASE) for p in paths)
    for service, paths in _READS.items()
}


def is_allowed_read(service: str, method: str, path: str) -> bool:
    """Whether `method path` (a path, or a whole URL; the query is ignored) is a read sfpatch
    makes of `service` (FABRIC, ARM or DOCKER)."""
    patterns = _PATTERNS.get(service)
    if patterns is None or method != "GET":
        return False
    path = urlsplit(path).path
    # Whatever the server would make of dot segments or backslashes, none is in a read.
    decoded = unquote(path)
    if "\\" in decoded or any(part in (".", "..") for part in decoded.split("/")):
        return False
    return any(pattern.fullmatch(path) for pattern in patterns)


def refuse_unless_read(service: str, method: str, url: str) -> None:
    """Raise ReadOnlyError unless `method url` is an allowed read of `service`."""
    if not is_allowed_read(service, method, url):
        path = urlsplit(url).path or url
        raise ReadOnlyError(
            f"this session is read-only: {method} {path[:200]} ({service}) is not one of the "
            f"reads it may send"
        )


# ------------------------------------------------------------------ requests and urllib3


class ReadOnlyAdapter(requests.adapters.HTTPAdapter):
    """A requests adapter that sends only `service`'s reads; `pool_kwargs` go to its urllib3
    pools (e.g. assert_fingerprint, ssl_context)."""

    def __init__(self, service: str, max_retries: Any = 0, **pool_kwargs: Any) -> None:
        self.service = service
        self._pool_kwargs = pool_kwargs
        super().__init__(max_retries=max_retries)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        refuse_unless_read(self.service, request.method or "", request.url or "")
        return super().send(request, *args, **kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **{**kwargs, **self._pool_kwargs})
        guard_pool_manager(self.poolmanager, self.service)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        guard_pool_manager(manager, self.service)
        return manager

    __attrs__ = [*requests.adapters.HTTPAdapter.__attrs__, "service", "_pool_kwargs"]


def mount_read_only(session: requests.Session, service: str, **pool_kwargs: Any) -> None:
    """Replace every adapter of `session` (http and https included) with a ReadOnlyAdapter."""
    for prefix in {"http://", "https://", *session.adapters}:
        old = session.adapters.get(prefix)
        if isinstance(old, ReadOnlyAdapter) and old.service == service:
            continue
        session.mount(prefix, ReadOnlyAdapter(service, **pool_kwargs))
        if old is not None:
            old.close()


def guard_pool_manager(manager: PoolManager, service: str) -> None:
    """Make every pool `manager` opens (and each pool's connections) refuse all but reads."""
    manager.pool_classes_by_scheme = {
        scheme: _guarded_pool(cls, service)
        for scheme, cls in manager.pool_classes_by_scheme.items()
    }


@functools.cache
def _guarded_pool(pool_cls: type, service: str) -> type:
    if getattr(pool_cls, "read_only_service", None) == service:
        return pool_cls

    class ReadOnlyPool(pool_cls):  # type: ignore[misc, valid-type]
        read_only_service = service
        ConnectionCls = _guarded_connection(pool_cls.ConnectionCls, service)

        def urlopen(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            refuse_unless_read(service, method, url)
            return super().urlopen(method, url, *args, **kwargs)

    ReadOnlyPool.__name__ = ReadOnlyPool.__qualname__ = f"ReadOnly{pool_cls.__name__}"
    return ReadOnlyPool


@functools.cache
def _guarded_connection(connection_cls: type, service: str) -> type:
    class ReadOnlyConnection(connection_cls):  # type: ignore[misc, valid-type]
        read_only_service = service

        # Every request on the connection starts here, before it connects or writes a byte.
        def putrequest(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            refuse_unless_read(service, method, url)
            return super().putrequest(method, url, *args, **kwargs)

    ReadOnlyConnection.__name__ = f"ReadOnly{connection_cls.__name__}"
    ReadOnlyConnection.__qualname__ = ReadOnlyConnection.__name__
    return ReadOnlyConnection


# ------------------------------------------------------------------ azure-core


class ReadOnlyTransport(RequestsTransport):
    """azure-core's requests transport, sending only ARM reads; its sessions (made again after a
    close) carry ReadOnlyAdapters."""

    def _init_session(self, session: requests.Session) -> None:
        session.trust_env = self._use_env_settings
        # As azure-core's own: no urllib3 retries (its RetryPolicy decides) and no redirects.
        retries = Retry(total=False, redirect=False, raise_on_status=False)
        for prefix in ("http://", "https://"):
            session.mount(prefix, ReadOnlyAdapter(ARM, max_retries=retries))

    def send(self, request: Any, **kwargs: Any) -> Any:
        refuse_unless_read(ARM, request.method, request.url)
        return super().send(request, **kwargs)
