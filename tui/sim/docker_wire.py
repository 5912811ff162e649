"""The Docker Engine API's JSON as a Windows engine (20.10, API 1.41) renders it.

Pure functions from simulator state to wire dicts, so the shapes live in one place and can be
read without a server; the lists' bodies are also given as JSON bytes (`list_containers_json`,
`list_images_json`) whose entries are encoded once and cached by everything they are made of,
so a refresh that finds nothing changed costs no encoding. Field names and formats follow
shared/research/compute-docker-windows.md section 3 and moby's v1.41 swagger.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from tui.sim.scenario import ImageSpec
from tui.sim.state import SimContainer, SimNode
from tui.winver import WindowsVersion, operating_system_text

# Mirantis Container Runtime 20.10 is what Windows Server "with Containers" images ship.
ENGINE_VERSION = "20.10.9"
API_VERSION = "1.41"
MIN_API_VERSION = "1.24"
GIT_COMMIT = "591094d"
GO_VERSION = "go1.16.12m2"
BUILD_TIME = "12/21/2021 21:34:30"
ZERO_TIME = "0001-01-01T00:00:00Z"
ROOT_DIR = "C:\\ProgramData\\docker"

# BuildLabEx of each LTSC's RTM build: KernelVersion carries it, not the patch level.
BUILD_LABS = {
    14393: "14393.0.amd64fre.rs1_release.160715-1616",
    17763: "17763.1.amd64fre.rs5_release.180914-1434",
    20348: "20348.1.amd64fre.fe_release.210507-1500",
    26100: "26100.1.amd64fre.ge_release.240331-1435",
}
HEADERS = {
    "Api-Version": API_VERSION,
    "Docker-Experimental": "false",
    "Ostype": "windows",
    "Server": f"Docker/{ENGINE_VERSION} (windows)",
}
PING_HEADERS = {
    "Builder-Version": "1",
    "Swarm": "inactive",
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "Pragma": "no-cache",
}
CONTAINER_STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def version_tuple(text: str) -> tuple[int, ...] | None:
    """'1.41' -> (1, 41); None when it is not a dotted number."""
    parts = text.split(".")
    if not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


@functools.lru_cache(maxsize=64)
def api_version_error(requested: str) -> str | None:
    """The daemon's 400 message for an API version it does not serve, or None when it does."""
    wanted = version_tuple(requested)
    if wanted is None:
        return f"invalid API version {requested!r}"
    if wanted < version_tuple(MIN_API_VERSION):  # type: ignore[operator]
        return (
            f"client version {requested} is too old. Minimum supported API version is "
            f"{MIN_API_VERSION}, please upgrade your client to a newer version"
        )
    if wanted > version_tuple(API_VERSION):  # type: ignore[operator]
        return (
            f"client version {requested} is too new. Maximum supported API version is {API_VERSION}"
        )
    return None


def rfc3339nano(moment: datetime | None) -> str:
    """Go's time.RFC3339Nano: trailing zeros of the fraction dropped, Z for UTC."""
    if moment is None:
        return ZERO_TIME
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


