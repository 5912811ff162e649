"""Resuming a crashed session: tampering refused, a torn tail shown, the same gateway needed."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from tui.cli import main
from tui.config import load_profile
from tui.errors import UsageError
from tui.session import gateway_differences, open_session
from tui.sim.scenario import load_scenario
from tui.sim.server import SimServer
from tui.transcript.audit import summarize
from tui.transcript.reader import verify_file


@pytest.fixture
def profile(sim):
    return load_profile(sim.cluster.scenario.cluster_name, sim.profile_path)


def crash(session) -> Path:
    """What a killed process leaves: no end record, the lease still held, the lock gone."""
    transcript = session.operator.transcript
    os.close(transcript._fd)
    transcript._closed = True
    session.operator.lease = None  # it died holding the lease: nothing releases it
    session.close("crash")  # only the SDK clients are closed now
    return session.transcript_path


def crashed_session(profile, tmp_path: Path) -> Path:
    session = open_session(profile, transcript_dir=tmp_path)
    session.operator.disable("_Legacy_1")
    return crash(session)


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def served(sim) -> list[str]:
    return (sim.state_dir / "requests.jsonl").read_text().splitlines()


def error_line(err: str) -> str:
    """The one error line (after the `connecting ...` progress line), never a traceback."""
    assert "Traceback" not in err
    [line] = [x for x in err.splitlines() if not x.startswith("sfpatch: connecting")]
    assert line.startswith("sfpatch: error: ")
    return line


def run_resume(sim, path: Path, *extra: str) -> list[str]:
    name = sim.cluster.scenario.cluster_name
    return [
        "run",
        "--profile",
        name,
        "--config",
        str(sim.profile_path),
        "--resume",
        str(path),
        *extra,
    ]


def test_run_resume_refuses_a_tampered_last_record(sim, profile, tmp_path, capsys, terminal):
    path = crashed_session(profile, tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    assert b'"kind":"result"' in lines[-1]
    lines[-1] = lines[-1].replace(b'"outcome":"ok"', b'"outcome":"no"')  # complete, hash wrong
    path.write_bytes(b"".join(lines))
    tampered, before = path.read_bytes(), served(sim)

    assert main(run_resume(sim, path)) == 1
    err = error_line(capsys.readouterr().err)
    assert f"record {len(lines) - 1} is complete" in err and "tampering" in err
    assert path.read_bytes() == tampered and not list(tmp_path.rglob("*.torn*"))
    assert served(sim) == before  # refused before the cluster was touched
    result = verify_file(path)
    assert (result.status, result.bad_seq) == ("broken", len(lines) - 1)


def test_a_torn_last_line_is_set_aside_and_shown(profile, tmp_path):
    path = crashed_session(profile, tmp_path)
    with open(path, "ab") as handle:
        handle.write(b'{"data":{"action":"ena')  # the crash cut this write short
    session = open_session(profile, resume=path)
    try:
        [notice] = session.notices
        assert "torn" in notice and f"{path.name}.torn" in notice
    finally:
        session.close()
    [resume] = [r for r in records(path) if r["kind"] == "resume"]
    assert resume["data"]["torn"]["file"] == f"{path.name}.torn"
    assert verify_file(path).status == "intact"


def test_resume_refuses_another_gateway_endpoint_before_touching_anything(sim, profile, tmp_path):
    path = crashed_session(profile, tmp_path)
    moved = profile.gateway.endpoint.replace("127.0.0.1", "localhost")
    elsewhere = dataclasses.replace(
        profile, gateway=dataclasses.replace(profile.gateway, endpoint=moved)
    )
    before, requests = path.read_bytes(), served(sim)
    with pytest.raises(UsageError) as refused:
        open_session(elsewhere, resume=path)
    message = str(refused.value)
    assert f"endpoint {profile.gateway.endpoint} is now {moved}" in message
    assert "certificate" not in message and "--resume-elsewhere" in message
    assert "\n" not in message
    assert path.read_bytes() == before and served(sim) == requests  # no lease, no transcript


def test_resume_on_another_simulator_needs_resume_elsewhere_and_records_it(
    profile, tmp_path, capsys, terminal
):
    path = crashed_session(profile, tmp_path)
    old = records(path)[0]["data"]
    with SimServer(load_scenario("seed"), tmp_path / "other", speed=0) as other:
        args = run_resume(other, path)
        assert main(args) == 2
        err = error_line(capsys.readouterr().err)
        assert "server certificate SHA-256" in err
        assert f"endpoint {old['endpoint']} is now" in err
        assert records(path)[-1]["kind"] != "resume"

        there = load_profile(other.cluster.scenario.cluster_name, other.profile_path)
        session = open_session(there, resume=path, resume_elsewhere=True)
        session.close()
    [resume] = [r for r in records(path) if r["kind"] == "resume"]
    assert resume["data"]["resumed_elsewhere"] == {
        "endpoint": old["endpoint"],
        "server_cert_sha256": old["server_cert_sha256"],
    }
    now = resume["data"]["gateway"]
    assert now["endpoint"] == there.gateway.endpoint
    assert now["server_cert_sha256"] != old["server_cert_sha256"]
    assert verify_file(path).status == "intact"
    [event] = summarize(records(path)).of_kind("resume")
    assert f"resumed elsewhere: gateway {old['endpoint']}" in event.text and event.failed


def test_resume_elsewhere_needs_resume(sim, capsys, terminal):
    name = sim.cluster.scenario.cluster_name
    args = ["run", "--profile", name, "--config", str(sim.profile_path), "--resume-elsewhere"]
    assert main(args) == 2
    assert "--resume-elsewhere goes with --resume" in capsys.readouterr().err


@pytest.mark.parametrize(
    "recorded, here, differs",
    [
        ("https://127.0.0.1:19080", "https://127.0.0.1:19080/", False),
        ("https://Gateway.contoso.com", "https://gateway.contoso.com:443", False),
        ("https://127.0.0.1:19080", "https://127.0.0.1:19081", True),
        ("https://127.0.0.1:19080", "http://127.0.0.1:19080", True),
    ],
)
def test_gateway_endpoints_compare_as_addresses(recorded, here, differs):
    found = gateway_differences(
        {"endpoint": recorded, "server_cert_sha256": "ab" * 32},
        {"endpoint": here, "server_cert_sha256": "AB" * 32},
    )
    assert bool(found) == differs


def test_run_resume_reads_the_transcript_once_for_the_check_and_the_session(
    sim, profile, tmp_path, monkeypatch, terminal
):
    from tui.commands import run as run_command
    from tui.transcript import writer

    path = crashed_session(profile, tmp_path)
    scans, opened = [], []
    real_scan = writer.scan_for_resume
    monkeypatch.setattr(writer, "scan_for_resume", lambda *a: scans.append(a) or real_scan(*a))

    def console(session, options=None) -> int:  # the session as the console would get it
        opened.append((session.engine.pending, [r["kind"] for r in records(path)].count("resume")))
        session.close("test done")
        return 0

    monkeypatch.setattr(run_command, "run_console", console)
    assert main(run_resume(sim, path)) == 0
    assert opened == [([], 1)]  # resumed: its resume record written, nothing left pending
    assert len(scans) == 1  # the check before the terminal's; the session used what it found


def test_a_transcript_written_to_after_its_check_is_read_again(profile, tmp_path):
    from tui.session import check_resumable

    path = crashed_session(profile, tmp_path)
    checked = check_resumable(path, profile.name, None)
    with open(path, "ab") as handle:
        handle.write(b'{"data":{"action":"ena')  # written since: the check no longer holds
    assert not checked.holds_for(path, None)
    session = open_session(profile, resume=path, resumable=checked)
    try:
        [notice] = session.notices
        assert "torn" in notice  # found by reading it again, not from the stale check
    finally:
        session.close()
    assert verify_file(path).status == "intact"
