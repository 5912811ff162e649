"""Scenario files: the TOML description of a simulated cluster, validated into frozen values.

The format is documented in README ("Scenario files"); tui/sim/scenarios/seed.toml is the
worked example. A scenario is given by name (a file shipped in tui/sim/scenarios/) or by path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tui.errors import ScenarioError, UsageError
from tui.inputs import CLUSTER, NODE_TYPE, SCENARIO, shown
from tui.tomlfile import Table, load_toml
from tui.userfile import SCENARIO as SCENARIO_FILE
from tui.winver import WindowsVersion, parse_version

SCENARIO_DIR = Path(__file__).parent / "scenarios"
FORMAT_VERSION = 1
DURABILITIES = ("Bronze", "Silver", "Gold")
ISOLATIONS = ("process", "hyperv")
UPGRADE_MODES = ("Manual", "Automatic", "Rolling")
PATCH_MODES = ("Manual", "AutomaticByOS", "AutomaticByPlatform")
# Each node's engine has a loopback address of its own, 127.T.H.L with H from 0 to 255 and 250
# values of L (tui/sim/state.py): that many nodes, and no more, can be told apart.
MAX_NODES = 256 * 250
# Every container is held in memory and listed by its engine; ten times the `large` scenario.
MAX_CONTAINERS = 100_000
MAX_DOMAINS = 100
MAX_TIMING = 7 * 86_400.0  # simulated seconds: a step longer than a week is a typo
MAX_INT64 = 2**63 - 1  # Docker's Size and the seed travel as 64-bit integers


@dataclass(frozen=True)
class Timing:
    """Simulated seconds each cluster-side transition takes."""

    safety_checks: float = 20
    replica_close: float = 10
    restart: float = 90
    activate: float = 5
    install_updates: float = 600
    reimage: float = 900
    arm_operation: float = 30


@dataclass(frozen=True)
class ImageSpec:
    """An image a node's engine holds: its reference and the Windows version it is built on."""

    ref: str
    os_version: WindowsVersion
    size: int
    created: str


@dataclass(frozen=True)
class ContainerSpec:
    """A container template: placed on the listed instances of its node type (all if empty)."""

    name: str
    image: str
    isolation: str
    application: str
    instances: tuple[int, ...] = ()


@dataclass(frozen=True)
class ScaleSetSpec:
    """The VM scale set model behind a node type (the settings the rules judge)."""

    name: str
    upgrade_mode: str
    automatic_os_upgrade: bool
    disable_automatic_rollback: bool
    enable_automatic_updates: bool
    patch_mode: str
    image_publisher: str
    image_offer: str
    image_sku: str
    image_version: str
    sf_extension_version: str
    sf_durability: str
    vm_size: str


@dataclass(frozen=True)
class NodeTypeSpec:
    """A node type: its instances, their hosts, and what runs on them."""

    name: str
    instances: int
    durability: str
    is_primary: bool
    seed_instances: tuple[int, ...]
    host_version: WindowsVersion
    patch_target: WindowsVersion
    host_overrides: dict[int, WindowsVersion]
    scale_set: ScaleSetSpec
    containers: tuple[ContainerSpec, ...]
    strategy: str | None = None  # how a run patches it; written into the simulator's profile


@dataclass(frozen=True)
class Scenario:
    """A whole simulated cluster."""

    name: str
    cluster_name: str
    code_version: str
    subscription: str
    resource_group: str
    location: str
    upgrade_domains: int
    fault_domains: int
    seed: int
    timing: Timing
    node_types: tuple[NodeTypeSpec, ...]
    images: dict[str, ImageSpec]


def resolve_scenario_path(name_or_path: str) -> Path:
    """A shipped scenario name (`seed`, `large`) or a path to a .toml file."""
    candidate = Path(name_or_path)
    looks_like_path = candidate.suffix == ".toml" or "/" in name_or_path or os.sep in name_or_path
    if looks_like_path or os.path.lexists(name_or_path):
        return candidate  # what is wrong with it, if anything, the loader says
    if SCENARIO.problem(name_or_path) is None:
        shipped = SCENARIO_DIR / f"{name_or_path}.toml"
        if shipped.exists():
            return shipped
    names = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.toml")))
    raise UsageError(f"unknown scenario {shown(name_or_path)}: give a .toml path or one of {names}")


