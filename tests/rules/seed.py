"""The field situation the seed scenario encodes, as a hand-built snapshot for the rules."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tui.model import ClusterSnapshot, Container, Engine, Image, Instance, ScaleSet
from tui.winver import parse_version

TODAY = date(2026, 11, 26)
LEGACY_TARGET = parse_version("10.0.14393.1944")

FRONTEND = ScaleSet(
    name="FrontEnd",
    node_type="FrontEnd",
    upgrade_mode="Manual",
    automatic_os_upgrade=True,
    enable_automatic_updates=True,
    image_sku="2019-Datacenter-with-Containers",
    image_version="latest",
    image_exact_version="17763.6054.240703",
    sf_extension_version="1.1",
    sf_durability="Silver",
    capacity=3,
)
LEGACY = ScaleSet(
    name="Legacy",
    node_type="Legacy",
    upgrade_mode="Manual",
    automatic_os_upgrade=True,
    enable_automatic_updates=False,
    image_sku="2016-Datacenter-with-Containers",
    image_version="latest",
    image_exact_version="14393.1770.171010",
    sf_extension_version="1.1",
    sf_durability="Bronze",
    capacity=2,
)


def image(image_id: str, tag: str, os_version: str) -> Image:
    return Image(id=f"sha256:{image_id * 16}", repo_tags=(tag,), os_version=os_version)


def container(name: str, img: Image, isolation: str = "process") -> Container:
    return Container(
        id=name * 4,
        name=name,
        image=img.repo_tags[0],
        image_id=img.id,
        isolation=isolation,
        state="running",
    )


LEGACY_APP = image("a1b2", "contoso/legacy-app:2017.10", "10.0.14393.1770")
LEGACY_BASE = image("b2c3", "microsoft/windowsservercore:10.0.14393.1770", "10.0.14393.1770")
REPORTS_2016 = image("c3d4", "contoso/reports:1.4", "10.0.14393.1770")
FRONTEND_6054 = image("d4e5", "contoso/frontend:3.2", "10.0.17763.6054")
FRONTEND_5936 = image("e5f6", "contoso/frontend:3.1", "10.0.17763.5936")
FRONTEND_LATEST = image("f6a7", "contoso/frontend:latest", "10.0.17763.5329")


def engine(
    node: str, host: str, containers: tuple[Container, ...], images: tuple[Image, ...]
) -> Engine:
    return Engine(
        node_name=node,
        endpoint=f"tcp://{node}:2376",
        os_version=host,
        containers=containers,
        images=images,
    )


ENGINES = (
    engine(
        "_Legacy_0",
        "10.0.14393.1770",
        (
            container("legacy-web", LEGACY_APP),
            container("legacy-worker", LEGACY_APP),
            container("legacy-api", LEGACY_BASE),
        ),
        (LEGACY_APP, LEGACY_BASE),
    ),
    engine("_Legacy_1", "10.0.14393.1770", (container("legacy-web", LEGACY_APP),), (LEGACY_APP,)),
    engine(
        "_FrontEnd_0",
        "10.0.17763.6054",
        (container("reports", REPORTS_2016, "hyperv"), container("frontend", FRONTEND_6054)),
        (REPORTS_2016, FRONTEND_6054),
    ),
    engine(
        "_FrontEnd_1",
        "10.0.17763.6054",
        (container("frontend", FRONTEND_5936), container("frontend-next", FRONTEND_LATEST)),
        (FRONTEND_5936, FRONTEND_LATEST),
    ),
    # The lagging node: January 2024 while its siblings are on July 2024.
    engine(
        "_FrontEnd_2", "10.0.17763.5329", (container("frontend", FRONTEND_5936),), (FRONTEND_5936,)
    ),
)


def instance(scale_set: ScaleSet, index: int, latest: bool = True) -> Instance:
    return Instance(
        scale_set=scale_set.name,
        instance_id=str(index),
        node_name=f"_{scale_set.node_type}_{index}",
        latest_model_applied=latest,
    )


SNAPSHOT = ClusterSnapshot(
    taken_at=datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
    cluster_name="contoso-prod",
    endpoint="https://contoso-prod.westeurope.cloudapp.azure.com:19080",
    scale_sets=(FRONTEND, LEGACY),
    instances=(
        instance(FRONTEND, 0),
        instance(FRONTEND, 1),
        instance(FRONTEND, 2, latest=False),
        instance(LEGACY, 0),
        instance(LEGACY, 1),
    ),
    engines={e.node_name: e for e in ENGINES},
    cluster_durability={"FrontEnd": "Silver", "Legacy": "Bronze"},
)
PATCH_TARGETS = {"_Legacy_0": LEGACY_TARGET, "_Legacy_1": LEGACY_TARGET}
