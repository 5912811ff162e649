"""Cluster profiles: a TOML file naming, per cluster, how to reach and trust its three sources.

The file lives in the platformdirs config dir (`profiles.toml`) unless `--config` names another.
README "Cluster profiles" shows a complete example. Relative paths are taken from the file's
directory. Every error is one line naming the file and the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from tui.errors import ConfigError, SfpatchError, UsageError
from tui.inputs import NODE_TYPE, PROFILE, port_problem, shown
from tui.tomlfile import Table, load_toml
from tui.userfile import PEM, PROFILES, read_user_file
from tui.winver import WindowsVersion, parse_version

PROFILE_FILE = "profiles.toml"
DEFAULT_ENDPOINT_TEMPLATE = "tcp://{address}:2376"
CREDENTIALS = ("default", "azure-cli", "static-token")
# Reads in flight at once. 8 keeps two cores busy through a few ms of round trip per call; 32
# threads on 2 cores cost about a fifth more CPU in GIL hand-offs, for no speed (`make bench`).
DEFAULT_CONCURRENCY = 8
DEFAULT_TIMEOUT = 10.0  # seconds, per call, for every source
DURABILITIES = ("Bronze", "Silver", "Gold")
DEFAULT_RETRIES = 2  # extra attempts for a read that failed (a flaky gateway answers 503)
# What a profile may ask of the inventory: more threads or a longer wait help nobody.
MAX_CONCURRENCY = 256
TIMEOUT_RANGE = (0.1, 3600.0)
MAX_RETRIES = 10
POLL_INTERVAL_RANGE = (0.05, 3600.0)


@dataclass(frozen=True)
class GatewayProfile:
    """The Service Fabric gateway: endpoint, client identity and server validation."""

    endpoint: str
    client_pem: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    ca: Path | None = None
    server_thumbprints: tuple[str, ...] = ()
    aad: bool = False
    aad_scope: str | None = None  # default: the cluster application from GetAadMetadata


@dataclass(frozen=True)
class ArmProfile:
    """Azure Resource Manager: where the scale sets are and how to authenticate."""

    subscription: str
    resource_group: str
    scale_sets: Mapping[str, str]  # node type -> scale set name
    credential: str = "default"
    token: str | None = None  # the bearer token, only for credential = "static-token"
    endpoint: str | None = None  # None: the public cloud's ARM endpoint
    ca: Path | None = None
    # Seconds between polls of a long-running operation when ARM sends no Retry-After.
    poll_interval: float = 30.0


@dataclass(frozen=True)
class DockerProfile:
    """The nodes' Docker engines: TLS files and how a node's address becomes an endpoint."""

    endpoint_template: str = DEFAULT_ENDPOINT_TEMPLATE
    ca: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None


@dataclass(frozen=True)
class InventorySettings:
    """How hard the inventory may push: parallel calls, per-call timeout, read retries."""

    concurrency: int = DEFAULT_CONCURRENCY
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES


@dataclass(frozen=True)
class NodeTypeProfile:
    """The cluster-side settings of one node type."""

    durability: str | None = None  # Bronze, Silver or Gold
    stateless: bool = False
    strategy: str | None = None  # how a run patches it (tui/runbook/strategies.py)


@dataclass(frozen=True)
class ClusterProfile:
    """Everything needed to gather a snapshot of one cluster."""

    name: str
    origin: Path
    gateway: GatewayProfile
    arm: ArmProfile | None = None
    docker: DockerProfile | None = None
    patch_targets: Mapping[str, WindowsVersion] = field(default_factory=dict)  # by node type
    inventory: InventorySettings = field(default_factory=InventorySettings)
    # What the cluster resource (Microsoft.ServiceFabric/clusters) says of each node type; no
    # source sfpatch reads carries it, so the profile does. Used by the durability rules.
    node_types: Mapping[str, NodeTypeProfile] = field(default_factory=dict)


def default_config_path() -> Path:
    """`profiles.toml` in the user's config dir (platformdirs)."""
    from platformdirs import user_config_path

    return user_config_path("sfpatch") / PROFILE_FILE


def load_profiles(path: Path | None = None) -> dict[str, ClusterProfile]:
    """Every profile in the file, validated; a bad or missing file raises ConfigError."""
    path = path or default_config_path()
    root = load_toml(path, PROFILES, ConfigError)
    base = path.parent
    clusters = root.table("clusters", required=True)
    profiles = {}
    for name, table in clusters.subtables():
        problem = PROFILE.problem(name)
        if problem is not None:
            raise clusters.fail(name, problem)
        profiles[name] = _read_profile(name, table, path, base)
    clusters.done()
    root.done()
    if not profiles:
        raise root.fail("clusters", "no [clusters.NAME] table")
    return profiles