def load_scenario(name_or_path: str) -> Scenario:
    """Load and validate a scenario; errors name the file and the key."""
    path = resolve_scenario_path(name_or_path)
    root = load_toml(path, SCENARIO_FILE, ScenarioError)
    return _read_scenario(root, path.stem)


def _read_scenario(root: Table, name: str) -> Scenario:
    fmt = root.int("format", FORMAT_VERSION)
    if fmt != FORMAT_VERSION:
        raise root.fail("format", f"this sfpatch reads format {FORMAT_VERSION} (got {shown(fmt)})")
    cluster = root.table("cluster", required=True)
    timing = _read_timing(root.table("timing"))
    images = {}
    for table in root.tables("images"):
        image = _read_image(table)
        if image.ref in images:
            raise table.fail("ref", f"image {shown(image.ref)} is listed twice")
        images[image.ref] = image
    upgrade_domains = cluster.int("upgrade_domains", 5, 1, MAX_DOMAINS)
    node_types = tuple(_read_node_type(t, images) for t in root.tables("node_types"))
    if not node_types:
        raise root.fail("node_types", "at least one [[node_types]] is required")
    names = [nt.name for nt in node_types]
    if len(set(names)) != len(names):
        raise root.fail("node_types", "node type names must be unique")
    _check_size(root, node_types)
    scenario = Scenario(
        name=name,
        cluster_name=cluster.name("name", CLUSTER),
        code_version=cluster.str("code_version", "10.1.2175.9590"),
        subscription=cluster.str("subscription", "00000000-0000-0000-0000-000000000000"),
        resource_group=cluster.str("resource_group", f"{cluster.str('name')}-rg"),
        location=cluster.str("location", "westeurope"),
        upgrade_domains=upgrade_domains,
        fault_domains=cluster.int("fault_domains", upgrade_domains, 1, MAX_DOMAINS),
        seed=cluster.int("seed", 1, 0, MAX_INT64),
        timing=timing,
        node_types=node_types,
        images=images,
    )
    cluster.done()
    root.done()
    return scenario


def _check_size(root: Table, node_types: tuple[NodeTypeSpec, ...]) -> None:
    """Refuse a cluster the simulator cannot tell apart or hold: too many nodes, containers."""
    nodes = sum(nt.instances for nt in node_types)
    if nodes > MAX_NODES:
        raise root.fail(
            "node_types",
            f"{nodes} instances in all; the simulator serves at most {MAX_NODES} "
            "(each node needs a loopback address of its own)",
        )
    containers = sum(len(c.instances) or nt.instances for nt in node_types for c in nt.containers)
    if containers > MAX_CONTAINERS:
        raise root.fail(
            "node_types",
            f"{containers} containers in all; the simulator holds at most {MAX_CONTAINERS}",
        )


def _read_timing(table: Table) -> Timing:
    defaults = Timing()
    values = {
        key: float(table.number(key, getattr(defaults, key), 0, MAX_TIMING))
        for key in Timing.__dataclass_fields__
    }
    table.done()
    return Timing(**values)


def _version(table: Table, key: str, default: object = None) -> WindowsVersion:
    text = table.str(key) if default is None else table.str(key, default)
    if isinstance(text, WindowsVersion):
        return text
    try:
        version = parse_version(text)
    except UsageError:
        raise table.fail(
            key, f"not a Windows version (got {shown(text)}, e.g. 10.0.17763.6054)"
        ) from None
    if version.revision is None:
        raise table.fail(key, f"needs the revision too (got {shown(text)}, e.g. 10.0.17763.6054)")
    return version


