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
        open_session(profile, transcript_dir=tmp_path / "second")
    assert "contoso-prod is leased by" in str(refused.value)
    assert not (tmp_path / "second").exists()  # a session that may not run writes nothing
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


def test_renewals_are_recorded(profile, tmp_path):
    session = open_session(profile, transcript_dir=tmp_path)
    operator = session.operator
    operator._clock = lambda: datetime.now(UTC) + timedelta(seconds=250)  # a third is left
    assert session.keep_lease() == ""
    session.close()
    assert kinds(session) == [("lease", "acquire"), ("lease", "renew"), ("lease", "release")]


def test_resume_refuses_what_is_not_a_crashed_transcript(profile, tmp_path):
    from tui.errors import UsageError

    closed = open_session(profile, transcript_dir=tmp_path)
    closed.close("quit by the engineer")
    with pytest.raises(UsageError, match="was closed"):
        open_session(profile, resume=closed.transcript_path)
    with pytest.raises(UsageError, match="not an sfpatch transcript"):
        open_session(profile, resume=__import__("pathlib").Path("/etc/passwd"))
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(b"\xff\xfe not json\n")
    with pytest.raises(UsageError, match="not an sfpatch transcript"):
        open_session(profile, resume=garbage)
    last = [json.loads(x) for x in closed.transcript_path.read_text().splitlines()]
    assert [r["kind"] for r in last[-2:]] == ["end", "checkpoint"]  # untouched by the refusals
    assert last[-2]["data"]["reason"] == "quit by the engineer"
