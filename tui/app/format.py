"""How values look on screen: pure functions from model values to Rich text."""

from __future__ import annotations

from rich.text import Text

from tui.model import Engine

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


def node_health_text(state: str, engine: Engine | None) -> Text:
    """Service Fabric's health of a node, or Error when some of its containers are not running
    (Service Fabric can say Ok while none run)."""
    if engine is not None and any(c.state != "running" for c in engine.containers):
        return Text("Error", style="bold red")
    return health_text(state)


def uptime_text(seconds: int, status: str) -> str:
    if status == "Down" or seconds <= 0:
        return "-"
    return duration_text(seconds)


def duration_text_lasts(seconds: int) -> int:
    """For how many more seconds `duration_text` of a duration growing from `seconds` says the
    same: to the next hour in days, the next minute in hours, the next second below that."""
    s = max(0, int(seconds))
    if s >= 86400:
        return 3600 - s % 3600
    if s >= 3600:
        return 60 - s % 60
    return 1


def duration_text(seconds: float) -> str:
    """A duration in at most two units that fits a column: 46s, 5m 07s, 3h 04m, 12d 03h."""
    s = max(0, int(seconds))
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {s:02d}s"
    return f"{s}s"


def severity_text(severity: str) -> Text:
    return Text(severity, style=SEVERITY_STYLE.get(severity, ""))


def host_text(engine: Engine | None) -> Text:
    """The host's build.revision as its engine reports it ('?' when the engine was not read)."""
    if engine is None or not engine.os_version:
        return Text("?", style="dim")
    return Text(engine.os_version.removeprefix("10.0."))


def containers_text(engine: Engine | None) -> Text:
    """Running/total containers; red when some are not running."""
    if engine is None:
        return Text("?", style="dim")
    running = sum(c.state == "running" for c in engine.containers)
    total = len(engine.containers)
    return Text(f"{running}/{total}", style="" if running == total else "bold red")


def same_cell(new: object, old: object) -> bool:
    """Whether a table cell would look the same (Rich Text equality ignores its base style)."""
    return str(new) == str(old) and getattr(new, "style", None) == getattr(old, "style", None)