def parse_created(text: str) -> datetime:
    """A scenario's image 'created' timestamp (RFC 3339) as a datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def human_duration(seconds: float) -> str:
    """docker/go-units HumanDuration, as `docker ps` shows it in STATUS."""
    whole = int(seconds)
    minutes = whole // 60
    hours = int(round(seconds / 3600))
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{whole // 3600 // 24 // 365} years"


@functools.lru_cache(maxsize=1 << 16)
def _sha256(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def image_id(spec: ImageSpec) -> str:
    """A stable content-address for a scenario image: 'sha256:<hex>'."""
    return "sha256:" + _sha256("image", spec.ref, str(spec.os_version))


def repository(ref: str) -> str:
    """'contoso/web:4.1' -> 'contoso/web' (a registry port's colon is not a tag)."""
    name, _, tag = ref.rpartition(":")
    return name if name and "/" not in tag else ref


def repo_digest(spec: ImageSpec) -> str:
    return f"{repository(spec.ref)}@sha256:{_sha256('manifest', spec.ref)}"


def normalize_reference(name: str) -> str:
    """The familiar form of an image reference: no docker.io/library/ prefix, ':latest' added."""
    for prefix in ("docker.io/", "index.docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    name = name.removeprefix("library/")
    if "@" not in name and repository(name) == name:
        name += ":latest"
    return name


# ------------------------------------------------------------------ system


def kernel_version(version: WindowsVersion) -> str:
    lab = BUILD_LABS.get(version.build, f"{version.build}.1.amd64fre.release.000000-0000")
    return f"{version.major}.{version.minor} {version.build} ({lab})"


def computer_name(node: SimNode) -> str:
    """A scale set VM's computer name: the prefix and the instance number in 6 base-36 digits."""
    digits, n = "", node.index
    while True:
        n, rest = divmod(n, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[rest] + digits
        if n == 0:
            break
    return f"{node.node_type}{digits.rjust(6, '0')}"


def version_body(node: SimNode) -> dict[str, Any]:
    """GET /version."""
    kernel = kernel_version(node.host_version)
    details = {
        "ApiVersion": API_VERSION,
        "Arch": "amd64",
        "BuildTime": BUILD_TIME,
        "Experimental": "false",
        "GitCommit": GIT_COMMIT,
        "GoVersion": GO_VERSION,
        "KernelVersion": kernel,
        "MinAPIVersion": MIN_API_VERSION,
        "Os": "windows",
    }
    return {
        "Platform": {"Name": "Mirantis Container Runtime"},
        "Components": [{"Name": "Engine", "Version": ENGINE_VERSION, "Details": details}],
        "Version": ENGINE_VERSION,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": GIT_COMMIT,
        "GoVersion": GO_VERSION,
        "Os": "windows",
        "Arch": "amd64",
        "KernelVersion": kernel,
        "BuildTime": BUILD_TIME,
    }


def info_body(node: SimNode, now: datetime) -> dict[str, Any]:
    """GET /info as a Windows Server host reports it; OperatingSystem carries the revision."""
    return _info(*_info_fields(node, now))


def info_json(node: SimNode, now: datetime) -> bytes:
    """`info_body` as the body's JSON bytes, cached by everything it is made of."""
    return _info_json(*_info_fields(node, now))


def _info_fields(
    node: SimNode, now: datetime
) -> tuple[str, WindowsVersion, int, int, int, str, datetime]:
    running = sum(c.running for c in node.containers)
    return (
        node.node_id,
        node.host_version,
        len(node.containers),
        running,
        len(node.images),
        computer_name(node),
        now,
    )


@functools.lru_cache(maxsize=1 << 11)  # the large scenario's 1,000 engines, and changes
def _info_json(*fields: Any) -> bytes:
    return encode(_info(*fields))


def _info(
    node_id: str,
    host: WindowsVersion,
    containers: int,
    running: int,
    images: int,
    name: str,
    now: datetime,
) -> dict[str, Any]:
    engine_id = _sha256("engine", node_id).upper()
    return {
        "ID": ":".join(engine_id[i : i + 4] for i in range(0, 48, 4)),
        "Containers": containers,
        "ContainersRunning": running,
        "ContainersPaused": 0,
        "ContainersStopped": containers - running,
        "Images": images,
        "Driver": "windowsfilter",
        "DriverStatus": None,
        "Plugins": {
            "Volume": ["local"],
            "Network": ["ics", "internal", "l2bridge", "l2tunnel", "nat", "null", "overlay"]
            + ["private", "transparent"],
            "Authorization": None,
            "Log": ["awslogs", "etwlogs", "fluentd", "gcplogs", "gelf", "json-file", "local"]
            + ["logentries", "splunk", "syslog"],
        },
        "MemoryLimit": False,
        "SwapLimit": False,
        "KernelMemory": False,
        "KernelMemoryTCP": False,
        "CpuCfsPeriod": False,
        "CpuCfsQuota": False,
        "CPUShares": False,
        "CPUSet": False,
        "PidsLimit": False,
        "IPv4Forwarding": True,
        "BridgeNfIptables": True,
        "BridgeNfIp6tables": True,
        "Debug": False,
        "NFd": -1,
        "OomKillDisable": False,
        "NGoroutines": 38,
        "SystemTime": now.astimezone().isoformat(timespec="microseconds"),
        "LoggingDriver": "json-file",
        "CgroupDriver": "",
        "CgroupVersion": "",
        "NEventsListener": 0,
        "KernelVersion": kernel_version(host),
        "OperatingSystem": operating_system_text(host),
        "OSVersion": f"{host.major}.{host.minor}.{host.build}",
        "OSType": "windows",
        "Architecture": "x86_64",
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {
            "AllowNondistributableArtifactsCIDRs": [],
            "AllowNondistributableArtifactsHostnames": [],
            "InsecureRegistryCIDRs": ["127.0.0.0/8"],
            "IndexConfigs": {
                "docker.io": {
                    "Name": "docker.io",
                    "Mirrors": [],
                    "Secure": True,
                    "Official": True,
                }
            },
            "Mirrors": [],
        },
        "NCPU": 4,
        "MemTotal": 17_179_332_608,
        "GenericResources": None,
        "DockerRootDir": ROOT_DIR,
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "Name": name,
        "Labels": [],
        "ExperimentalBuild": False,
        "ServerVersion": ENGINE_VERSION,
        "Runtimes": {},
        "DefaultRuntime": "",
        "Swarm": {
            "NodeID": "",
            "NodeAddr": "",
            "LocalNodeState": "inactive",
            "ControlAvailable": False,
            "Error": "",
            "RemoteManagers": None,
        },
        "LiveRestoreEnabled": False,
        "Isolation": "process",
        "InitBinary": "",
        "ContainerdCommit": {"ID": "", "Expected": ""},
        "RuncCommit": {"ID": "", "Expected": ""},
        "InitCommit": {"ID": "", "Expected": ""},
        "SecurityOptions": None,
        "Warnings": None,
    }


# ------------------------------------------------------------------ containers


def container_state(container: SimContainer) -> str:
    return _state(container.running)


def _state(running: bool) -> str:
    return "running" if running else "exited"


def container_status(container: SimContainer, now: datetime) -> str:
    """The STATUS text `docker ps` shows: 'Up 12 days', 'Exited (3221684481) 2 minutes ago'."""
    if container.running:
        since = container.started_at or container.created
        return f"Up {human_duration((now - since).total_seconds())}"
    ended = container.finished_at or now
    ago = human_duration((now - ended).total_seconds())
    return f"Exited ({container.exit_code}) {ago} ago"


def _command(name: str) -> list[str]:
    return ["cmd", "/S", "/C", f"C:\\app\\{name.split('-')[1]}.exe"]


def _network(ident: str, running: bool) -> dict[str, Any]:
    octet = int(ident[:2], 16) % 250 + 2
    return {
        "nat": {
            "IPAMConfig": None,
            "Links": None,
            "Aliases": None,
            "NetworkID": _sha256("network", "nat"),
            "EndpointID": _sha256("endpoint", ident) if running else "",
            "Gateway": "172.24.16.1" if running else "",
            "IPAddress": f"172.24.16.{octet}" if running else "",
            "IPPrefixLen": 20 if running else 0,
            "IPv6Gateway": "",
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "MacAddress": f"00:15:5d:1a:{octet:02x}:0b" if running else "",
            "DriverOpts": None,
        }
    }


def _config(
    hostname: str = "",
    env: list[str] | None = None,
    cmd: list[str] | None = None,
    image: str = "",
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A container or image Config block (ContainerConfig in the API's schema)."""
    return {
        "Hostname": hostname,
        "Domainname": "",
        "User": "",
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "Tty": False,
        "OpenStdin": False,
        "StdinOnce": False,
        "Env": env,
        "Cmd": cmd,
        "Image": image,
        "Volumes": None,
        "WorkingDir": "",
        "Entrypoint": None,
        "OnBuild": None,
        "Labels": labels,
    }


def container_summary(
    container: SimContainer, images: dict[str, ImageSpec], now: datetime
) -> dict[str, Any]:
    """One entry of GET /containers/json."""
    return _summary(*_summary_fields(container, images, now))


def _summary_fields(
    container: SimContainer, images: dict[str, ImageSpec], now: datetime
) -> tuple[str, str, str, str, datetime, bool, str]:
    """Everything a container's list entry is made of: the key of its cached JSON."""
    return (
        container.id,
        container.name,
        container.image,
        image_id(images[container.image]),
        container.created,
        container.running,
        container_status(container, now),
    )


def _summary(
    ident: str,
    name: str,
    image: str,
    image_ident: str,
    created: datetime,
    running: bool,
    status: str,
) -> dict[str, Any]:
    return {
        "Id": ident,
        "Names": [f"/{name}"],
        "Image": image,
        "ImageID": image_ident,
        "Command": " ".join(_command(name)),
        "Created": int(created.timestamp()),
        "Ports": [],
        "Labels": {},
        "State": _state(running),
        "Status": status,
        "HostConfig": {"NetworkMode": "nat"},
        "NetworkSettings": {"Networks": _network(ident, running)},
        "Mounts": [],
    }


@functools.lru_cache(maxsize=1 << 14)  # the large scenario's 10,000 containers, and changes
def _summary_json(*fields: Any) -> bytes:
    """A list entry's JSON, cached by everything it is made of: a container whose state, image
    or Status text changed has other fields, so it is encoded afresh."""
    return compact(_summary(*fields))


def container_inspect(container: SimContainer, images: dict[str, ImageSpec]) -> dict[str, Any]:
    """GET /containers/{id}/json: State, HostConfig.Isolation and Config.Image included."""
    command = _command(container.name)
    log = f"{ROOT_DIR}\\containers\\{container.id}\\{container.id}-json.log"
    return {
        "Id": container.id,
        "Created": rfc3339nano(container.created),
        "Path": command[0],
        "Args": command[1:],
        "State": {
            "Status": container_state(container),
            "Running": container.running,
            "Paused": False,
            "Restarting": False,
            "OOMKilled": False,
            "Dead": False,
            "Pid": (int(container.id[:4], 16) % 9000 + 1000) * 4 if container.running else 0,
            "ExitCode": 0 if container.running else container.exit_code,
            "Error": container.error,
            "StartedAt": rfc3339nano(container.started_at),
            "FinishedAt": rfc3339nano(None if container.running else container.finished_at),
        },
        "Image": image_id(images[container.image]),
        "ResolvConfPath": "",
        "HostnamePath": "",
        "HostsPath": "",
        "LogPath": log,
        "Name": f"/{container.name}",
        "RestartCount": 0,
        "Driver": "windowsfilter",
        "Platform": "windows",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": {
            "Binds": None,
            "ContainerIDFile": "",
            "LogConfig": {"Type": "json-file", "Config": {}},
            "NetworkMode": "nat",
            "PortBindings": {},
            "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
            "AutoRemove": False,
            "VolumeDriver": "",
            "VolumesFrom": None,
            "CapAdd": None,
            "CapDrop": None,
            "CgroupnsMode": "",
            "Dns": [],
            "DnsOptions": [],
            "DnsSearch": [],
            "ExtraHosts": None,
            "GroupAdd": None,
            "IpcMode": "",
            "Cgroup": "",
            "Links": None,
            "OomScoreAdj": 0,
            "PidMode": "",
            "Privileged": False,
            "PublishAllPorts": False,
            "ReadonlyRootfs": False,
            "SecurityOpt": None,
            "UTSMode": "",
            "UsernsMode": "",
            "ShmSize": 0,
            "ConsoleSize": [0, 0],
            "Isolation": container.isolation,
            "CpuShares": 0,
            "Memory": 0,
            "NanoCpus": 0,
            "CpuCount": 0,
            "CpuPercent": 0,
            "MaximumIOps": 0,
            "MaximumIOBps": 0,
        },
        "GraphDriver": {
            "Data": {"dir": f"{ROOT_DIR}\\windowsfilter\\{container.id}"},
            "Name": "windowsfilter",
        },
        "Mounts": [],
        "Config": _config(
            hostname=container.id[:12],
            env=[f"Fabric_ApplicationName={container.application}"],
            cmd=command,
            image=container.image,
            labels={},
        ),
        "NetworkSettings": {
            "Bridge": "",
            "SandboxID": container.id if container.running else "",
            "HairpinMode": False,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "Ports": {},
            "SandboxKey": container.id if container.running else "",
            "SecondaryIPAddresses": None,
            "SecondaryIPv6Addresses": None,
            "EndpointID": "",
            "Gateway": "",
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "IPAddress": "",
            "IPPrefixLen": 0,
            "IPv6Gateway": "",
            "MacAddress": "",
            "Networks": _network(container.id, container.running),
        },
    }


def find_container(containers: Iterable[SimContainer], name: str) -> SimContainer | None:
    """By full id, name (with or without '/'), or a unique id prefix, as the daemon looks up."""
    containers = list(containers)
    wanted = name.removeprefix("/")
    for container in containers:
        if container.id == name or container.name == wanted:
            return container
    matches = [c for c in containers if c.id.startswith(name)] if name else []
    return matches[0] if len(matches) == 1 else None


def _filters(raw: str | None) -> dict[str, list[str]]:
    """The `filters` query: {"key": ["v"]} or the older {"key": {"v": true}}."""
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid filter: {exc}") from None
    if not isinstance(parsed, dict):
        raise ValueError("invalid filter: expected a JSON object")
    result = {}
    for key, value in parsed.items():
        result[key] = list(value.keys() if isinstance(value, dict) else value)
    return result


CONTAINER_FILTERS = ("id", "name", "status", "ancestor", "isolation", "label")


def list_containers(
    node: SimNode, query: dict[str, str], images: dict[str, ImageSpec], now: datetime
) -> list[dict[str, Any]]:
    """GET /containers/json with all, limit and filters; raises ValueError for a bad filter."""
    return [container_summary(c, images, now) for c in _listed(node, query)]


def list_containers_json(
    node: SimNode, query: dict[str, str], images: dict[str, ImageSpec], now: datetime
) -> bytes:
    """`list_containers` as the body's JSON bytes, each entry's JSON cached (`_summary_json`)."""
    entries = [_summary_json(*_summary_fields(c, images, now)) for c in _listed(node, query)]
    return json_list(entries)


def _listed(node: SimNode, query: dict[str, str]) -> list[SimContainer]:
    """The containers GET /containers/json lists, newest first; ValueError for a bad filter."""
    filters = _filters(query.get("filters"))
    for key in filters:
        if key not in CONTAINER_FILTERS:
            raise ValueError(f"invalid filter '{key}'")
    for status in filters.get("status", []):
        if status not in CONTAINER_STATUSES:
            raise ValueError(f"invalid filter 'status={status}'")
    show_all = query.get("all", "0") not in ("0", "false", "") or bool(filters.get("status"))
    limit = int(query.get("limit", "-1") or -1)
    chosen = [
        container
        for container in sorted(node.containers, key=_created, reverse=True)
        if (show_all or limit > 0 or container.running)
        and (not filters or _container_matches(container, filters))
    ]
    return chosen[:limit] if limit > 0 else chosen


def _created(container: SimContainer) -> datetime:
    return container.created


def _container_matches(container: SimContainer, filters: dict[str, list[str]]) -> bool:
    return all(
        any(_filter_matches(container, key, v) for v in values)
        for key, values in filters.items()
        if values
    )


def _filter_matches(container: SimContainer, key: str, value: str) -> bool:
    if key == "id":
        return container.id.startswith(value)
    if key == "name":
        return value.removeprefix("/") in container.name
    if key == "status":
        return value == container_state(container)
    if key == "ancestor":
        return normalize_reference(value) == normalize_reference(container.image)
    if key == "isolation":
        return value == container.isolation
    return False  # label: no simulated container has one


# ------------------------------------------------------------------ images


def image_summary(spec: ImageSpec) -> dict[str, Any]:
    """One entry of GET /images/json (Created is unix seconds here, RFC 3339 in inspect)."""
    return {
        "Containers": -1,
        "Created": _created_seconds(spec),
        "Id": image_id(spec),
        "Labels": None,
        "ParentId": "",
        "RepoDigests": [repo_digest(spec)],
        "RepoTags": [spec.ref],
        "SharedSize": -1,
        "Size": spec.size,
        "VirtualSize": spec.size,
    }


def image_inspect(spec: ImageSpec) -> dict[str, Any]:
    """GET /images/{name}/json: Os and OsVersion (with revision) are what the rules read."""
    ident = image_id(spec)
    config = _config(cmd=["c:\\windows\\system32\\cmd.exe"])
    return {
        "Id": ident,
        "RepoTags": [spec.ref],
        "RepoDigests": [repo_digest(spec)],
        "Parent": "",
        "Comment": "",
        "Created": rfc3339nano(parse_created(spec.created)),
        "Container": "",
        "ContainerConfig": _config(),
        "DockerVersion": "",
        "Author": "",
        "Config": config,
        "Architecture": "amd64",
        "Os": "windows",
        "OsVersion": str(spec.os_version),
        "Size": spec.size,
        "VirtualSize": spec.size,
        "GraphDriver": {
            "Data": {"dir": f"{ROOT_DIR}\\windowsfilter\\{ident.removeprefix('sha256:')}"},
            "Name": "windowsfilter",
        },
        "RootFS": {"Type": "layers", "Layers": ["sha256:" + _sha256("layer", spec.ref)]},
        "Metadata": {"LastTagTime": ZERO_TIME},
    }


def find_image(specs: Iterable[ImageSpec], name: str) -> ImageSpec | None:
    """By reference (docker.io/ and :latest normalized), digest, full id or unique id prefix."""
    specs = list(specs)
    wanted = normalize_reference(name)
    for spec in specs:
        if wanted == normalize_reference(spec.ref) or name in (image_id(spec), repo_digest(spec)):
            return spec
    hexpart = name.removeprefix("sha256:")
    if len(hexpart) < 1 or any(ch not in "0123456789abcdef" for ch in hexpart):
        return None
    matches = [s for s in specs if image_id(s).removeprefix("sha256:").startswith(hexpart)]
    return matches[0] if len(matches) == 1 else None


IMAGE_FILTERS = ("reference", "dangling", "label")


def list_images(
    node: SimNode, query: dict[str, str], images: dict[str, ImageSpec]
) -> list[dict[str, Any]]:
    """GET /images/json with the reference and dangling filters; ValueError for a bad filter."""
    return [image_summary(spec) for spec in _listed_images(node, query, images)]


def list_images_json(node: SimNode, query: dict[str, str], images: dict[str, ImageSpec]) -> bytes:
    """`list_images` as the body's JSON bytes, each entry's JSON cached by its image."""
    entries = [_image_summary_json(spec) for spec in _listed_images(node, query, images)]
    return json_list(entries)


@functools.lru_cache(maxsize=1024)
def _image_summary_json(spec: ImageSpec) -> bytes:
    return compact(image_summary(spec))


@functools.lru_cache(maxsize=1024)
def _created_seconds(spec: ImageSpec) -> int:
    return int(parse_created(spec.created).timestamp())


def _listed_images(
    node: SimNode, query: dict[str, str], images: dict[str, ImageSpec]
) -> list[ImageSpec]:
    """The images GET /images/json lists, newest first; ValueError for a bad filter."""
    filters = _filters(query.get("filters"))
    for key in filters:
        if key not in IMAGE_FILTERS:
            raise ValueError(f"invalid filter '{key}'")
    result = []
    for spec in (images[ref] for ref in node.images):
        refs = filters.get("reference", [])
        if refs and not any(
            fnmatchcase(spec.ref, pattern) or fnmatchcase(repository(spec.ref), pattern)
            for pattern in refs
        ):
            continue
        if "true" in filters.get("dangling", []) or filters.get("label"):
            continue  # every simulated image is tagged and unlabelled
        result.append(spec)
    return sorted(result, key=_created_seconds, reverse=True)


def encode(body: Any) -> bytes:
    """A whole answer's JSON as dockerd writes it (moby's httputils.WriteJSON: Go's json
    Encoder with HTML escaping off): compact, UTF-8, and a newline after the value."""
    return compact(body) + b"\n"


def compact(value: Any) -> bytes:
    """A value's JSON as Go's encoder writes it, with no space after a colon or a comma."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def json_list(entries: list[bytes]) -> bytes:
    """A whole answer that is a list, from its entries' `compact` JSON."""
    return b"[" + b",".join(entries) + b"]\n"
