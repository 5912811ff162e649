"""Upgrade domains by fault domains: where each node is in the patch, and each UD's progress.

Fed by the snapshot (a node is done when its host has reached its node type's patch target);
a runbook plan's states, when given, say it instead."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from rich.text import Text

from tui.app.widgets.text_pane import TextPane
from tui.errors import UsageError
from tui.last_objects import LastObjects
from tui.model import ClusterSnapshot, Node
from tui.winver import WindowsVersion, parse_version

DONE, OUT, PENDING, UNPLANNED = "done", "out", "pending", "unplanned"
GLYPH = {
    DONE: ("●", "green"),
    OUT: ("◆", "bold yellow"),
    PENDING: ("○", ""),
    UNPLANNED: ("·", "dim"),
}
MOST_GLYPHS = 4  # a cell with more nodes shows counts instead


def node_progress(
    node: Node, snapshot: ClusterSnapshot, targets: Mapping[str, WindowsVersion]
) -> str:
    """done (host at its patch target, node Up), out (not Up), pending, or unplanned."""
    if node.status != "Up":
        return OUT
    target = targets.get(node.node_type)
    if target is None:
        return UNPLANNED
    engine = snapshot.engines.get(node.name)
    host = _host_version(engine.os_version) if engine and engine.os_version else None
    return DONE if host is not None and host >= target else PENDING


@functools.lru_cache(maxsize=1024)  # a thousand hosts run a few versions
def _host_version(text: str) -> WindowsVersion | None:
    try:
        return parse_version(text)
    except UsageError:
        return None


def ud_fd_map(
    snapshot: ClusterSnapshot,
    targets: Mapping[str, WindowsVersion],
    plan: Mapping[str, str] | None = None,
) -> Text:
    """One line per UD: a cell per FD (a glyph per node, or counts), then the UD's progress."""
    states = {
        n.name: (plan or {}).get(n.name) or node_progress(n, snapshot, targets)
        for n in snapshot.nodes
    }
    uds = sorted({n.upgrade_domain for n in snapshot.nodes}, key=_number_first)
    fds = sorted({n.fault_domain for n in snapshot.nodes}, key=_number_first)
    cells: dict[tuple[str, str], list[str]] = {(ud, fd): [] for ud in uds for fd in fds}
    by_ud: dict[str, list[str]] = {ud: [] for ud in uds}
    for n in snapshot.nodes:  # one pass: a cluster has a thousand nodes
        cells[(n.upgrade_domain, n.fault_domain)].append(states[n.name])
        by_ud[n.upgrade_domain].append(states[n.name])
    width = max(
        [len(_short(fd)) for fd in fds]
        + [len(c) if len(c) <= MOST_GLYPHS else len(f"{len(c)}/{len(c)}") for c in cells.values()]
    )
    text = Text("UD  ", style="bold")
    for fd in fds:
        text.append(f"{_short(fd):<{width}} ", style="bold")
    text.append("progress", style="bold")
    for ud in uds:
        in_ud = by_ud[ud]
        text.append(f"\n{ud:<3} ")
        for fd in fds:
            cell = cells[(ud, fd)]
            if len(cell) <= MOST_GLYPHS:
                for state in cell:
                    glyph, style = GLYPH[state]
                    text.append(glyph, style=style)
                text.append(" " * (width - len(cell) + 1))
            else:
                counts = f"{cell.count(DONE)}/{len(cell)}"
                text.append(f"{counts:<{width}} ")
        done, out = in_ud.count(DONE), in_ud.count(OUT)
        planned = len(in_ud) - in_ud.count(UNPLANNED)
        text.append(f"{done}/{planned} done", style="green" if planned and done == planned else "")
        if out:
            text.append(f", {out} out", style="bold yellow")
    text.append("\n● done  ◆ out  ○ pending  · no patch target", style="dim")
    return text


def _short(fault_domain: str) -> str:
    return fault_domain.rsplit("/", 1)[-1] or fault_domain


def _number_first(value: str) -> tuple:
    tail = _short(value)
    return (0, int(tail), value) if tail.isdigit() else (1, 0, value)


class UdMap(TextPane):
    """The map pane; `m` shows it in place of the upgrade-domain table."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._drawn_from = LastObjects()

    def show(self, snapshot: ClusterSnapshot, targets: Mapping[str, WindowsVersion]) -> None:
        if self._drawn_from.changed(snapshot.nodes, snapshot.engines, targets):
            self.show_text(ud_fd_map(snapshot, targets))
