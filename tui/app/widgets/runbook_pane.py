"""The runbook: the plan with each node's state, the current step with what it waits for and
its gates, the pause (why, what can be done), the window and the ETA."""

from __future__ import annotations

import functools

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll

from tui.app.screens.confirm import gate_lines
from tui.app.widgets.text_pane import TextPane
from tui.runbook.report import NodeReport, RunReport

STATE_MARKS = {
    "pending": ("·", "dim"),
    "running": ("▶", "bold yellow"),
    "done": ("✓", "green"),
    "nothing": ("=", "dim"),
    "skipped": ("↷", "magenta"),
    "aborted": ("✗", "bold red"),
}
# The keys each pause action is taken with, as the footer shows them.
ACTION_KEYS = {
    "resume": "space",
    "confirm": "space",
    "retry": "R",
    "skip": "s",
    "abort": "x",
    "override": "o",
}


def _minutes(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def run_state(report: RunReport, started: bool) -> tuple[str, str]:
    """(word, style) for where the run is: planned, running, paused, done ..."""
    if report.paused is not None:
        return f"PAUSED ({report.paused.kind})", "bold black on yellow"
    if report.finished:
        if report.stopped:
            return "STOPPED", "bold black on yellow"
        aborted = any(n.state == "aborted" for n in report.nodes)
        return ("ABORTED", "bold white on red") if aborted else ("DONE", "bold black on green")
    if not started:
        return "PLANNED", "bold reverse"
    return "RUNNING", "bold black on cyan"


def summary_line(report: RunReport, started: bool) -> Text:
    """State, mode, nodes done, the estimate per node, the ETA and the window."""
    word, style = run_state(report, started)
    done = sum(n.state in ("done", "nothing") for n in report.nodes)
    mode = "auto-advance" if report.mode == "auto" else "step mode"
    text = Text.assemble((f" {word} ", style), f"  {mode}  {done}/{len(report.nodes)} done")
    text.append(f"  ~{_minutes(report.per_node_seconds)}/node", style="dim")
    if report.eta is not None and report.remaining:
        text.append(f"  ETA {report.eta:%H:%M:%S}Z", style="bold")
    left = report.time_left
    if left is not None:
        late = report.eta is not None and report.window_end is not None
        late = late and report.remaining > 0 and report.eta > report.window_end
        if left <= 0:
            text.append("  window CLOSED", style="bold red")
        else:
            text.append(f"  window {_minutes(left)} left", style="bold red" if late else "")
            if late:
                text.append(" (ETA after it ends)", style="bold red")
    return text


def current_lines(node: NodeReport, report: RunReport) -> Text:
    """The current step: its elapsed time, what it waits for and its gates."""
    text = Text.assemble(
        ("▶ ", "bold yellow"),
        (node.name, "bold"),
        f"  {node.step}  {_minutes(node.step_seconds)}",
    )
    if node.waiting_for:
        text.append("\n  waiting for: ", style="dim")
        text.append(node.waiting_for)
    if report.gates:
        text.append("\n")
        text.append_text(gate_lines(report.gates))
    return text


def pause_lines(report: RunReport) -> Text:
    """Why the run paused and what can be done, with the keys."""
    pause = report.paused
    assert pause is not None
    text = Text(f"PAUSED ({pause.kind}): ", style="bold yellow")
    text.append(pause.reason)
    actions = [f"{a} ({ACTION_KEYS[a]})" if a in ACTION_KEYS else a for a in pause.actions]
    text.append("\n  next: ", style="dim")
    text.append(", ".join(actions), style="bold")
    return text


def plan_line(node: NodeReport) -> Text:
    where = node.step if node.state == "running" else node.state
    if node.state == "nothing":
        where = node.why
    return _plan_line(node.name, node.upgrade_domain, node.strategy, node.state, where)


@functools.lru_cache(maxsize=8192)  # a poll changes a node's line or two, not a thousand
def _plan_line(name: str, upgrade_domain: str, strategy: str, state: str, where: str) -> Text:
    mark, style = STATE_MARKS.get(state, ("?", "magenta"))
    text = Text.assemble((f"{mark} ", style), (f"{name:<14}", "bold" if mark == "▶" else ""))
    text.append(f" UD {upgrade_domain:<3} {strategy:<14} ", style="dim")
    text.append(where, style=style if state != "pending" else "")
    return text


NO_PLAN = "No plan yet: it is made from the first read of the cluster."
FROM_TRANSCRIPT = (
    "The run, as recorded: the transcript below holds its plan (a note), then each step's "
    "intent, gates and result; [ ] move between node steps."
)


def runbook_text(
    report: RunReport | None, started: bool, read_only: bool = False, no_plan: str = NO_PLAN
) -> Text:
    """The pane's content: where the run is, then the plan (see `run_text`, `plan_text`)."""
    text = run_text(report, started, read_only, no_plan)
    if report is not None and report.nodes:
        text.append("\n")
        text.append_text(plan_text(report))
    return text


def run_text(
    report: RunReport | None, started: bool, read_only: bool = False, no_plan: str = NO_PLAN
) -> Text:
    """Where the run is and what it waits for; what to press to begin, before it starts."""
    if report is None:
        return Text(no_plan, style="dim")
    text = summary_line(report, started)
    current = report.current_node
    if report.paused is not None:
        text.append("\n")
        text.append_text(pause_lines(report))
    if current is not None and (started or current.state == "running"):
        text.append("\n")
        text.append_text(current_lines(current, report))
    elif not started and report.remaining:
        hint = (
            "read-only: the plan as it would run; nothing can be started here"
            if read_only
            else "space starts the run; a toggles auto-advance (step mode confirms each step)"
        )
        text.append(f"\n{hint}", style="dim")
    if report.stopped:
        text.append(f"\nstopped: {report.stopped}", style="yellow")
    return text


def plan_text(report: RunReport) -> Text:
    """A line per planned node, in the plan's order."""
    return Text("\n").join(plan_line(node) for node in report.nodes)


class RunbookPane(VerticalScroll):
    """The runbook as the last state had it; it never knows which source fed the state.

    The run's lines change at every poll (the ETA), the plan's line per node seldom: they are
    drawn apart, so that a poll does not draw a thousand lines again."""

    can_focus = False  # as the one text it replaces: tab goes from the containers to the warnings

    def compose(self) -> ComposeResult:
        yield TextPane(run_text(None, False), id="runbook-run")
        yield TextPane("", id="runbook-plan")

    _plan_from: tuple | None = None

    def show(
        self, report: RunReport | None, started: bool, read_only: bool = False, no_plan=NO_PLAN
    ) -> None:
        run = run_text(report, started, read_only, no_plan)
        self.query_one("#runbook-run", TextPane).show_text(run)
        plan = self.query_one("#runbook-plan", TextPane)
        plan_from = report.nodes if report else ()
        if plan_from != self._plan_from:
            self._plan_from = plan_from
            plan.display = bool(plan_from)
            if plan_from:
                plan.show_text(plan_text(report))  # type: ignore[arg-type]
