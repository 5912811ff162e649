"""An operating session holds the cluster's lease: a second one is refused, a lost one stops."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tui.config import load_profile
from tui.errors import ClusterError
from tui.session import LeaseError, open_session


@pytest.fixture
def profile(sim):
    return load_profile(sim.cluster.scenario.cluster_name, sim.profile_path)


def kinds(session) -> list[tuple[str, str]]:
    records = [json.loads(x) for x in session.transcript_path.read_text().splitlines()]
    return [(r["kind"], r["data"].get("action", "")) for r in records if r["kind"] == "lease"]


def test_a_second_operating_session_is_refused_until_the_first_ends(profile, tmp_path):
    first = open_session(profile, transcript_dir=tmp_path)
    with pytest.raises(LeaseError) as refused:
        open_session(profile, transcript_dir=tmp_path)
    assert "contoso-prod is leased by" in str(refused.value)
    watcher = open_session(profile, transcript_dir=tmp_path, read_only=True)  # observers may
    watcher.close()
    first.close()
    assert kinds(first) == [("lease", "acquire"), ("lease", "release")]
    second = open_session(profile, transcript_dir=tmp_path)
    second.close()


def test_a_lost_lease_stops_every_action(sim, profile, tmp_path):
    session = open_session(profile, transcript_dir=tmp_path)
    operator = session.operator
    later = datetime.now(UTC) + timedelta(hours=1)  # our lease has long expired by then
    gateway = operator.gateway  # another session's gateway would send the same batch
    taken = gateway.acquire_lease("contoso-prod", "rival@box", "other-session", 300, later)
    operator._clock = lambda: later
    assert "changed since we wrote it" in session.keep_lease()
    with pytest.raises(ClusterError, match="lease was lost"):
        operator.disable("_Legacy_1")
    assert sim.cluster.nodes["_Legacy_1"].intent == "Invalid"
    assert ("lease", "lost") in kinds(session)
    session.close()  # does not release what is no longer ours
    gateway.release_lease(taken)  # still the rival's: the close above left it alone