def _read_image(table: Table) -> ImageSpec:
    image = ImageSpec(
        ref=table.str("ref"),
        os_version=_version(table, "os_version"),
        size=table.int("size", 5_000_000_000, 0, MAX_INT64),
        created=table.str("created", "2024-01-01T00:00:00Z"),
    )
    table.done()
    return image


def _read_node_type(table: Table, images: dict[str, ImageSpec]) -> NodeTypeSpec:
    name = table.name("name", NODE_TYPE)
    instances = table.int("instances", minimum=1, maximum=MAX_NODES)
    durability = table.choice("durability", DURABILITIES, "Silver")
    host_version = _version(table, "host_version")
    seeds = table.int_list("seed_instances", ())
    for seed in seeds:
        if not 0 <= seed < instances:
            raise table.fail("seed_instances", f"instance {seed} does not exist")
    overrides = {}
    for override in table.tables("hosts"):
        instance = override.int("instance", minimum=0, maximum=MAX_NODES)
        if instance >= instances:
            raise override.fail("instance", f"instance {instance} does not exist")
        overrides[instance] = _version(override, "host_version")
        override.done()
    containers = tuple(_read_container(t, images, instances) for t in table.tables("containers"))
    node_type = NodeTypeSpec(
        name=name,
        instances=instances,
        durability=durability,
        is_primary=table.bool("is_primary", False),
        seed_instances=seeds,
        host_version=host_version,
        patch_target=_version(table, "patch_target", str(host_version)),
        host_overrides=overrides,
        scale_set=_read_scale_set(table.table("scale_set"), name, durability, host_version),
        containers=containers,
        strategy=table.choice("strategy", _strategy_names(), None),
    )
    table.done()
    return node_type


def _strategy_names() -> tuple[str, ...]:
    from tui.runbook.strategies import STRATEGIES

    return tuple(STRATEGIES)


def _read_scale_set(
    table: Table, node_type: str, durability: str, host: WindowsVersion
) -> ScaleSetSpec:
    image = table.table("image")
    spec = ScaleSetSpec(
        name=table.str("name", node_type),
        upgrade_mode=table.choice("upgrade_mode", UPGRADE_MODES, "Manual"),
        automatic_os_upgrade=table.bool("automatic_os_upgrade", False),
        disable_automatic_rollback=table.bool("disable_automatic_rollback", False),
        enable_automatic_updates=table.bool("enable_automatic_updates", True),
        patch_mode=table.choice("patch_mode", PATCH_MODES, "AutomaticByOS"),
        image_publisher=image.str("publisher", "MicrosoftWindowsServer"),
        image_offer=image.str("offer", "WindowsServer"),
        image_sku=image.str("sku", f"{_sku_year(host)}-Datacenter-with-Containers"),
        image_version=image.str("version", "latest"),
        sf_extension_version=table.str("sf_extension_version", "1.1"),
        sf_durability=table.choice("sf_durability", DURABILITIES, durability),
        vm_size=table.str("vm_size", "Standard_D4s_v3"),
    )
    image.done()
    table.done()
    return spec


def _sku_year(host: WindowsVersion) -> str:
    return {14393: "2016", 17763: "2019", 20348: "2022", 26100: "2025"}.get(host.build, "2019")


def _read_container(table: Table, images: dict[str, ImageSpec], instances: int) -> ContainerSpec:
    image = table.str("image")
    if image not in images:
        raise table.fail("image", f"no [[images]] entry has ref {shown(image)}")
    placed = table.int_list("instances", ())
    for instance in placed:
        if not 0 <= instance < instances:
            raise table.fail("instances", f"instance {instance} does not exist")
    spec = ContainerSpec(
        name=table.str("name"),
        image=image,
        isolation=table.choice("isolation", ISOLATIONS, "process"),
        application=table.str("application"),
        instances=placed,
    )
    if not spec.application.startswith("fabric:/"):
        raise table.fail("application", f"must start with fabric:/ (got {shown(spec.application)})")
    table.done()
    return spec
