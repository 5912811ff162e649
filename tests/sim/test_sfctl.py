"""The official sfctl works against the simulated gateway unchanged."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# The venv's sfctl first: the one installed with sfpatch's pinned dependencies, not whatever
# another sfctl on PATH happens to be.
_VENV_SFCTL = Path(sys.executable).with_name("sfctl")
SFCTL = str(_VENV_SFCTL) if _VENV_SFCTL.exists() else shutil.which("sfctl")
pytestmark = pytest.mark.skipif(
    SFCTL is None, reason=f"no sfctl in the venv ({_VENV_SFCTL}) or on PATH"
)


@pytest.fixture
def sfctl(sim, tmp_path):
    f = sim.endpoints["fabric"]
    # sfctl keeps its config in ~/.sfctl. Its --ca is overridden by msrest's per-request
    # verify=True (sfctl issue #175); requests then trusts REQUESTS_CA_BUNDLE, the usual fix.
    env = {**os.environ, "HOME": str(tmp_path), "REQUESTS_CA_BUNDLE": f["ca"]}
    env.pop("CURL_CA_BUNDLE", None)

    def run(*args: str) -> str:
        done = subprocess.run([SFCTL, *args], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("cluster", "select", "--endpoint", f["endpoint"], "--pem", f["client_pem"], "--ca", f["ca"])
    return run


def test_node_list_and_info(sfctl):
    listed = json.loads(sfctl("node", "list"))
    assert [n["name"] for n in listed["items"]][:2] == ["_FrontEnd_0", "_FrontEnd_1"]
    shown = json.loads(sfctl("node", "info", "--node-name", "_Legacy_1"))
    assert shown["type"] == "Legacy" and shown["nodeStatus"] == "Up"
    health = json.loads(sfctl("node", "health", "--node-name", "_Legacy_1"))
    assert health["aggregatedHealthState"] == "Ok"


def test_disable_and_enable(sim, sfctl):
    sfctl("node", "disable", "--node-name", "_Legacy_1", "--deactivation-intent", "Restart")
    assert sim.cluster.nodes["_Legacy_1"].status == "Disabling"
    sim.clock.advance(60)
    shown = json.loads(sfctl("node", "info", "--node-name", "_Legacy_1"))
    assert shown["nodeStatus"] == "Disabled"
    sfctl("node", "enable", "--node-name", "_Legacy_1")
    sim.clock.advance(60)
    assert json.loads(sfctl("node", "info", "--node-name", "_Legacy_1"))["nodeStatus"] == "Up"


def test_cluster_health(sim, sfctl):
    health = json.loads(sfctl("cluster", "health"))
    assert health["aggregatedHealthState"] == "Ok"
    assert len(health["nodeHealthStates"]) == 8
