"""An operating session holds the cluster's lease: a second one is refused, a lost one stops."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import fabric_connection
from tui.cluster.fabric import build_client
from tui.cluster.gateway import Gateway
from tui.cluster.lease import LeaseRecord
from tui.config import load_profile
from tui.errors import ClusterError
from tui.leasing import LeaseError
from tui.session import open_session


@pytest.fixture
def profile(sim):
    return load_profile(sim.cluster.scenario.cluster_name, sim.profile_path)


def rival_gateway(sim) -> Gateway:
    """The gateway another sfpatch session would have: its own client, its own lease."""
    return Gateway(build_client(fabric_connection(sim)))


def requests_sent(sim) -> list[dict]:
    return [json.loads(x) for x in (sim.state_dir / "requests.jsonl").read_text().splitlines()]


def lease_on_cluster(sim) -> tuple[dict, str]:
    """The lease property's value and sequence number, read with a client of the test's own."""
    info = build_client(fabric_connection(sim)).get_property_info("sfpatch~contoso-prod", "lease")
    return json.loads(info.value.data), info.metadata.sequence_number


def lease_records(session) -> list[dict]:
    records = [json.loads(x) for x in session.transcript_path.read_text().splitlines()]
    return [r["data"] for r in records if r["kind"] == "lease"]


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
    rival = rival_gateway(sim)
    taken = rival.acquire_lease("contoso-prod", "rival@box", "other-session", 300, later)
    operator._clock = lambda: later
    assert "changed since we wrote it" in session.keep_lease()
    with pytest.raises(ClusterError, match="lease was lost"):
        operator.disable("_Legacy_1")
    assert sim.cluster.nodes["_Legacy_1"].intent == "Invalid"
    assert ("lease", "lost") in kinds(session)
    session.close()  # does not release what is no longer ours
    rival.release_lease(taken)  # still the rival's: the close above left it alone


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
        open_session(profile, resume=Path("/etc/passwd"))
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(b"\xff\xfe not json\n")
    with pytest.raises(UsageError, match="not an sfpatch transcript"):
        open_session(profile, resume=garbage)
    last = [json.loads(x) for x in closed.transcript_path.read_text().splitlines()]
    assert [r["kind"] for r in last[-2:]] == ["end", "checkpoint"]  # untouched by the refusals
    assert last[-2]["data"]["reason"] == "quit by the engineer"


# ------------------------------------------------------------------ a refused resume


def test_resuming_a_live_sessions_transcript_touches_nothing(sim, profile, tmp_path):
    from tui.transcript.errors import TranscriptLocked

    live = open_session(profile, transcript_dir=tmp_path)
    before, sent = lease_on_cluster(sim), len(requests_sent(sim))
    with pytest.raises(TranscriptLocked, match="already being written"):
        open_session(profile, resume=live.transcript_path)
    assert len(requests_sent(sim)) == sent  # refused before anything reached the cluster
    assert lease_on_cluster(sim) == before  # the live session's record and sequence number
    with pytest.raises(LeaseError, match="contoso-prod is leased by"):
        open_session(profile, transcript_dir=tmp_path / "third")
    live.operator.disable("_Legacy_1")  # the live session still holds its lease and acts
    assert sim.cluster.nodes["_Legacy_1"].intent == "Restart"
    live.close()


# ------------------------------------------------------------------ the check before each mutation


def test_a_session_whose_lease_was_taken_sends_no_mutation(sim, profile, tmp_path):
    session = open_session(profile, transcript_dir=tmp_path)
    # Another session takes it over, as it may after the expiry (by its clock): our own clock
    # still says the lease is ours, so only the check before the mutation can tell.
    later = datetime.now(UTC) + timedelta(hours=1)
    rival = rival_gateway(sim)
    taken = rival.acquire_lease("contoso-prod", "rival@box", "rival-session", 300, later)
    sent = len(requests_sent(sim))
    with pytest.raises(ClusterError, match=r"now held by rival@box \(session rival-session\)"):
        session.operator.disable("_Legacy_1")
    after = requests_sent(sim)[sent:]
    assert not [r for r in after if "Deactivate" in r["path"]]
    posted = [r["path"].split("?")[0] for r in after if r["method"] == "POST"]
    assert posted == ["/Names/sfpatch~contoso-prod/$/GetProperties/$/SubmitBatch"]  # the check
    assert sim.cluster.nodes["_Legacy_1"].intent == "Invalid"
    records = [json.loads(x) for x in session.transcript_path.read_text().splitlines()]
    tail = [(r["kind"], r["data"].get("action") or r["data"].get("outcome")) for r in records]
    assert tail[-3:] == [("intent", "disable"), ("result", "error"), ("lease", "lost")]
    lost = records[-1]["data"]
    assert (lost["now_holder"], lost["now_session"]) == ("rival@box", "rival-session")
    # From now on nothing is even intended, and the close leaves the rival's lease alone.
    with pytest.raises(ClusterError, match="lease was lost"):
        session.operator.enable("_Legacy_1")
    session.close()
    assert rival.read_lease("contoso-prod").sequence_number == taken.sequence_number


def test_every_mutation_checks_the_lease_before_it_is_sent(sim):
    from tui.cluster import compute
    from tui.cluster.lease import LeaseLost

    arm = compute.build_client(compute.connection_from_endpoints(sim.endpoints["arm"]))
    ours = Gateway(build_client(fabric_connection(sim)), arm, "sfpatch-sim")
    rival = rival_gateway(sim)
    mutations = {
        "disable": lambda: ours.disable_node("_FrontEnd_0"),
        "enable": lambda: ours.enable_node("_FrontEnd_0"),
        "restart": lambda: ours.restart_node("_FrontEnd_0"),
        "restart instance": lambda: ours.restart_instance("FrontEnd", "0"),
        "reimage": lambda: ours.reimage_instance("FrontEnd", "0"),
        "upgrade": lambda: ours.upgrade_instances("FrontEnd", ["0"]),
        "run command": lambda: ours.run_powershell("FrontEnd", "0", "hostname"),
        "rolling upgrade": lambda: ours.start_os_rolling_upgrade("FrontEnd"),
        "set image": lambda: ours.set_image_version("FrontEnd", "latest"),
    }
    start = datetime.now(UTC)
    for i, (what, mutate) in enumerate(mutations.items()):
        hour = start + timedelta(hours=2 * i)
        ours.acquire_lease("contoso-prod", "me@box", "s-me", 300, hour)
        rival.acquire_lease("contoso-prod", "rival@box", "s-rival", 300, hour + timedelta(hours=1))
        sent = len(requests_sent(sim))
        with pytest.raises(LeaseLost, match="rival@box"):
            mutate()
        paths = [r["path"] for r in requests_sent(sim)[sent:]]
        assert paths and all(p.startswith("/Names/sfpatch~contoso-prod/") for p in paths), what
        with pytest.raises(LeaseLost, match="holds no cluster lease"):
            mutate()  # and once lost, refused without a request
    assert ours.held_lease is None


# ------------------------------------------------------------------ taking over, breaking


def stale_lease(sim, ago: timedelta = timedelta(hours=1)):
    """A lease left by a session that stopped renewing it: it expired `ago` minus 5 min."""
    return rival_gateway(sim).acquire_lease(
        "contoso-prod", "alice@old-box", "dead-session", 300, datetime.now(UTC) - ago
    )


def test_an_expired_lease_taken_on_its_own_names_the_previous_holder(sim, profile, tmp_path):
    stale = stale_lease(sim)
    session = open_session(profile, transcript_dir=tmp_path)
    acquired = lease_records(session)[0]
    assert acquired["action"] == "acquire"
    assert (acquired["previous_holder"], acquired["previous_session"]) == (
        "alice@old-box",
        "dead-session",
    )
    assert acquired["previous_expires_at"] == stale.record.expires_at.isoformat()
    session.close()


def test_break_lease_takes_an_expired_lease_after_confirmation(sim, profile, tmp_path):
    stale = stale_lease(sim)
    asked = []
    session = open_session(
        profile,
        transcript_dir=tmp_path,
        break_lease=lambda record: asked.append(record) or "typed the cluster name",
    )
    assert asked == [stale.record]  # the engineer was shown whose lease it was
    broken = lease_records(session)[0]
    assert broken["action"] == "break" and broken["confirmed"] == "typed the cluster name"
    assert (broken["previous_holder"], broken["previous_session"]) == (
        "alice@old-box",
        "dead-session",
    )
    assert broken["previous_expires_at"] == stale.record.expires_at.isoformat()
    assert lease_on_cluster(sim)[0]["session_id"] == session.operator.transcript.session
    session.close()


def test_a_lease_that_has_not_expired_cannot_be_broken(sim, profile, tmp_path):
    holder = rival_gateway(sim).acquire_lease("contoso-prod", "bob@box", "live-session", 300)
    before, asked = lease_on_cluster(sim), []
    with pytest.raises(LeaseError) as refused:
        open_session(profile, transcript_dir=tmp_path / "t", break_lease=asked.append)
    message = str(refused.value)
    assert "bob@box (session live-session) has not expired" in message
    assert holder.record.expires_at.strftime("%Y-%m-%d %H:%M:%SZ") in message
    assert "\n" not in message and asked == []
    assert lease_on_cluster(sim) == before and not (tmp_path / "t").exists()


def test_a_declined_break_or_one_overtaken_while_asked_takes_nothing(sim, profile, tmp_path):
    from tui.errors import UsageError

    stale_lease(sim)
    before, where = lease_on_cluster(sim), tmp_path / "t"
    with pytest.raises(UsageError, match="was not broken"):
        open_session(profile, transcript_dir=where, break_lease=lambda record: "")
    assert lease_on_cluster(sim) == before

    def meanwhile_someone_else_takes_it(record) -> str:
        rival_gateway(sim).acquire_lease("contoso-prod", "carol@box", "quick-session", 300)
        return "--yes"

    with pytest.raises(LeaseError, match="just leased by carol@box"):
        open_session(profile, transcript_dir=where, break_lease=meanwhile_someone_else_takes_it)
    assert lease_on_cluster(sim)[0]["holder"] == "carol@box"
    assert not where.exists()


# ------------------------------------------------------------------ what a refusal says


CRASH = r"""
import os, sys
from pathlib import Path
from tui.config import load_profile
from tui.session import open_session
profile = load_profile("contoso-prod", Path(sys.argv[1]))
session = open_session(profile, transcript_dir=Path(sys.argv[2]))
print(session.transcript_path, flush=True)
os._exit(0)  # as a crash: no end record, the lease is not released
"""


def test_a_refusal_by_a_crashed_session_says_how_to_resume_it(sim, profile, tmp_path):
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH, str(sim.profile_path), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    path = crashed.stdout.strip()
    with pytest.raises(LeaseError) as refused:
        open_session(profile, transcript_dir=tmp_path)
    message = str(refused.value)
    assert f"--resume {path}`" in message and "ended without releasing it" in message
    assert "or wait until 20" in message and "--break-lease after it" in message
    resumed = open_session(profile, resume=Path(path))  # as advised
    assert lease_records(resumed)[-1]["action"] == "acquire"
    resumed.close()


def test_a_refusal_by_a_live_session_here_or_elsewhere_says_so(sim, profile, tmp_path):
    live = open_session(profile, transcript_dir=tmp_path)
    with pytest.raises(LeaseError, match="that session is running on this host") as here:
        open_session(profile, transcript_dir=tmp_path)
    assert str(live.transcript_path) in str(here.value)
    with pytest.raises(LeaseError, match="if that session is gone, wait until 20"):
        open_session(profile, transcript_dir=tmp_path / "another-host")
    live.close()


# ------------------------------------------------------------------ the command line


def sfpatch_run(sim, capsys, *extra: str) -> tuple[int, str]:
    from tui.cli import main

    code = main(["run", "--profile", "contoso-prod", "--config", str(sim.profile_path), *extra])
    return code, capsys.readouterr().err


def test_break_lease_without_a_terminal_or_yes_is_refused_before_connecting(sim, capsys, terminal):
    sent = len(requests_sent(sim))
    code, err = sfpatch_run(sim, capsys, "--break-lease")  # pytest's stdin is no terminal
    assert code == 2 and err.count("\n") == 1 and "add --yes" in err
    code, err = sfpatch_run(sim, capsys, "--break-lease", "--read-only")
    assert code == 2 and err.count("\n") == 1 and "--read-only" in err
    assert len(requests_sent(sim)) == sent


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    "typed, answer", [("contoso-prod\n", "typed the cluster name"), ("contoso\n", ""), ("", "")]
)
def test_break_lease_asks_for_the_cluster_name(typed, answer):
    from tui.commands.run import break_confirmation

    shown = io.StringIO()
    ask = break_confirmation("contoso-prod", False, Terminal(typed), shown)
    stale = LeaseRecord("alice@old-box", "dead-session", datetime(2026, 11, 26, 22, 5, tzinfo=UTC))
    assert ask(stale) == answer
    assert "alice@old-box (session dead-session) until 2026-11-26 22:05:00Z" in shown.getvalue()
    assert "Type the cluster name (contoso-prod)" in shown.getvalue()
    assert break_confirmation("contoso-prod", True)(stale) == "--yes"
