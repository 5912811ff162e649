"""Aggregated cluster health and the unhealthy evaluations behind it."""

from __future__ import annotations

from rich.text import Text

from tui.app.format import health_text
from tui.app.widgets.text_pane import TextPane
from tui.model import ClusterSnapshot


def health_lines(snapshot: ClusterSnapshot) -> Text:
    """The pane's content: the aggregate first, then one line per unhealthy evaluation."""
    text = Text.assemble("Cluster health: ", health_text(snapshot.health.aggregated), "\n")
    if not snapshot.health.evaluations:
        text.append("No unhealthy evaluations.", style="dim")
    for evaluation in snapshot.health.evaluations:
        where = evaluation.node_name or ""
        if evaluation.application:
            where = f"{evaluation.application} on {where}" if where else evaluation.application
        text.append("\n")
        text.append_text(health_text(evaluation.health_state))
        text.append(f" {where}: " if where else " ", style="bold")
        text.append(evaluation.description)
    for error in snapshot.errors:
        text.append(f"\n{error.source} {error.subject}: {error.message}", style="magenta")
    return text


class HealthPane(TextPane):
    """Live health, redrawn when a poll changed it."""

    def show(self, snapshot: ClusterSnapshot) -> None:
        self.show_text(health_lines(snapshot))
