"""Which of an engine's images a container runs (tui.rules.images.find_image)."""

from __future__ import annotations

from tui.model import Container, Engine, Image
from tui.rules.images import find_image

A = "a" * 64
B = "b" * 64


def _engine(*images: Image) -> Engine:
    return Engine(node_name="n", endpoint="tcp://127.0.0.1:2376", images=images)


def _container(image: str, image_id: str = "") -> Container:
    return Container(id="c" * 64, name="c", image=image, image_id=image_id, isolation="process")


def test_by_full_id_short_id_and_tag_case_insensitive():
    first, second = Image(f"sha256:{A}", ("contoso/web:4.1",)), Image(f"sha256:{B}", ("X/Y:1",))
    engine = _engine(first, second)
    assert find_image(engine, _container("whatever", f"sha256:{B}")) is second
    assert find_image(engine, _container(B[:12])) is second  # created by a short id
    assert find_image(engine, _container("x/y:1")) is second
    assert find_image(engine, _container("contoso/web")) is None  # no tag is :latest
    assert find_image(engine, _container("contoso/web:4.1", "sha256:" + "d" * 64)) is first


def test_the_first_image_in_the_list_wins():
    one, two = Image(f"sha256:{A}", ("r:1",)), Image(f"sha256:{A}", ("r:1",))
    assert find_image(_engine(one, two), _container("r:1", f"sha256:{A}")) is one
    assert find_image(_engine(two, one), _container("r:1", f"sha256:{A}")) is two
    # A short id matching two images: the first listed, not the exact one.
    longer = Image("sha256:" + "a" * 12 + "f" * 52)
    assert find_image(_engine(longer, one), _container("a" * 12)) is longer


def test_each_engine_is_looked_up_in_its_own_images():
    mine, theirs = Image(f"sha256:{A}", ("r:1",)), Image(f"sha256:{B}", ("r:1",))
    left, right = _engine(mine), _engine(theirs)
    for _ in range(2):  # alternating, so no engine is answered from the other's images
        assert find_image(left, _container("r:1")) is mine
        assert find_image(right, _container("r:1")) is theirs
    assert find_image(_engine(), _container("r:1", f"sha256:{A}")) is None


def test_a_repeated_look_up_gives_each_container_its_own_image():
    web, api = Image(f"sha256:{A}", ("contoso/web:4.1",)), Image(f"sha256:{B}", ("contoso/api:2",))
    engine = _engine(web, api)
    # The rules ask for each container's image several times: by reference, by id, and an
    # id the engine lacks next to a reference it has.
    for _ in range(2):
        assert find_image(engine, _container("contoso/web:4.1")) is web
        assert find_image(engine, _container("contoso/api:2")) is api
        assert find_image(engine, _container("contoso/api:2", f"sha256:{A}")) is web
        assert find_image(engine, _container("contoso/web:4.1", "sha256:" + "d" * 64)) is web
        assert find_image(engine, _container("contoso/gone:1", "sha256:" + "d" * 64)) is None