def load_profile(name: str, path: Path | None = None) -> ClusterProfile:
    """One profile by name; an unknown name raises ConfigError listing the known ones."""
    path = path or default_config_path()
    profiles = load_profiles(path)
    if name not in profiles:
        known = ", ".join(sorted(profiles))
        raise ConfigError(f"{path}: clusters.{name}: no such profile (known: {known})")
    return profiles[name]


def parse_target(text: str) -> tuple[str, WindowsVersion]:
    """`NODETYPE=VERSION` as given to --target -> (node type, version); UsageError if malformed."""
    node_type, sep, version = text.partition("=")
    node_type = node_type.strip()
    if not sep or not node_type or not version.strip():
        raise UsageError(
            f"--target {shown(text)}: expected NODETYPE=VERSION, e.g. Legacy=10.0.14393.1944"
        )
    problem = NODE_TYPE.problem(node_type)
    if problem is not None:
        raise UsageError(f"--target {shown(text)}: {problem}")
    try:
        parsed = parse_version(version.strip())
    except UsageError as exc:
        raise UsageError(f"--target {shown(text)}: {exc}") from None
    if parsed.revision is None:
        raise UsageError(
            f"--target {shown(text)}: the version needs its revision, e.g. 10.0.14393.1944"
        )
    return node_type, parsed


def _read_profile(name: str, table: Table, origin: Path, base: Path) -> ClusterProfile:
    gateway = _read_gateway(table.table("gateway", required=True), base)
    arm = _read_arm(table.table("arm"), base) if table.has("arm") else None
    docker = _read_docker(table.table("docker"), base) if table.has("docker") else None
    targets = _read_targets(table.table("patch_targets"))
    inventory = _read_inventory(table.table("inventory"))
    node_types = _read_node_types(table.table("node_types"))
    table.done()
    return ClusterProfile(name, origin, gateway, arm, docker, targets, inventory, node_types)


def _strategy_names() -> tuple[str, ...]:
    from tui.runbook.strategies import STRATEGIES

    return tuple(STRATEGIES)


def _read_node_types(table: Table) -> Mapping[str, NodeTypeProfile]:
    result = {}
    for node_type, sub in table.subtables():
        _node_type(table, node_type)
        result[node_type] = NodeTypeProfile(
            durability=sub.choice("durability", DURABILITIES, None),
            stateless=sub.bool("stateless", False),
            strategy=sub.choice("strategy", _strategy_names(), None),
        )
        sub.done()
    table.done()
    return MappingProxyType(result)


def _read_gateway(table: Table, base: Path) -> GatewayProfile:
    endpoint = _url(table, "endpoint", table.str("endpoint"))
    pem = _pem_file(table, "client_pem", base, _CERT, _KEY)
    cert = _pem_file(table, "client_cert", base, _CERT)
    key = _pem_file(table, "client_key", base, _KEY)
    aad = table.bool("aad", False)
    if pem and (cert or key):
        raise table.fail("client_pem", "give client_pem or client_cert + client_key, not both")
    if bool(cert) != bool(key):
        raise table.fail(
            "client_key" if cert else "client_cert", "client_cert and client_key go together"
        )
    if not (pem or cert or aad):
        raise table.fail(
            "client_pem", "required: client_pem, or client_cert + client_key, or aad = true"
        )
    ca = _pem_file(table, "ca", base, _CERT)
    thumbprints = tuple(_thumbprint(table, t) for t in table.str_list("server_thumbprints", ()))
    if ca and thumbprints:
        raise table.fail("server_thumbprints", "give ca or server_thumbprints, not both")
    profile = GatewayProfile(
        endpoint=endpoint.rstrip("/"),
        client_pem=pem,
        client_cert=cert,
        client_key=key,
        ca=ca,
        server_thumbprints=thumbprints,
        aad=aad,
        aad_scope=table.str("aad_scope", None),
    )
    table.done()
    return profile


