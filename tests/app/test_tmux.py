"""Smoke test in a real terminal: `sfpatch demo` in tmux shows the nodes and quits on q.

Skipped where tmux is not installed (Debian: apt-get install tmux)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def wait_for(predicate, seconds: float) -> bool:
    """Poll a real process's screen, bounded (the only waiting the suite does for real)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_demo_in_tmux_shows_the_nodes_and_quits_cleanly(tmp_path: Path):
    name = f"sfpatch-smoke-{tmp_path.name}"
    sfpatch = Path(sys.executable).with_name("sfpatch")
    done = tmp_path / "exit"
    # The shell stays a while after sfpatch ends, so its last lines can be read on the screen.
    command = f"{sfpatch} demo --transcript-dir {tmp_path / 't'}; echo $? > {done}; sleep 30"
    tmux("-L", name, "new-session", "-d", "-s", name, "-x", "160", "-y", "48", command)
    try:
        screen = lambda: tmux("-L", name, "capture-pane", "-p", "-t", name)  # noqa: E731
        assert wait_for(lambda: "_FrontEnd_0" in screen() and "_Legacy_2" in screen(), 90), screen()
        tmux("-L", name, "send-keys", "-t", name, "q")
        assert wait_for(lambda: done.exists() and done.read_text().strip(), 60), screen()
        assert done.read_text().strip() == "0"
        last = screen()
        assert "transcript written to" in last and "Traceback" not in last
    finally:
        tmux("-L", name, "kill-server")
