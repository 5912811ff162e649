"""Console figures on the `large` scenario, headless (Textual's run_test): time to the first
nodes on screen and to the full read, CPU while idle (polls every 2 s, nothing pressed), the
latency of a cursor move (down-arrow until the screen showing the new selection is drawn),
median, p90 and worst, the longest garbage collection after the first full read (the screen
is held meanwhile), and the console's peak memory. The console's startup objects are frozen
out of collections as `sfpatch console` freezes them (`freeze_startup_objects`).

The simulator runs in its own process with its clock running at real time, as a live cluster's:
each node's uptime moves between two polls, and nothing else changes.
The idle window starts just after a full read (the console re-reads every engine every 30 s, or
less often when a read costs much CPU), so that it holds the 2 s health polls only. The idle CPU
over a whole cycle is measured, not worked out: the process's CPU from the end of one background
full re-read to the end of the next, so it holds the polls of the wait the source chose, one
full re-read, and whatever else the process did meanwhile (a garbage collection, say).
A headless screen is drawn as a terminal's would be (each update is rendered to the escape
sequences a terminal is sent), but not written to one: real terminals add their own drawing
time to the key latency.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from bench.inventory import SCENARIO, _start_simulator

POLL_SECONDS = 2.0
# Real time: with the clock frozen the node list would be byte-identical from poll to poll,
# which no live cluster's is (each node's uptime moves), and the polls would look cheaper.
SIM_SPEED = "1"
IDLE_SECONDS = 20.0
IDLE_START_SECONDS = 8.0  # at most this long after a full read, so the window ends before the next
KEY_PRESSES = 40
KEY_GAP_SECONDS = 0.05  # between presses, about a held key's repeat rate
FIRST_NODES_TIMEOUT = 300.0
KEY_TIMEOUT = 30.0


def run() -> list[tuple[str, str]]:
    """Start the simulator and a read-only console on it; measure, then close both."""
    figures = _with_console(SIM_SPEED, _drive)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    keys_ms = sorted(k * 1000 for k in figures.keys)
    p90 = keys_ms[int(len(keys_ms) * 0.9) - 1]
    return [
        ("console: first nodes on screen [<= 1 s]", f"{figures.first:.2f} s"),
        ("console: every engine read (full first read)", f"{figures.full:.2f} s"),
        (
            f"console: CPU while idle, {IDLE_SECONDS:.0f} s of {POLL_SECONDS:.0f} s polls only",
            f"{figures.idle:.3f} core ({figures.polls} polls, {figures.full_reads} full)",
        ),
        (
            "console: a background full re-read",
            f"{figures.full_cpu:.2f} s CPU in {figures.full_wall:.2f} s, "
            f"{figures.full_wait:.0f} s after the last",
        ),
        (
            "console: CPU while idle, a whole cycle of polls and a full re-read [<= 0.05 core]",
            f"{figures.cycle_cpu / figures.cycle_wall:.3f} core ({figures.cycle_cpu:.2f} s CPU "
            f"over a {figures.cycle_wall:.0f} s cycle, measured)",
        ),
        (
            f"console: down-arrow to screen, {len(keys_ms)} presses [<= 50 / 100 ms]",
            f"median {statistics.median(keys_ms):.0f} ms, p90 {p90:.0f} ms, "
            f"worst {keys_ms[-1]:.0f} ms",
        ),
        (
            "console: longest garbage collection after the first full read",
            f"{figures.longest_gc * 1000:.0f} ms ({figures.full_gcs} full collections)",
        ),
        ("console: peak memory [<= 200 MB]", f"{peak_mb:.0f} MB"),
    ]


def _with_console(speed: str, drive):  # type: ignore[no-untyped-def]
    """`drive(session)` on a read-only console of a simulator whose clock runs at `speed`."""
    from tui.config import load_profile
    from tui.session import open_session
    from tui.sim.scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    with tempfile.TemporaryDirectory(prefix="sfpatch-bench-") as tmp:
        state = Path(tmp)
        sim = _start_simulator(state, speed)
        try:
            profile = load_profile(scenario.cluster_name, state / "profile.toml")
            session = open_session(
                profile, transcript_dir=state / "t", poll_seconds=POLL_SECONDS, read_only=True
            )
            try:
                return asyncio.run(drive(session))
            finally:
                session.close()
        finally:
            sim.terminate()
            sim.wait(timeout=30)


class Figures:
    first = full = idle = full_cpu = full_wall = full_wait = cycle_cpu = cycle_wall = 0.0
    longest_gc = 0.0
    polls = full_reads = full_gcs = 0
    keys: list[float]


class _Collections:
    """The garbage collections from `start()` on: the longest, and how many were full."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.full = 0
        self._began = 0.0

    def start(self) -> None:
        gc.callbacks.append(self._timed)

    def stop(self) -> None:
        gc.callbacks.remove(self._timed)

    def _timed(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self._began)
            self.full += info["generation"] == 2


class FullRead(NamedTuple):
    began: float
    ended: float
    cpu: float  # the process's CPU seconds over the read (its gather threads included)
    cpu_at_end: float  # the process's CPU clock when it ended