def _read_arm(table: Table, base: Path) -> ArmProfile:
    scale_sets_table = table.table("scale_sets", required=True)
    scale_sets = {
        _node_type(scale_sets_table, node_type): scale_sets_table.str(node_type)
        for node_type in _keys(scale_sets_table)
    }
    if not scale_sets:
        raise table.fail("scale_sets", "name the scale set of at least one node type")
    credential = table.choice("credential", CREDENTIALS, "default")
    token = table.str("token", None)
    if token is not None and credential != "static-token":
        raise table.fail("token", 'only used with credential = "static-token"')
    if token is None and credential == "static-token":
        raise table.fail("token", 'required with credential = "static-token"')
    endpoint = table.str("endpoint", None)
    if endpoint is not None:
        _url(table, "endpoint", endpoint)
    profile = ArmProfile(
        subscription=table.str("subscription"),
        resource_group=table.str("resource_group"),
        scale_sets=MappingProxyType(scale_sets),
        credential=credential,
        token=token,
        endpoint=endpoint.rstrip("/") if endpoint else None,
        ca=_pem_file(table, "ca", base, _CERT),
        poll_interval=float(table.number("poll_interval", 30.0, *POLL_INTERVAL_RANGE)),
    )
    scale_sets_table.done()
    table.done()
    return profile


def _read_docker(table: Table, base: Path) -> DockerProfile:
    template = table.str("endpoint_template", DEFAULT_ENDPOINT_TEMPLATE)
    try:
        rendered = template.format(address="10.0.0.4")
    except (KeyError, IndexError, ValueError):
        raise table.fail(
            "endpoint_template", f"only {{address}} may be substituted (got {shown(template)})"
        ) from None
    if "{address}" not in template or not rendered.startswith("tcp://"):
        raise table.fail(
            "endpoint_template", f"must look like tcp://{{address}}:2376 (got {shown(template)})"
        )
    problem = port_problem(rendered)
    if problem is not None:
        raise table.fail("endpoint_template", f"{shown(template)}: {problem}")
    cert = _pem_file(table, "client_cert", base, _CERT)
    key = _pem_file(table, "client_key", base, _KEY)
    if bool(cert) != bool(key):
        raise table.fail(
            "client_key" if cert else "client_cert", "client_cert and client_key go together"
        )
    profile = DockerProfile(template, _pem_file(table, "ca", base, _CERT), cert, key)
    table.done()
    return profile


def _read_targets(table: Table) -> Mapping[str, WindowsVersion]:
    targets = {}
    for node_type in _keys(table):
        _node_type(table, node_type)
        text = table.str(node_type)
        try:
            version = parse_version(text)
        except UsageError:
            raise table.fail(
                node_type, f"not a Windows version (got {shown(text)}, e.g. 10.0.14393.1944)"
            ) from None
        if version.revision is None:
            raise table.fail(
                node_type, f"needs the revision too (got {shown(text)}, e.g. 10.0.14393.1944)"
            )
        targets[node_type] = version
    table.done()
    return MappingProxyType(targets)


def _read_inventory(table: Table) -> InventorySettings:
    settings = InventorySettings(
        concurrency=table.int("concurrency", DEFAULT_CONCURRENCY, 1, MAX_CONCURRENCY),
        timeout=float(table.number("timeout", DEFAULT_TIMEOUT, *TIMEOUT_RANGE)),
        retries=table.int("retries", DEFAULT_RETRIES, 0, MAX_RETRIES),
    )
    table.done()
    return settings


def _node_type(table: Table, name: str) -> str:
    """A node type named as a key (scale_sets, patch_targets, node_types), checked."""
    problem = NODE_TYPE.problem(name)
    if problem is not None:
        raise table.fail(name, problem)
    return name


def _url(table: Table, key: str, url: str) -> str:
    """An https:// URL whose host and port can be connected to."""
    if not url.startswith("https://"):
        raise table.fail(key, f"must be an https:// URL (got {shown(url)})")
    problem = port_problem(url)
    if problem is not None:
        raise table.fail(key, f"{shown(url)}: {problem}")
    return url


def _keys(table: Table) -> list[str]:
    return list(table._data)  # noqa: SLF001  (a table of free-form keys such as node types)


_CERT = "certificate"
_KEY = "private key"
_PRIVATE_KEY_BLOCK = re.compile(
    rb"-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----.+?-----END \1-----", re.DOTALL
)


def _pem_file(table: Table, key: str, base: Path, *holds: str) -> Path | None:
    """A file named by `key` (relative to the profile's folder) that holds what the key
    promises (a PEM certificate, a private key), so that a wrong file fails here rather than as
    an SSL error at the first connection."""
    text = table.str(key, None)
    if text is None:
        return None
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = base / path
    try:
        data = read_user_file(path, PEM)
    except SfpatchError as exc:
        message = str(exc)
        if message == f"{path}: no such file":
            message = f"no such file: {path}"
        raise table.fail(key, message) from None
    problem = _pem_problem(data, *holds)
    if problem:
        raise table.fail(key, f"{path} {problem}")
    return path


