"""A handler that fails unexpectedly answers its protocol's error body and is logged."""

from __future__ import annotations

import json

import pytest
import requests

from tests.sim.test_arm import raw, vmss_path
from tests.sim.test_control import control  # noqa: F401  (fixture)
from tests.sim.test_docker import LEGACY, https, raw_session


def requests_log(sim) -> list[dict]:
    lines = (sim.state_dir / "requests.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def fail(*args, **kwargs):
    raise RuntimeError("state went wrong\nsecond line")


@pytest.fixture
def broken(sim, monkeypatch):
    """Every protocol's next request fails inside its handler, as a bug would."""
    monkeypatch.setattr(sim.cluster, "advance", fail)
    return sim


def _assert_logged_500(sim, protocol: str, path: str) -> None:
    last = requests_log(sim)[-1]
    assert (last["protocol"], last["status"]) == (protocol, 500)
    assert last["path"].startswith(path)
    assert last["error"] == "internal error: RuntimeError: state went wrong"


def test_the_gateway_answers_a_fabric_error_and_logs_it(broken):
    f = broken.endpoints["fabric"]
    answer = requests.get(
        f"{f['endpoint']}/Nodes?api-version=6.3", cert=f["client_pem"], verify=f["ca"]
    )
    assert answer.status_code == 500
    assert answer.json() == {
        "Error": {"Code": "E_FAIL", "Message": "internal error: RuntimeError: state went wrong"}
    }
    _assert_logged_500(broken, "fabric", "/Nodes")


def test_arm_answers_an_arm_error_and_logs_it(broken):
    answer = raw(broken, "GET", vmss_path(broken) + "?api-version=2024-07-01")
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "InternalServerError"
    _assert_logged_500(broken, "arm", "/subscriptions/")


def test_an_engine_answers_a_docker_message_and_logs_it(sim, monkeypatch):
    # Not `broken`: an engine checks the cluster as it accepts a connection, before any handler.
    monkeypatch.setattr("tui.sim.docker_api._answer", fail)
    with raw_session(sim) as session:
        answer = session.get(https(sim, LEGACY, "/v1.41/info"))
    assert answer.status_code == 500
    assert answer.json() == {"message": "internal error: RuntimeError: state went wrong"}
    _assert_logged_500(sim, "docker", "/v1.41/info")


def test_control_answers_a_json_error_and_logs_it(broken, control):  # noqa: F811
    session, url = control
    answer = session.post(f"{url}/clock/advance", json={"seconds": 1})
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error: RuntimeError: state went wrong"}
    _assert_logged_500(broken, "control", "/clock/advance")


def test_a_client_that_gives_up_is_logged_499_not_a_failure(sim):
    import time

    from tui.sim.faults import parse_fault

    sim.cluster.faults.add(parse_fault("gateway-slow:300"))
    f = sim.endpoints["fabric"]
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(
            f["endpoint"] + "/Names/sfpatch/$/GetProperties/$/SubmitBatch?api-version=6.0",
            data=b'{"Operations": []}',
            cert=f["client_pem"],
            verify=f["ca"],
            timeout=0.05,
        )
    deadline = time.monotonic() + 10  # a hang guard: the handler wakes 0.3 s later
    while not any(r["path"].startswith("/Names/") for r in requests_log(sim)):
        assert time.monotonic() < deadline, "the request was never logged"
        time.sleep(0.05)
    [line] = [r for r in requests_log(sim) if r["path"].startswith("/Names/")]
    assert line["status"] == 499 and "error" not in line
