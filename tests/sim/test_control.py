"""The control endpoint: faults and the clock changed at run time, over mutual TLS."""

from __future__ import annotations

import json

import pytest
import requests
from azure.servicefabric.models import FabricErrorException

PLAIN = "_FrontEnd_3"


@pytest.fixture
def control(sim):
    """A requests session with the simulator's client certificate, and the endpoint URL."""
    f = sim.endpoints["fabric"]
    session = requests.Session()
    session.cert = f["client_pem"]
    session.verify = f["ca"]
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment beats session.verify
    yield session, sim.endpoints["control"]["endpoint"]
    session.close()


def test_faults_are_added_listed_removed_and_cleared(sim, control):
    session, url = control
    assert session.get(f"{url}/faults").json() == {"faults": []}
    added = session.post(f"{url}/faults", json={"fault": f"no-return:{PLAIN}"})
    assert added.status_code == 200
    session.post(f"{url}/faults", json={"fault": "gateway-slow:10"})
    assert session.get(f"{url}/faults").json()["faults"] == [
        "gateway-slow:10",
        f"no-return:{PLAIN}",
    ]
    assert sim.cluster.faults.active("no-return", PLAIN)

    removed = session.delete(f"{url}/faults/no-return:{PLAIN}")
    assert removed.json() == {"faults": ["gateway-slow:10"]}
    assert not sim.cluster.faults.active("no-return")
    assert session.delete(f"{url}/faults/no-return:{PLAIN}").status_code == 404
    assert session.delete(f"{url}/faults").json() == {"faults": []}


@pytest.mark.parametrize(
    "body, says",
    [
        ({"fault": "melt-down:1"}, "unknown fault"),
        ({"fault": "no-return"}, "needs an argument"),
        ({"fault": "gateway-flaky:2"}, "between 0 and 1"),
        ({"fault": "stuck-disabling:_Nope_9"}, "no node named _Nope_9"),
        ({"fault": 3}, "NAME:ARG"),
        ({}, "NAME:ARG"),
    ],
)
def test_a_bad_fault_is_a_400_with_one_line(control, body, says):
    session, url = control
    answer = session.post(f"{url}/faults", json=body)
    assert answer.status_code == 400
    message = answer.json()["error"]
    assert says in message and "\n" not in message


def test_a_body_that_is_not_json_is_a_400(control):
    session, url = control
    answer = session.post(f"{url}/faults", data="{not json")
    assert answer.status_code == 400 and "not JSON" in answer.json()["error"]


def test_a_fault_added_at_run_time_takes_effect_and_removing_it_lifts_it(
    sim, control, fabric_client
):
    session, url = control
    session.post(f"{url}/faults", json={"fault": "gateway-flaky:1"})
    with pytest.raises(FabricErrorException):
        fabric_client.enable_node(PLAIN)
    session.delete(f"{url}/faults/gateway-flaky:1")
    fabric_client.enable_node(PLAIN)  # answers again


def test_the_clock_is_read_and_advanced(sim, control, fabric_client):
    session, url = control
    clock = session.get(f"{url}/clock").json()
    assert clock == {"elapsed": 0.0, "now": "2026-11-26T22:00:00Z", "speed": 0.0}
    fabric_client.disable_node(PLAIN, deactivation_intent="Restart")
    advanced = session.post(f"{url}/clock/advance", json={"seconds": 90})
    assert advanced.json()["elapsed"] == 90.0 and advanced.json()["now"] == "2026-11-26T22:01:30Z"
    assert fabric_client.get_node_info(PLAIN).node_status == "Disabled"


@pytest.mark.parametrize("body", [{"seconds": -1}, {"seconds": "ten"}, {"seconds": True}, {}])
def test_a_bad_advance_is_a_400(control, body):
    session, url = control
    answer = session.post(f"{url}/clock/advance", json=body)
    assert answer.status_code == 400 and "seconds" in answer.json()["error"]


def test_unknown_control_paths_answer_json(control):
    session, url = control
    answer = session.get(f"{url}/nothing")
    assert answer.status_code == 404 and "error" in answer.json()


def test_control_requires_the_client_certificate(sim, control):
    _, url = control
    # Under TLS 1.3 the server refuses after the handshake: a reset, not always an SSLError.
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        requests.get(f"{url}/faults", verify=sim.endpoints["fabric"]["ca"], timeout=10)


def test_control_requests_are_logged(sim, control):
    session, url = control
    session.get(f"{url}/faults")
    session.post(f"{url}/faults", json={"fault": "bogus:1"})
    lines = (sim.state_dir / "requests.jsonl").read_text().splitlines()
    control_lines = [json.loads(x) for x in lines if json.loads(x)["protocol"] == "control"]
    assert [(r["method"], r["path"], r["status"]) for r in control_lines[-2:]] == [
        ("GET", "/faults", 200),
        ("POST", "/faults", 400),
    ]


@pytest.mark.parametrize("seconds", ["1e400", "-1e400", "NaN", "1e12", "400000000"])
def test_a_non_finite_or_absurd_advance_is_a_400_and_the_clock_keeps_working(
    sim, control, fabric_client, seconds
):
    session, url = control
    # Written by hand: json= refuses inf and nan, and 1e400 is what a user would type.
    answer = session.post(f"{url}/clock/advance", data=f'{{"seconds": {seconds}}}')
    assert answer.status_code == 400
    message = answer.json()["error"]
    assert "0 <= N <= 315360000 (10 years)" in message and "\n" not in message
    assert session.get(f"{url}/clock").json()["elapsed"] == 0.0
    fabric_client.get_node_info(PLAIN)  # the gateway still answers


def test_an_advance_past_the_latest_time_is_a_400(tmp_path):
    from datetime import UTC, datetime

    from tui.sim.scenario import load_scenario
    from tui.sim.server import SimServer

    start = datetime(9995, 1, 1, tzinfo=UTC)  # only a SimServer made in code starts this late
    with SimServer(load_scenario("seed"), tmp_path / "sim", speed=0, start=start) as sim:
        f = sim.endpoints["fabric"]
        url = sim.endpoints["control"]["endpoint"]
        answer = requests.post(
            f"{url}/clock/advance",
            json={"seconds": 315360000},
            cert=f["client_pem"],
            verify=f["ca"],
        )
        assert answer.status_code == 400
        assert answer.json() == {"error": "advancing 3.1536e+08 s would pass 9999-12-31"}
        assert requests.get(f"{url}/clock", cert=f["client_pem"], verify=f["ca"]).ok
