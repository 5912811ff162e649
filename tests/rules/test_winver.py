"""Parsing Windows versions (tui.winver.parse_version): kept parses, errors every time."""

from __future__ import annotations

import pytest

from tui.errors import UsageError
from tui.winver import WindowsVersion, parse_version


def test_a_version_parses_the_same_each_time():
    assert parse_version("10.0.17763.6054") == WindowsVersion(10, 0, 17763, 6054)
    assert parse_version("10.0.17763.6054") == WindowsVersion(10, 0, 17763, 6054)
    assert parse_version(" 10.0.14393 ") == WindowsVersion(10, 0, 14393, None)


@pytest.mark.parametrize("text", ["10.0", "10.0.17763.x", "10.0.99999.1", None, 10])
def test_anything_else_is_a_usage_error_every_time(text):
    for _ in range(2):
        with pytest.raises(UsageError, match="not a Windows version"):
            parse_version(text)  # type: ignore[arg-type]
