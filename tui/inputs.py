"""The rules for names and numbers the user gives, as pure checks whose messages say what is
allowed: the alphabet of a name, the range of a number.

A name becomes part of a Service Fabric name (the lease), a file name (the transcript) and
node names; a number becomes a timeout, a port, a clock speed. Each is checked where it is
parsed (an option, a profile or scenario key), so nothing later sees one it cannot use.
"""

from __future__ import annotations

import math
import re
import reprlib
from dataclasses import dataclass

from tui.errors import UsageError


@dataclass(frozen=True)
class NameRule:
    """A name's alphabet, as a pattern and as the words an error shows."""

    what: str
    pattern: re.Pattern[str]
    alphabet: str

    def problem(self, text: str) -> str | None:
        """Why `text` is not a valid name of this kind, or None."""
        if self.pattern.fullmatch(text):
            return None
        return f"not a valid {self.what} {shown(text)}: use {self.alphabet}"


# A cluster (a profile's, a scenario's) names the lease `fabric:/sfpatch/<cluster>` and the
# transcript folder, so no '/', '~', or leading '.'.
CLUSTER = NameRule(
    "cluster name",
    re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"),
    "1 to 64 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit",
)
PROFILE = NameRule("profile name", CLUSTER.pattern, CLUSTER.alphabet)
# A node type names its nodes `_<type>_<n>` and, in the simulator, their containers.
NODE_TYPE = NameRule(
    "node type name",
    re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"),
    "1 to 64 ASCII letters, digits, '_' or '-', starting with a letter or digit",
)
SCENARIO = NameRule("scenario name", NODE_TYPE.pattern, NODE_TYPE.alphabet)


@dataclass(frozen=True)
class Range:
    """An inclusive range of numbers, and whether it must be a whole number."""

    low: float
    high: float
    whole: bool = False
    low_open: bool = False  # the low end itself is excluded (a speed must be > 0)

    def problem(self, value: object) -> str | None:
        """Why `value` is not a number in this range, or None."""
        kind = "a whole number" if self.whole else "a number"
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be {kind} {self.text()} (got {shown(value)})"
        if self.whole and not isinstance(value, int):
            return f"must be {kind} {self.text()} (got {shown(value)})"
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite number {self.text()} (got {value})"
        below = value <= self.low if self.low_open else value < self.low
        if below or value > self.high:
            return f"must be {kind} {self.text()} (got {shown(value)})"
        return None

    def text(self) -> str:
        """The range in words: `from 1 to 65535`, `above 0 and at most 10000`, `of at least 1`."""
        low, high = _number(self.low), _number(self.high)
        if math.isinf(self.high):
            return f"above {low}" if self.low_open else f"of at least {low}"
        if math.isinf(self.low):
            return f"of at most {high}"
        return f"above {low} and at most {high}" if self.low_open else f"from {low} to {high}"


PORT = Range(1, 65535, whole=True)


def check_name(rule: NameRule, text: str, option: str | None = None) -> str:
    """`text` if it is a valid name of `rule`'s kind; a one-line UsageError otherwise."""
    problem = rule.problem(text)
    if problem is not None:
        raise UsageError(f"{option}: {problem}" if option else problem)
    return text


def check_number(value: float, allowed: Range, option: str) -> float:
    """`value` if it lies in `allowed`; a one-line UsageError naming the option otherwise."""
    problem = allowed.problem(value)
    if problem is not None:
        raise UsageError(f"{option} {problem}")
    return value


def port_problem(url: str) -> str | None:
    """Why a URL's host or port cannot be connected to (no host, port outside 1-65535), or None."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        digits = url.rpartition(":")[2].split("/")[0]
        return f"its port must be a whole number from 1 to 65535 (got {shown(digits)})"
    if not parts.hostname:
        return "it names no host"
    if port is not None and PORT.problem(port) is not None:
        return f"its port must be a whole number from 1 to 65535 (got {port})"
    return None


def _short_repr() -> reprlib.Repr:
    short = reprlib.Repr()
    short.maxlevel, short.maxstring, short.maxother = 2, 50, 50
    short.maxlist = short.maxtuple = short.maxdict = 4
    return short


_SHORT = _short_repr()


def shown(value: object) -> str:
    """repr(value) cut to fit an error line: a 4 MiB string or a deeply nested list would not."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"a {value.bit_length()}-bit number"  # its digits would not even print
    return _SHORT.repr(value)


def _number(x: float) -> str:
    return f"{int(x)}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"
