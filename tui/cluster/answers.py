"""Reading the services' answers: JSON decoded fast, and what was built from an answer given
back again, the very same objects, when the next answer is byte-identical.

A console polls a thousand unchanged nodes, VMs and engines; decoding and building them again
is most of a poll's CPU, and the same objects let everything downstream see "unchanged" by
identity (tui/last_objects.py). An answer is still read each time: only what is built from it
is reused.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import orjson

A = TypeVar("A")
T = TypeVar("T")


def decode_json(body: bytes) -> Any:
    """An answer's JSON as json.loads reads it, only faster: orjson first, and the standard
    parser for whatever orjson refuses (NaN, a lone surrogate, a BOM, bad JSON), so the values
    accepted and the errors raised stay its own. One difference is left: orjson reads an integer
    beyond 64 bits as a float, and no number an engine or ARM sends comes near 2**63."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def digest(body: bytes) -> bytes:
    """What is kept of an answer to tell the next one is byte-identical (not the answer)."""
    return hashlib.sha256(body).digest()


class AnswerCache:
    """The last answer under each key with the value built from it: an answer equal to the
    last one gives back the same value, neither decoded nor built again (thread-safe). Of an
    answer in bytes only its digest is kept: a thousand VMs' pages are megabytes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[Hashable, tuple[object, Any]] = {}

    def built(
        self,
        key: Hashable,
        answer: A,
        build: Callable[[A], T],
        fits: Callable[[T], bool] | None = None,
    ) -> T:
        """`build(answer)`, or what it gave for the same `answer` last time under `key` (if
        `fits` of it holds, when given)."""
        mark = digest(answer) if isinstance(answer, bytes) else answer
        with self._lock:
            last = self._last.get(key)
        if last is not None and last[0] == mark and (fits is None or fits(last[1])):
            return last[1]
        value = build(answer)
        with self._lock:
            self._last[key] = (mark, value)
        return value


def built(cache: AnswerCache | None, key: Hashable, answer: A, build: Callable[[A], T]) -> T:
    """`build(answer)`, through `cache` when there is one."""
    return build(answer) if cache is None else cache.built(key, answer, build)


def joined(pages: tuple[tuple[T, ...], ...]) -> tuple[T, ...]:
    """The values of a paged list in one tuple; a single page's own tuple (the same object)."""
    return pages[0] if len(pages) == 1 else tuple(v for page in pages for v in page)