def _pem_problem(data: bytes, *holds: str) -> str | None:
    """Why the bytes do not hold each of `holds` ("certificate", "private key"), or None."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    if _CERT in holds:
        if b"-----BEGIN CERTIFICATE-----" not in data:
            return "holds no certificate (a PEM -----BEGIN CERTIFICATE----- block)"
        try:
            x509.load_pem_x509_certificates(data)
        except ValueError:
            return "holds a malformed certificate"
    if _KEY in holds:
        match = _PRIVATE_KEY_BLOCK.search(data)
        if match is None:
            return "holds no private key (a PEM -----BEGIN PRIVATE KEY----- block)"
        try:
            load_pem_private_key(match.group(0), password=None)
        except TypeError:
            return "holds an encrypted private key; give it unencrypted"
        except (ValueError, UnsupportedAlgorithm):
            return "holds a malformed private key"
    return None


def _thumbprint(table: Table, text: str) -> str:
    cleaned = text.replace(":", "").replace(" ", "").lower()
    if len(cleaned) != 40 or any(c not in "0123456789abcdef" for c in cleaned):
        raise table.fail(
            "server_thumbprints", f"not a SHA-1 thumbprint (40 hex digits): {shown(text)}"
        )
    return cleaned


def render_profile(profile: ClusterProfile) -> str:
    """The profile as a `[clusters.NAME]` TOML section that `load_profiles` reads back."""
    section = f"clusters.{_toml_key(profile.name)}"
    g = profile.gateway
    lines = [f"[{section}.gateway]", f"endpoint = {_toml_str(g.endpoint)}"]
    lines += _path_lines(
        client_pem=g.client_pem, client_cert=g.client_cert, client_key=g.client_key
    )
    lines += _path_lines(ca=g.ca)
    if g.server_thumbprints:
        lines.append(f"server_thumbprints = [{', '.join(map(_toml_str, g.server_thumbprints))}]")
    if g.aad:
        lines.append("aad = true")
    if g.aad_scope:
        lines.append(f"aad_scope = {_toml_str(g.aad_scope)}")
    if profile.arm is not None:
        a = profile.arm
        lines += ["", f"[{section}.arm]", f"subscription = {_toml_str(a.subscription)}"]
        lines.append(f"resource_group = {_toml_str(a.resource_group)}")
        lines.append(f"scale_sets = {_inline(a.scale_sets)}")
        lines.append(f"credential = {_toml_str(a.credential)}")
        if a.token is not None:
            lines.append(f"token = {_toml_str(a.token)}")
        if a.endpoint is not None:
            lines.append(f"endpoint = {_toml_str(a.endpoint)}")
        lines += _path_lines(ca=a.ca)
        lines.append(f"poll_interval = {a.poll_interval}")
    if profile.docker is not None:
        d = profile.docker
        lines += [
            "",
            f"[{section}.docker]",
            f"endpoint_template = {_toml_str(d.endpoint_template)}",
        ]
        lines += _path_lines(ca=d.ca, client_cert=d.client_cert, client_key=d.client_key)
    if profile.patch_targets:
        targets = {k: str(v) for k, v in profile.patch_targets.items()}
        lines += ["", f"[{section}.patch_targets]"]
        lines += [f"{_toml_key(k)} = {_toml_str(v)}" for k, v in targets.items()]
    for node_type, settings in profile.node_types.items():
        lines += ["", f"[{section}.node_types.{_toml_key(node_type)}]"]
        if settings.durability:
            lines.append(f"durability = {_toml_str(settings.durability)}")
        lines.append(f"stateless = {'true' if settings.stateless else 'false'}")
        if settings.strategy:
            lines.append(f"strategy = {_toml_str(settings.strategy)}")
    i = profile.inventory
    lines += ["", f"[{section}.inventory]", f"concurrency = {i.concurrency}"]
    lines += [f"timeout = {i.timeout}", f"retries = {i.retries}"]
    return "\n".join(lines) + "\n"


def _path_lines(**paths: Path | None) -> list[str]:
    return [f"{key} = {_toml_str(str(path))}" for key, path in paths.items() if path is not None]


def _inline(mapping: Mapping[str, str]) -> str:
    return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_str(v)}" for k, v in mapping.items()) + " }"


def _toml_key(key: str) -> str:
    bare = key.replace("-", "").replace("_", "").isalnum() and key.isascii()
    return key if bare else _toml_str(key)


def _toml_str(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string
