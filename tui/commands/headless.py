"""`sfpatch run --headless`: the engine's plan without a screen, one line per step.

Exit 0 when every planned node is done, 3 when the run paused (the reason on stderr), 1 on an
error, 2 on bad input. SIGTERM and SIGHUP stop it after the current wait, transcript sealed.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from typing import TextIO

from tui.runbook.engine import Engine
from tui.runbook.gates import disable_gates
from tui.runbook.plan import PlanOptions
from tui.runbook.procedure import Context, run_gates
from tui.runbook.report import RunReport, StepEvent

EXIT_DONE = 0
EXIT_PAUSED = 3


def format_event(event: StepEvent) -> str:
    """`22:13:20Z  _FrontEnd_1  wait-disabled  20s  _FrontEnd_1 is Disabled`."""
    return f"{event.at:%H:%M:%S}Z  {event.node}  {event.step}  {event.seconds:.0f}s  {event.text}"


def format_progress(report: RunReport) -> str:
    """The one-line status a terminal shows between step lines."""
    node = next((n for n in report.nodes if n.name == report.current), None)
    if node is None:
        return ""
    done = sum(n.state in ("done", "nothing") for n in report.nodes)
    line = (
        f"[{done}/{len(report.nodes)}] {node.name} {node.step} {node.step_seconds:.0f}s: "
        f"waiting for {node.waiting_for or '...'}"
    )
    if report.eta is not None:
        line += f"  ETA {report.eta:%H:%M}Z"
    if report.time_left is not None:
        line += f"  window {report.time_left / 60:.0f} min left"
    return line[:160]


class Printer:
    """Step lines on stdout; a progress line rewritten in place when stderr is a terminal."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self._out = out
        self._err = err
        self._tty = err.isatty()
        self._shown = False

    def event(self, event: StepEvent) -> None:
        self._clear()
        print(format_event(event), file=self._out, flush=True)

    def progress(self, report: RunReport) -> None:
        if self._tty and not report.finished and report.paused is None:
            self._err.write("\r\x1b[2K" + format_progress(report))
            self._err.flush()
            self._shown = True

    def _clear(self) -> None:
        if self._shown:
            self._err.write("\r\x1b[2K")
            self._err.flush()
            self._shown = False


def run_headless(session, options: PlanOptions, poll: float, printer: Printer) -> tuple[int, str]:
    """Plan, then run to the end or to a pause: (exit code, the reason to seal the transcript
    with). The caller closes the session."""
    engine: Engine = session.engine
    engine.on_event = printer.event
    plan = engine.plan_run(options)
    for planned in plan:
        state = planned.why if not planned.todo else f"from {planned.entry}: {planned.why}"
        print(f"plan  {planned.name}  UD {planned.upgrade_domain}  {planned.strategy}  {state}")
    if engine.read_only:
        return _dry_run(engine), "read-only headless run"
    for message in (m for _, m, _ in (engine.last.alerts if engine.last else ())):
        print(f"resume  {message}")
    with _stop_on_signals(engine):
        report = engine.run(poll, printer.progress)
    printer.progress(report)
    if report.paused is not None:
        print(f"sfpatch: paused: {report.paused.reason}", file=sys.stderr)
        print(f"sfpatch: next: {', '.join(report.paused.actions)}", file=sys.stderr)
        return EXIT_PAUSED, f"headless run paused ({report.paused.kind}): {report.paused.reason}"
    if report.stopped:
        print(f"sfpatch: stopped: {report.stopped}", file=sys.stderr)
        return EXIT_PAUSED, report.stopped
    done = sum(n.state == "done" for n in report.nodes)
    print(f"sfpatch: done: {done} patched, {len(report.nodes) - done} with nothing to do")
    return EXIT_DONE, "headless run done"


def _dry_run(engine: Engine) -> int:
    """Read-only: the gates each planned node would meet now; nothing is sent."""
    observation = engine.last or engine.observe()
    now = engine.clock.now()
    ctx = Context(
        observation.snapshot,
        observation.findings,
        now,
        engine.settings.settle_seconds,
        engine.per_node_seconds,
        engine.settings.window,
        False,
    )
    for planned in (p for p in engine.plan if p.todo):
        gates = run_gates(ctx, planned.name) + disable_gates(
            observation.snapshot, planned.name, planned.target
        )
        # Others would be out one at a time: judge each node as if it were next.
        gates = tuple(g for g in gates if g.name != "one-node-out")
        for gate in gates:
            verdict = "pass" if gate.passed else "FAIL"
            print(f"gate  {planned.name}  {gate.name}  {verdict}  {gate.why}")
        failed = [g.name for g in gates if not g.passed]
        would = f"would pause: {', '.join(failed)} failed" if failed else "would patch it"
        print(f"plan  {planned.name}  {would}")
    print("sfpatch: read-only: nothing was sent")
    return EXIT_DONE


@contextlib.contextmanager
def _stop_on_signals(engine: Engine):
    reasons = {signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP (the terminal went away)"}
    previous = {}
    for signum, reason in reasons.items():
        with contextlib.suppress(ValueError):  # not the main thread: no handlers to set
            previous[signum] = signal.signal(
                signum, lambda *_a, reason=reason: engine.request_stop(reason)
            )
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
