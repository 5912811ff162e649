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
    """The engine's image a container runs, by image id or by the reference it was created with."""
    wanted_ids = {_bare_id(container.image_id), _bare_id(container.image)} - {""}
    for image in engine.images:
        image_id = _bare_id(image.id)
        if any(image_id.startswith(w) for w in wanted_ids if len(w) >= 12):
            return image
    ref = parse_reference(container.image)
    tagged = f"{ref.repository}:{ref.tag or 'latest'}".lower()
    for image in engine.images:
        if tagged in (t.lower() for t in image.repo_tags):
            return image
    return None


def image_label(image: Image) -> str:
    """A name for an image in a finding: its first tag, else its short id."""
    return image.repo_tags[0] if image.repo_tags else _bare_id(image.id)[:12]


def _bare_id(text: str) -> str:
    return text.removeprefix("sha256:").lower()
