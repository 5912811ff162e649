"""How values look on screen: pure functions from model values to Rich text."""

from __future__ import annotations

import humanize
from rich.text import Text

STATUS_STYLE = {
    "Up": "green",
    "Enabling": "yellow",
    "Disabling": "yellow",
    "Disabled": "cyan",
    "Down": "bold red",
}
HEALTH_STYLE = {"Ok": "green", "Warning": "yellow", "Error": "bold red"}
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, "magenta"))


def health_text(state: str) -> Text:
    return Text(state, style=HEALTH_STYLE.get(state, "magenta"))


def uptime_text(seconds: int, status: str) -> str:
    if status == "Down" or seconds <= 0:
        return "-"
    return humanize.naturaldelta(seconds)


def severity_text(severity: str) -> Text:
    return Text(severity, style=SEVERITY_STYLE.get(severity, ""))
