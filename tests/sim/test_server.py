"""SimServer start-up: stale files of a killed simulator, the state dir, the clock's start."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tui import cli
from tui.errors import UsageError
from tui.sim import server as server_module
from tui.sim.clock import DEFAULT_START, SimClock, parse_start
from tui.sim.scenario import load_scenario
from tui.sim.server import SimServer
from tui.sim.state import SimCluster


def test_stale_endpoints_of_a_killed_simulator_are_gone_before_listening(
    tmp_path: Path, monkeypatch
) -> None:
    state = tmp_path / "sim"
    state.mkdir()
    stale = {"fabric": {"endpoint": "https://127.0.0.1:1"}}
    (state / "endpoints.json").write_text(json.dumps(stale))
    (state / "profile.toml").write_text("# from a simulator killed with SIGKILL\n")
    seen_while_listening: list[bool] = []
    serve_fabric = server_module._serve_fabric

    async def first_listener(ctx):
        seen_while_listening.append((state / "endpoints.json").exists())
        seen_while_listening.append((state / "profile.toml").exists())
        return await serve_fabric(ctx)

    monkeypatch.setattr(server_module, "_serve_fabric", first_listener)
    made = SimServer(load_scenario("seed"), state, speed=0)
    assert not (state / "endpoints.json").exists()  # gone before start(), not just before listen
    with made as sim:
        assert seen_while_listening == [False, False]
        fresh = json.loads(sim.endpoints_path.read_text())
        assert fresh["fabric"]["endpoint"] != stale["fabric"]["endpoint"]


def test_a_state_dir_that_is_a_file_is_one_line(tmp_path: Path, capsys) -> None:
    not_a_dir = tmp_path / "passwd"
    not_a_dir.write_text("root:x:0:0::/root:/bin/sh\n")
    with pytest.raises(UsageError, match=f"^state dir {not_a_dir}: not a directory$"):
        SimServer(load_scenario("seed"), not_a_dir, speed=0)
    code = cli.main(["sim", "--state-dir", str(not_a_dir / "sub")])
    err = capsys.readouterr().err
    assert code == 2
    assert err == f"sfpatch: error: state dir {not_a_dir / 'sub'}: cannot write there: " + (
        "Not a directory\n"
    )


def test_an_unwritable_state_dir_is_one_line(tmp_path: Path, monkeypatch) -> None:
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    # Refused at the first write, as a read-only directory would (even for root, who may write
    # to a mode 0500 directory).
    monkeypatch.setattr(Path, "touch", refuse)
    with pytest.raises(UsageError) as caught:
        SimServer(load_scenario("seed"), tmp_path, speed=0)
    assert str(caught.value) == f"state dir {tmp_path}: cannot write there: Permission denied"


def test_the_clock_refuses_non_finite_speeds() -> None:
    for speed in (math.nan, math.inf, -1.0):
        with pytest.raises(ValueError, match="finite number >= 0"):
            SimClock(speed)


def test_start_is_parsed_as_utc() -> None:
    assert parse_start("2026-11-26T22:00:00Z") == DEFAULT_START
    assert parse_start("2026-11-26T23:00:00+01:00") == DEFAULT_START
    assert parse_start("2026-11-26T22:00:00") == DEFAULT_START


def run_sim(monkeypatch, capsys, *args: str) -> datetime:
    """`sfpatch sim ...` up to serving; returns the simulated time it would start serving at."""
    started: list[datetime] = []
    monkeypatch.setattr("signal.signal", lambda *_: None)
    monkeypatch.setattr(SimServer, "run_forever", lambda self: started.append(self.clock.now()))
    assert cli.main(["sim", "--speed", "0", *args]) == 0
    capsys.readouterr()
    return started[0]


def test_sim_starts_at_the_real_time_or_at_start(tmp_path: Path, monkeypatch, capsys) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    now = run_sim(monkeypatch, capsys, "--state-dir", str(tmp_path / "a"))
    assert before <= now <= datetime.now(UTC) and now.microsecond == 0
    again = run_sim(
        monkeypatch, capsys, "--state-dir", str(tmp_path / "b"), "--start", "2026-11-26T22:00Z"
    )
    assert again == DEFAULT_START


def test_containers_were_created_days_before_they_started() -> None:
    cluster = SimCluster(load_scenario("seed"), SimClock(0))
    containers = [c for node in cluster.nodes.values() for c in node.containers]
    assert containers
    for container in containers:
        assert container.started_at == DEFAULT_START
        age = container.started_at - container.created
        assert timedelta(days=2) <= age < timedelta(days=9), (container.name, age)
    assert len({c.created for c in containers}) > 1
    again = SimCluster(load_scenario("seed"), SimClock(0))
    assert [c.created for n in again.nodes.values() for c in n.containers] == [
        c.created for c in containers
    ]


def test_demo_starts_at_the_real_time_and_refuses_non_finite_speeds(
    tmp_path: Path, monkeypatch, capsys, terminal
) -> None:
    started: list[datetime] = []

    def start_instead(self, timeout: float = 30.0):
        started.append(self.clock.now())
        raise UsageError("stopped by the test before the console")

    monkeypatch.setattr(SimServer, "start", start_instead)
    before = datetime.now(UTC).replace(microsecond=0)
    assert cli.main(["demo", "--speed", "0.000001", "--transcript-dir", str(tmp_path)]) == 2
    assert before <= started[0] <= datetime.now(UTC) + timedelta(seconds=1)
    for speed in ("nan", "inf", "0", "1e308"):
        assert cli.main(["demo", "--speed", speed]) == 2
    err = capsys.readouterr().err
    assert "--speed must be a finite number above 0 and at most 10000 (got nan)" in err
    assert "(got inf)" in err
    assert "--speed must be a number above 0 and at most 10000 (got 0.0)" in err
    assert "(got 1e+308)" in err and "Traceback" not in err


def test_the_clock_refuses_a_non_finite_or_overflowing_advance() -> None:
    clock = SimClock(0, start=datetime(9999, 12, 31, tzinfo=UTC))
    for seconds in (math.inf, math.nan):
        with pytest.raises(ValueError, match="finite"):
            clock.advance(seconds)
    with pytest.raises(ValueError, match="would pass 9999-12-31"):
        clock.advance(86400)
    clock.advance(3600)
    assert clock.now() == datetime(9999, 12, 31, 1, tzinfo=UTC)


def test_a_start_the_clock_cannot_run_10_years_from_is_one_line(tmp_path: Path, capsys) -> None:
    code = cli.main(
        ["sim", "--state-dir", str(tmp_path), "--start", "9999-12-31T23:59:58Z", "--speed", "60"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err == (
        "sfpatch: error: --start '9999-12-31T23:59:58Z': the clock could not run 10 years "
        "from there; give one no later than 9990-01-02\n"
    )
    assert parse_start("9990-01-02T00:00:00Z").year == 9990


def test_the_request_log_has_one_line_a_request_and_drops_one_after_it_closed(
    tmp_path: Path,
) -> None:
    """A request still being answered as the simulator stops is not logged (nor an error)."""
    path = tmp_path / "requests.jsonl"
    log = server_module.RequestLog(path)
    log("docker", "GET", "/v1.41/info", 200, node="_FrontEnd_0")
    log.close()
    log("docker", "GET", "/v1.41/info", 200, node="_FrontEnd_0")
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["node"] == "_FrontEnd_0"
    assert '"status": 200' in lines[0]  # the records' own format, as readers of the log expect


@pytest.mark.parametrize(
    "extra",
    [
        {"node": "_FrontEnd_0"},
        {"error": 'internal error: KeyError: "x\\y"\t\u00e9\u2603\x01'},
        {"elapsed": 1.5, "node": None},  # not a str or an int: json.dumps writes the line
    ],
)
def test_a_log_line_is_the_json_dumps_of_its_record(extra):
    record = {
        "ts": "2026-12-01T10:00:00.123+00:00",
        "protocol": "docker",
        "method": "GET",
        "path": '/v1.41/containers/"a b"/json?x=\u00fc',
        "status": 404,
        **extra,
    }
    assert server_module.log_line(record) == (json.dumps(record) + "\n").encode()


@pytest.mark.parametrize("now", [1764583200.0, 1764583200.1239, 1764586799.999, 0.5])
def test_a_log_time_is_the_utc_time_to_the_millisecond(now):
    expected = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
    assert server_module.log_time(now) == expected
