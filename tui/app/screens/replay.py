"""Replay and observe: the main screen with the transcript beside it (and, in replay, a timeline
and player keys)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer, Label

from tui.app.screens.goto import GotoScreen
from tui.app.screens.main import MainScreen
from tui.app.widgets.header_bar import HeaderBar
from tui.app.widgets.timeline_bar import TimelineBar
from tui.app.widgets.transcript_pane import TranscriptPane
from tui.errors import UsageError
from tui.sources import ViewState
from tui.sources.replay import ReplaySource, parse_moment


class ObserveScreen(MainScreen):
    """The screens of a session followed through its transcript; the pane follows the end."""

    def __init__(self, source, state: ViewState) -> None:
        super().__init__(state, getattr(source, "patch_targets", {}))
        self.source = source

    def compose(self) -> ComposeResult:
        yield HeaderBar(self.state.header)
        yield from self.compose_panes()
        with Vertical(id="transcript-box", classes="pane"):
            yield Label(self.transcript_title(), classes="pane-title", id="transcript-title")
            yield from self.compose_transcript()
        yield Footer()

    def transcript_title(self) -> str:
        return "Transcript (newest last)"

    def compose_transcript(self) -> ComposeResult:
        yield TranscriptPane(self.source.line)

    def on_mount(self) -> None:
        super().on_mount()
        self.show_transcript()

    def show(self, state: ViewState) -> None:
        super().show(state)
        if self.is_mounted:
            self.show_transcript()

    def show_transcript(self) -> None:
        source = self.source
        first = source.count - len(source.lines)
        self.query_one(TranscriptPane).show(first, source.count, None, follow=True)


class ReplayScreen(ObserveScreen):
    """A finished transcript, one record at a time; the keys are those of a player."""

    BINDINGS = [
        Binding("space", "play", "Play/pause", priority=True, id="replay.play"),
        Binding("less_than_sign", "speed(-1)", "Slower", id="replay.slower"),
        Binding("greater_than_sign", "speed(1)", "Faster", id="replay.faster"),
        Binding("left", "move(-1)", "Back", priority=True, id="replay.back"),
        Binding("right", "move(1)", "On", priority=True, id="replay.on"),
        Binding("left_square_bracket", "node_step(-1)", "Prev step", id="replay.prev-step"),
        Binding("right_square_bracket", "node_step(1)", "Next step", id="replay.next-step"),
        Binding("f", "finding", "Next finding", id="replay.finding"),
        Binding("g", "goto", "Go to time", id="replay.goto"),
        Binding("home", "edge(0)", "Start", priority=True, id="replay.start"),
        Binding("end", "edge(1)", "End", priority=True, id="replay.end"),
    ]

    source: ReplaySource

    def __init__(self, source: ReplaySource, state: ViewState) -> None:
        super().__init__(source, state)
        self._timer = None

    def transcript_title(self) -> str:
        return (
            "Transcript: space play/pause, < > speed, left/right a record, [ ] node step, "
            "f next gate/override/failure, g time, home/end"
        )

    def compose_transcript(self) -> ComposeResult:
        yield TimelineBar()
        pane = TranscriptPane(self.source.line)
        if self.source.cut_short:
            pane.marked = self.source.count
            pane.mark_text = f"  {self.source.verdict}: {self.source.result.reason}"
        yield pane

    def show_transcript(self) -> None:
        source = self.source
        tl = source.timeline
        self.query_one(TimelineBar).show(source.count, tl.steps, tl.findings, source.position)
        self.query_one(TranscriptPane).show(0, source.count, source.position)

    def _moved(self, where: int | None, none_text: str = "") -> None:
        if where is None:
            self.notify(none_text, severity="warning", timeout=3)
            return
        self.show_transcript()  # at once; the panes follow when the state is read
        self.app.poll_now()

    def action_move(self, by: int) -> None:
        self._moved(self.source.step(by))

    def action_node_step(self, by: int) -> None:
        moved = self.source.next_step() if by > 0 else self.source.previous_step()
        self._moved(moved, "No more node steps that way.")

    def action_finding(self) -> None:
        self._moved(self.source.next_finding(), "No gate, override or failure after this record.")

    def action_edge(self, end: int) -> None:
        self._moved(self.source.seek(self.source.count - 1 if end else 0))

    def action_speed(self, by: int) -> None:
        self.source.faster(by > 0)
        self.app.poll_now()  # the header shows the speed

    def action_goto(self) -> None:
        first = self.source.time_of(0)
        self.app.push_screen(GotoScreen(first), callback=self._goto)

    def _goto(self, text: str | None) -> None:
        if not text:
            return
        try:
            moment = parse_moment(text, self.source.time_of(0))
        except UsageError as exc:
            self.notify(str(exc), severity="error", timeout=6)
            return
        self._moved(self.source.seek_time(moment))

    def action_play(self) -> None:
        source = self.source
        source.playing = not source.playing
        if source.playing and source.position + 1 >= source.count:
            source.seek(0)  # play from the start again, as a player does
        self._schedule()
        self.app.poll_now()

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        delay = self.source.delay() if self.source.playing else None
        if delay is None:
            self.source.playing = False
            return
        self._timer = self.set_timer(delay, self._tick)

    def _tick(self) -> None:
        self._timer = None
        if self.source.playing:
            self.source.step(1)
            self._moved(self.source.position)
            self._schedule()
