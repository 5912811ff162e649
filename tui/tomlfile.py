"""Reading TOML files the user wrote, with errors that name the file and the key.

Scenario files and cluster profiles both go through `Table`, so a typo in either gives the
same kind of one-line message: `seed.toml: node_types[1].durability: must be one of ...`.
Unknown keys are errors too: a misspelt setting silently ignored is worse than a refusal.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tui.errors import ConfigError

_MISSING = object()


def load_toml(path: Path, error: type[ConfigError] = ConfigError) -> Table:
    """Parse a TOML file into a checked Table; unreadable or malformed files raise `error`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    return parse_toml(text, str(path), error)


def parse_toml(text: str, origin: str, error: type[ConfigError] = ConfigError) -> Table:
    """Parse TOML text; `origin` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{origin}: invalid TOML: {exc}") from None
    return Table(data, origin, "", error)


class Table:
    """A TOML table whose accessors check types and remember which keys were read."""

    def __init__(self, data: dict[str, Any], origin: str, path: str, error: type[ConfigError]):
        self._data = data
        self._origin = origin
        self._path = path
        self._error = error
        self._seen: set[str] = set()

    def fail(self, key: str, message: str) -> ConfigError:
        where = f"{self._path}.{key}" if self._path else key
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
            raise self.fail(key, f"must be a string (got {value!r})")
        return value

    def int(self, key: str, default: Any = _MISSING, minimum: int | None = None) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be a whole number (got {value!r})")
        if minimum is not None and value < minimum:
            raise self.fail(key, f"must be >= {minimum} (got {value})")
        return value

    def number(self, key: str, default: Any = _MISSING, minimum: float | None = None) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number (got {value!r})")
        if minimum is not None and value < minimum:
            raise self.fail(key, f"must be >= {minimum} (got {value})")
        return value

    def bool(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is not default and not isinstance(value, bool):
            raise self.fail(key, f"must be true or false (got {value!r})")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: Any = _MISSING) -> Any:
        value = self.str(key, default)
        if value is not default and value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)} (got {value!r})")
        return value

    def str_list(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"must be a list of strings (got {value!r})")
        return tuple(value)

    def int_list(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value is default:
            return value
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self.fail(key, f"must be a list of whole numbers (got {value!r})")
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
        return f"{self._path}.{key}" if self._path else key
