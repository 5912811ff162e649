"""Image references as Docker prints them: split into repository and tag, matched to images."""

from __future__ import annotations

from dataclasses import dataclass

from tui.model import Container, Engine, Image

DOCKER_HUB_PREFIXES = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")


@dataclass(frozen=True)
class Reference:
    """repository[:tag][@digest]; tag is None when the reference names none (Docker uses latest)."""

    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def hub_repository(self) -> str:
        """The repository without a Docker Hub registry prefix, lower-cased."""
        repo = self.repository.lower()
        for prefix in DOCKER_HUB_PREFIXES:
            if repo.startswith(prefix):
                return repo[len(prefix) :]
        return repo


def parse_reference(text: str) -> Reference:
    """'mcr.microsoft.com/windows/servercore:ltsc2019@sha256:..' -> its parts."""
    name, _, digest = text.strip().partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return Reference(name[:colon], name[colon + 1 :] or None, digest or None)
    return Reference(name, None, digest or None)


def find_image(engine: Engine, container: Container) -> Image | None:
    """The engine's image a container runs, by image id or by the reference it was created with
    (the first such image in the engine's list)."""
    index = _index_of(engine.images)
    key = (container.image_id, container.image)
    if key not in index.found:  # several rules ask for each container's image in a row
        index.found[key] = _first_image(engine, index, container)
    return index.found[key]


def _first_image(engine: Engine, index: _ImageIndex, container: Container) -> Image | None:
    wanted_ids = {_bare_id(container.image_id), _bare_id(container.image)} - {""}
    first = min((index.prefixed(w) for w in wanted_ids if len(w) >= 12), default=len(index.ids))
    if first < len(index.ids):
        return engine.images[first]
    ref = parse_reference(container.image)
    position = index.by_tag.get(f"{ref.repository}:{ref.tag or 'latest'}".lower())
    return None if position is None else engine.images[position]


class _ImageIndex:
    """An engine's images' bare ids, and its lower-cased tags to their first position."""

    def __init__(self, images: tuple[Image, ...]) -> None:
        self.ids = [_bare_id(image.id) for image in images]
        self.by_tag: dict[str, int] = {}
        self._prefixed: dict[str, int] = {}
        self._first: dict[str, int] = {}
        self.found: dict[tuple[str, str], Image | None] = {}  # find_image's answers
        self._longest = max(map(len, self.ids), default=0)
        for position, image in enumerate(images):
            self._first.setdefault(self.ids[position], position)
            for tag in image.repo_tags:
                self.by_tag.setdefault(tag.lower(), position)

    def prefixed(self, wanted: str) -> int:
        """The first position whose id starts with `wanted` (a full or short id), else len(ids)."""
        if len(wanted) >= self._longest:  # no id is longer: only an equal one starts with it
            return self._first.get(wanted, len(self.ids))
        found = self._prefixed.get(wanted)
        if found is None:
            found = next((i for i, x in enumerate(self.ids) if x.startswith(wanted)), len(self.ids))
            self._prefixed[wanted] = found
        return found


# The rules look up every container of one engine in a row: the last engine's index serves
# them all. Held with its image tuple, so the identity check cannot match a reused id.
_last_index: tuple[tuple[Image, ...], _ImageIndex] | None = None


def _index_of(images: tuple[Image, ...]) -> _ImageIndex:
    global _last_index
    last = _last_index
    if last is not None and last[0] is images:
        return last[1]
    index = _ImageIndex(images)
    _last_index = (images, index)
    return index


def image_label(image: Image) -> str:
    """A name for an image in a finding: its first tag, else its short id."""
    return image.repo_tags[0] if image.repo_tags else _bare_id(image.id)[:12]


def _bare_id(text: str) -> str:
    return text.removeprefix("sha256:").lower()
