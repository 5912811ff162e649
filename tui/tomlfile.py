"""Reading TOML files the user wrote, with errors that name the file and the key.

Scenario files and cluster profiles both go through `Table`, so a typo in either gives the
same kind of one-line message: `seed.toml: node_types[1].durability: must be one of ...`.
Unknown keys are errors too: a misspelt setting silently ignored is worse than a refusal.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tui.errors import ConfigError
from tui.inputs import NameRule, Range, shown
from tui.userfile import FileKind, read_user_text

_MISSING = object()
# Deeper than any file sfpatch reads (a scenario's containers sit at 5); deeper still would
# exhaust the parser's recursion, so it is refused with the same message either way.
MAX_DEPTH = 16


def load_toml(path: Path, kind: FileKind, error: type[ConfigError] = ConfigError) -> Table:
    """Parse a TOML file into a checked Table; unreadable, oversized or malformed files raise
    `error` with one line naming the file."""
    return parse_toml(read_user_text(path, kind, error), str(path), error)


def parse_toml(text: str, origin: str, error: type[ConfigError] = ConfigError) -> Table:
    """Parse TOML text; `origin` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer of more than 4300 digits
        raise error(f"{origin}: invalid TOML: {exc}") from None
    except RecursionError:
        data = None
    if data is None or _depth(data) > MAX_DEPTH:
        raise error(f"{origin}: tables and arrays are nested deeper than {MAX_DEPTH} levels")
    return Table(data, origin, "", error)


def _depth(data: dict[str, Any]) -> int:
    """How deeply tables and arrays nest (1 for a flat file), counted only up to MAX_DEPTH + 1."""
    deepest, stack = 0, [(data, 1)]
    while stack and deepest <= MAX_DEPTH:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


class Table:
    """A TOML table whose accessors check types and remember which keys were read."""

    def __init__(self, data: dict[str, Any], origin: str, path: str, error: type[ConfigError]):
        self._data = data
        self._origin = origin
        self._path = path
        self._error = error
        self._seen: set[str] = set()

    def fail(self, key: str, message: str) -> ConfigError:
        where = self._child(key)
        return self._error(f"{self._origin}: {where}: {message}")

    def has(self, key: str) -> bool:
        return key in self._data

    def _get(self, key: str, default: Any) -> Any:
        self._seen.add(key)
        if key in self._data:
            return self._data[key]
        if default is _MISSING:
            raise self.fail(key, "required key is missing")
        return default

    def str(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is not default and not isinstance(value, str):
            raise self.fail(key, f"must be a string (got {shown(value)})")
        return value

    def name(self, key: str, rule: NameRule, default: Any = _MISSING) -> Any:
        """A string that must be a valid name of `rule`'s kind (the alphabet is in the error)."""
        value = self.str(key, default)
        problem = None if value is default else rule.problem(value)
        if problem is not None:
            raise self.fail(key, problem)
        return value

    def int(
        self,
        key: str,
        default: Any = _MISSING,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> Any:
        return self._number(key, default, minimum, maximum, whole=True)

    def number(
        self,
        key: str,
        default: Any = _MISSING,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> Any:
        """A finite int or float, within [minimum, maximum] where given."""
        return self._number(key, default, minimum, maximum, whole=False)

    def _number(
        self, key: str, default: Any, minimum: float | None, maximum: float | None, whole: bool
    ) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        low = -math.inf if minimum is None else minimum
        high = math.inf if maximum is None else maximum
        problem = Range(low, high, whole=whole).problem(value)
        if problem is not None:
            raise self.fail(key, problem)
        return value

    def bool(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is not default and not isinstance(value, bool):
            raise self.fail(key, f"must be true or false (got {shown(value)})")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: Any = _MISSING) -> Any:
        value = self.str(key, default)
        if value is not default and value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)} (got {shown(value)})")
        return value

    def str_list(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"must be a list of strings (got {shown(value)})")
        return tuple(value)

    def int_list(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self.fail(key, f"must be a list of whole numbers (got {shown(value)})")
        return tuple(value)

    def table(self, key: str, required: bool = False) -> Table:
        value = self._get(key, _MISSING if required else {})
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return Table(value, self._origin, self._child(key), self._error)

    def tables(self, key: str) -> list[Table]:
        """An array of tables (`[[key]]`); missing means empty."""
        value = self._get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, "must be an array of tables ([[...]])")
        return [
            Table(v, self._origin, f"{self._child(key)}[{i}]", self._error)
            for i, v in enumerate(value)
        ]

    def subtables(self) -> Iterator[tuple[str, Table]]:
        """Every key whose value is a table, e.g. the `[clusters.NAME]` sections."""
        for key, value in self._data.items():
            if isinstance(value, dict):
                self._seen.add(key)
                yield key, Table(value, self._origin, self._child(key), self._error)

    def done(self) -> None:
        """Refuse keys nobody read: they are typos or settings this version does not know."""
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            raise self.fail(unknown[0], "unknown key")

    def _child(self, key: str) -> str:
        # A quoted key may hold anything, a newline or 4 MiB of it: shown cut and escaped.
        text = key if _BARE_KEY.fullmatch(key) else shown(key)
        return f"{self._path}.{text}" if self._path else text


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
