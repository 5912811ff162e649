"""The objects a pane was last drawn from, or a snapshot last recorded from, so that a poll
handing over the very same objects costs nothing: a health poll that found the cluster as it
was hands over the last read's nodes, engines and findings (see tui.cluster.answers),
and comparing a thousand nodes by value would cost about what drawing them does."""

from __future__ import annotations

from operator import is_


class LastObjects:
    """The objects of the last call, compared by identity (an equal copy counts as changed)."""

    def __init__(self) -> None:
        self._parts: tuple[object, ...] | None = None

    def changed(self, *parts: object) -> bool:
        """Whether `parts` are not the objects of the last call; they are kept for the next."""
        last = self._parts
        if last is not None and len(last) == len(parts) and all(map(is_, last, parts)):
            return False
        self._parts = parts
        return True
