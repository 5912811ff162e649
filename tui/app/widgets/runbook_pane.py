"""The runbook: the plan with each node's state, the current step with what it waits for and
its gates, the pause (why, what can be done), the window and the ETA."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.app.screens.confirm import gate_lines
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
    mark, style = STATE_MARKS.get(node.state, ("?", "magenta"))
    where = node.step if node.state == "running" else node.state
    if node.state == "nothing":
        where = node.why
    text = Text.assemble((f"{mark} ", style), (f"{node.name:<14}", "bold" if mark == "▶" else ""))
    text.append(f" UD {node.upgrade_domain:<3} {node.strategy:<14} ", style="dim")
    text.append(where, style=style if node.state != "pending" else "")
    return text


NO_PLAN = "No plan yet: it is made from the first read of the cluster."
FROM_TRANSCRIPT = (
    "The run, as recorded: the transcript below holds its plan (a note), then each step's "
    "intent, gates and result; [ ] move between node steps."
)


def runbook_text(
    report: RunReport | None, started: bool, read_only: bool = False, no_plan: str = NO_PLAN
) -> Text:
    """The pane's content; what to press to begin, before the run starts."""
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
    for node in report.nodes:
        text.append("\n")
        text.append_text(plan_line(node))
    return text


class RunbookPane(Static):
    """The runbook as the last state had it; it never knows which source fed the state."""

    def show(
        self, report: RunReport | None, started: bool, read_only: bool = False, no_plan=NO_PLAN
    ) -> None:
        self.update(runbook_text(report, started, read_only, no_plan))
