"""SIGTERM and SIGHUP end `sfpatch run` in every state, with a sealed, consistent transcript.

The console runs in a subprocess on a real pseudo-terminal, against the simulator served by
this process (frozen clock). Waits are hang guards only: how fast the process ends is a bench
figure (`make bench`), not an assertion here.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from tui.sim.faults import parse_fault
from tui.sim.scenario import load_scenario
from tui.sim.server import SimServer
from tui.transcript.reader import verify_file

HANG_GUARD = 30.0  # seconds; far above what any step takes
ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|.)", re.S)
DOWN = "\x1b[B"
LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"
FULL_READ_SHOWN = re.compile(r"read \d\d:\d\d:\d\d UTC")  # the status line once one is
ENTER = "\r"


class Console:
    """`sfpatch run` on a pseudo-terminal 160x48; what it draws is kept as text."""

    def __init__(self, sim: SimServer, transcripts: Path) -> None:
        self.sim = sim
        self.transcripts = transcripts
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
        profile = sim.cluster.scenario.cluster_name
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", "run", "--profile", profile]
            + ["--config", str(sim.profile_path), "--transcript-dir", str(transcripts)]
            + ["--poll", "3600"],  # polls only at start and on r
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            env={**os.environ, "TERM": "xterm-256color"},
        )
        os.close(slave)
        self.master: int | None = master
        self.text = ""
        self.raw = b""
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while self.master is not None:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                data = b""
            with self._changed:
                self.raw += data
                self.text += ESCAPES.sub("", data.decode(errors="replace"))
                self._changed.notify_all()
            if not data:
                return

    def wait_for(self, what: str, done, since: int = 0) -> None:
        """Until done(text drawn since `since`) holds; re-checked as output comes."""
        deadline = time.monotonic() + HANG_GUARD
        with self._changed:
            while not done(self.text[since:]):
                left = deadline - time.monotonic()
                if left <= 0 or not self._reader.is_alive():
                    raise AssertionError(
                        f"waiting for {what}; the screen ends:\n{self.text[-800:]}"
                    )
                self._changed.wait(min(left, 0.1))  # files change without output too

    def wait_for_text(self, text: str, since: int = 0) -> None:
        self.wait_for(repr(text), lambda drawn: text in drawn, since)

    def wait_until_quitting(self) -> None:
        """The app is shutting down: it has given the terminal back (left the alternate screen)."""
        self.wait_for("the app's shutdown", lambda _: LEAVE_ALTERNATE_SCREEN in self.raw)

    def mark(self) -> int:
        with self._changed:
            return len(self.text)

    def press(self, keys: str) -> None:
        assert self.master is not None
        os.write(self.master, keys.encode())

    def close_terminal(self) -> None:
        """The terminal goes away, as when the ssh session to the jump box drops."""
        master, self.master = self.master, None
        if master is not None:
            os.close(master)

    def end_with(self, signum: int, close_terminal: bool = False) -> int:
        self.proc.send_signal(signum)
        if close_terminal:
            self.close_terminal()
        code = self.proc.wait(timeout=HANG_GUARD)  # a hang fails here
        self.close_terminal()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.close_terminal()

    # ------------------------------------------------------------------ the transcript

    def transcript(self) -> Path:
        [path] = self.transcripts.glob("*/*.jsonl")
        return path

    def records(self) -> list[dict]:
        paths = list(self.transcripts.glob("*/*.jsonl"))
        if not paths:
            return []
        lines = paths[0].read_text().splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def end_reason(self) -> str:
        [end] = [r for r in self.records() if r["kind"] == "end"]
        return end["data"]["reason"]

    def wait_until_polled(self) -> None:
        """The first poll has finished: its snapshot is in the transcript and on screen (the
        nodes drawn before it, as it is read, take no action)."""
        self.wait_for("the first snapshot", lambda _: self._kinds().count("snapshot") >= 1)
        self.wait_for("the first full read", lambda drawn: FULL_READ_SHOWN.search(drawn))

    def _kinds(self) -> list[str]:
        return [r["kind"] for r in self.records()]

    def arm_reads(self) -> int:
        lines = (self.sim.state_dir / "requests.jsonl").read_text().splitlines()
        return sum(1 for line in lines if json.loads(line)["protocol"] == "arm")

    # ------------------------------------------------------------------ keys

    def press_until_asked(self, key: str) -> int:
        """Press `key` until the console asks to confirm rather than saying the disable's own
        wait is still running (the action's thread sees Disabled after the poll may); returns
        the mark the question was drawn after."""
        asked = lambda drawn: "Cancel (Esc)" in drawn or "Cancel (n)" in drawn  # noqa: E731
        for _ in range(20):
            since = self.mark()
            self.press(key)
            self.wait_for("a confirmation", lambda d: asked(d) or "still running" in d, since)
            if asked(self.text[since:]):
                return since
            polled = self._kinds().count("snapshot")
            self.press("r")  # the next poll is drawn once that wait has ended
            self.wait_for("a poll", lambda _, n=polled: self._kinds().count("snapshot") > n)
        raise AssertionError(f"{key} never asked for a confirmation")

    def confirm(self, node: str, since: int) -> None:
        """Say yes: the node's name where the step is risky (Esc cancels), else y."""
        self.wait_for(
            "a confirmation", lambda drawn: "Cancel (Esc)" in drawn or "Cancel (n)" in drawn, since
        )
        if "Cancel (Esc)" not in self.text[since:]:
            self.press("y")
            return
        typed = self.mark()
        self.press(node)
        self.wait_for_text(node, typed)  # echoed in the field before Enter
        self.press(ENTER)

    def disable_legacy_0(self) -> None:
        """Row 2 of the nodes table (by upgrade domain) is _Legacy_0: d, confirm, Disabling."""
        self.wait_for_text("Containers on _FrontEnd_0")  # the table is filled, row 1 selected
        since = self.mark()
        self.press(DOWN)
        self.wait_for_text("Containers on _Legacy_0", since)
        since = self.mark()
        self.press("d")
        self.confirm("_Legacy_0", since)
        self.wait_for_text("Disabling", since)  # the poll after the action has shown it


@pytest.fixture
def seed_sim(tmp_path: Path):
    with SimServer(load_scenario("seed"), tmp_path / "sim", speed=0) as server:
        yield server


@pytest.fixture
def console(seed_sim, tmp_path):
    made = Console(seed_sim, tmp_path / "transcripts")
    yield made
    made.kill()


def assert_sealed(console: Console) -> None:
    result = verify_file(console.transcript())
    assert result.exit_code == 0, result.summary()
    assert console.records()[-1]["kind"] == "checkpoint"
    assert console.records()[-1]["data"]["final"] is True


def test_sigterm_when_idle(console):
    console.wait_until_polled()
    assert console.end_with(signal.SIGTERM) == 0
    assert_sealed(console)
    assert console.end_reason() == "SIGTERM"


def test_sighup_mid_poll_with_the_gateway_hanging_and_the_terminal_gone(console, seed_sim):
    console.wait_until_polled()
    # Every gateway call now takes 2 s: the poll r starts cannot end before the signal, and
    # on main it kept the process alive until the whole poll was done.
    seed_sim.cluster.faults.add(parse_fault("gateway-slow:2000"))
    before = console.arm_reads()
    console.press("r")
    console.wait_for("the poll's ARM reads", lambda _: console.arm_reads() > before)
    assert console.end_with(signal.SIGHUP, close_terminal=True) == 0
    assert_sealed(console)
    assert console.end_reason() == "SIGHUP (the terminal went away)"
    assert console._kinds().count("snapshot") == 1  # that poll never finished


def test_sigterm_mid_patch_lists_the_node_once(console, seed_sim):
    console.wait_until_polled()
    console.disable_legacy_0()
    timing = seed_sim.cluster.scenario.timing
    seed_sim.clock.advance(timing.safety_checks + timing.replica_close)
    since = console.mark()
    console.press("r")
    console.wait_for_text("Disabled", since)
    since = console.press_until_asked("p")
    console.confirm("_Legacy_0", since)
    console.wait_for_text("PATCH RUNNING", since)  # the clock is frozen: it runs until killed
    assert console.end_with(signal.SIGTERM) == 0
    assert_sealed(console)
    assert console.end_reason() == "SIGTERM; nodes not Up: _Legacy_0 (patch running)"
    intents = [r for r in console.records() if r["kind"] == "intent"]
    assert [i["data"]["action"] for i in intents] == ["disable", "patch"]


def test_large_session_quit_during_its_first_poll_then_sighup(tmp_path):
    with SimServer(load_scenario("large"), tmp_path / "sim", speed=0) as sim:
        console = Console(sim, tmp_path / "transcripts")
        try:
            console.wait_for_text("Waiting for the first poll")
            sim.cluster.faults.add(parse_fault("gateway-slow:2000"))  # it cannot finish now
            console.press("q")
            console.wait_until_quitting()  # on main it then waited for the poll, deaf to signals
            assert console.end_with(signal.SIGHUP, close_terminal=True) == 0
        finally:
            console.kill()
        assert_sealed(console)
        assert console.end_reason() == "quit by the engineer"  # the signal changed nothing
        assert "snapshot" not in console._kinds()  # the first poll never finished
