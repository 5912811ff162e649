"""An engine on the seed simulator whose waits move the frozen simulated clock."""

from __future__ import annotations

import pytest

from tui.config import load_profile
from tui.runbook.clock import ScaledClock
from tui.runbook.engine import RunSettings
from tui.runbook.timing import timeouts_from_timing
from tui.session import open_session

POLL = 60.0  # simulated seconds between reads


@pytest.fixture
def open_engine(sim, tmp_path):
    """open_engine(**settings) -> a session whose engine runs on the simulator's clock."""
    opened = []

    def make(resume=None, events=None, read_only=False, **settings):
        profile = load_profile(sim.cluster.scenario.cluster_name, sim.profile_path)
        clock = ScaledClock(sim.clock.now, 0, sim.advance)
        settings.setdefault("timeouts", timeouts_from_timing(sim.cluster.scenario.timing))
        session = open_session(
            profile,
            transcript_dir=tmp_path / "transcripts",
            settings=RunSettings(**settings),
            clock=clock,
            resume=resume,
            read_only=read_only,
            on_event=(events.append if events is not None else None),
        )
        opened.append(session)
        return session

    yield make
    for session in opened:
        session.close()