class _FullReads:
    """When each full read of the session's source began and ended, and the process CPU it
    took, by wrapping the engine's fetch."""

    def __init__(self, session) -> None:  # type: ignore[no-untyped-def]
        self.reads: list[FullRead] = []
        fetch = session.engine._fetch

        def counted(previous, focus=None, **fill_in):  # type: ignore[no-untyped-def]
            start, cpu = time.perf_counter(), time.process_time()
            snapshot = fetch(previous, focus, **fill_in)
            if snapshot.full:
                now = time.process_time()
                self.reads.append(FullRead(start, time.perf_counter(), now - cpu, now))
            return snapshot

        session.engine._fetch = counted


class _Screen:
    """What the headless screen last drew: each update rendered as a terminal is sent it, and
    the selection the nodes table and the detail line had when they were last drawn."""

    def __init__(self, app, table, detail) -> None:  # type: ignore[no-untyped-def]
        self.drawn = asyncio.Event()
        self.drawn_at = 0.0
        self.table_row: int | None = None
        self.detail = ""
        self.rows_drawn = False
        self._wrap(app, table, detail)

    def _wrap(self, app, table, detail) -> None:  # type: ignore[no-untyped-def]
        display, table_lines, detail_lines = app._display, table.render_lines, detail.render_lines

        def draw(screen, renderable):  # type: ignore[no-untyped-def]
            display(screen, renderable)
            if renderable is not None and not app._batch_count:
                renderable.render_segments(app.console)  # what a terminal would be sent
                self.drawn_at = time.perf_counter()
                self.drawn.set()

        def draw_table(crop):  # type: ignore[no-untyped-def]
            self.table_row = table.cursor_row
            self.rows_drawn = table.row_count > 0
            return table_lines(crop)

        def draw_detail(crop):  # type: ignore[no-untyped-def]
            self.detail = str(detail.content)
            return detail_lines(crop)

        app._display, table.render_lines, detail.render_lines = draw, draw_table, draw_detail

    async def until(self, done, timeout: float) -> float:  # type: ignore[no-untyped-def]
        """When a screen drawn from now on first satisfied `done()`."""
        deadline = time.perf_counter() + timeout
        self.drawn.clear()
        while True:
            await asyncio.wait_for(self.drawn.wait(), max(0.0, deadline - time.perf_counter()))
            self.drawn.clear()
            if done():
                return self.drawn_at


async def _drive(session) -> Figures:  # type: ignore[no-untyped-def]
    from textual import events

    from tui.app.app import SfpatchApp, freeze_startup_objects
    from tui.app.widgets.node_detail import NodeDetail
    from tui.app.widgets.nodes_table import NodesTable

    figures = Figures()
    reads = _FullReads(session)
    collections = _Collections()
    app = SfpatchApp(session)
    freeze_startup_objects()
    start = time.perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(NodesTable)
        screen = _Screen(app, table, app.query_one(NodeDetail))
        figures.first = await screen.until(lambda: screen.rows_drawn, FIRST_NODES_TIMEOUT) - start
        while app.snapshot is None:
            await asyncio.sleep(0.02)
        figures.full = time.perf_counter() - start
        collections.start()
        while True:  # the window opens just after a full read, at one health poll after it
            await _polls(app, 1)
            if time.perf_counter() - reads.reads[-1].ended < IDLE_START_SECONDS:
                break
            ended = len(reads.reads)  # too long after it: wait for the next one
            while len(reads.reads) == ended:
                await asyncio.sleep(0.05)
            await _polls(app, 1)  # its state taken in
        polls = app.polls_completed
        cpu, wall = time.process_time(), time.perf_counter()
        while time.perf_counter() - wall < IDLE_SECONDS:
            await asyncio.sleep(0.1)
        figures.idle = (time.process_time() - cpu) / (time.perf_counter() - wall)
        figures.polls = app.polls_completed - polls
        closed = time.perf_counter()
        await _polls(app, 1)  # a read under way at the end has begun in the window
        figures.full_reads = sum(wall <= r.began <= closed for r in reads.reads)
        # A whole cycle: from the end of the first background re-read (not the cold read,
        # whose wait is longer) to the end of the next.
        await _full_reads(reads, 3)
        first, second = reads.reads[1], reads.reads[2]
        figures.full_cpu, figures.full_wall = second.cpu, second.ended - second.began
        figures.full_wait = second.began - first.ended
        figures.cycle_cpu = second.cpu_at_end - first.cpu_at_end
        figures.cycle_wall = second.ended - first.ended
        table.focus()
        await pilot.pause()
        figures.keys = []
        for _ in range(KEY_PRESSES):
            row = table.cursor_row + 1
            name = str(table.coordinate_to_cell_key((row, 0)).row_key.value)
            pressed = time.perf_counter()
            app._driver.send_message(events.Key("down", None))
            drawn = await screen.until(
                lambda row=row, name=name: (
                    screen.table_row == row and screen.detail.startswith(name + " ")
                ),
                KEY_TIMEOUT,
            )
            figures.keys.append(drawn - pressed)
            await asyncio.sleep(KEY_GAP_SECONDS)
    collections.stop()
    figures.longest_gc, figures.full_gcs = collections.longest, collections.full
    return figures


async def _full_reads(reads: _FullReads, count: int) -> None:
    """Until `count` full reads (the cold one included) have ended."""
    while len(reads.reads) < count:
        await asyncio.sleep(0.05)


async def _polls(app, count: int) -> None:  # type: ignore[no-untyped-def]
    """Until `count` more polls have completed."""
    polls = app.polls_completed
    while app.polls_completed < polls + count:
        await asyncio.sleep(0.05)


if __name__ == "__main__":
    for label, figure in run():
        print(f"{label:<48} {figure}")
