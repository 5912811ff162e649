"""Shared fixtures: a simulated cluster on loopback TLS with a frozen clock.

Tests move simulated time with `sim.clock.advance(seconds)`; nothing sleeps for real.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.cluster.fabric import FabricConnection, build_client
from tui.sim.scenario import load_scenario
from tui.sim.server import SimServer


@pytest.fixture
def terminal(monkeypatch):
    """`run` and `demo` see a terminal on stdout (pytest captures it), as they need one."""
    from tui.commands import console

    monkeypatch.setattr(console, "stdout_is_terminal", lambda: True)


@pytest.fixture
def sim(tmp_path: Path):
    """The seed scenario, served with the clock frozen (speed 0)."""
    with SimServer(load_scenario("seed"), tmp_path / "sim", speed=0) as server:
        yield server


def fabric_connection(server: SimServer) -> FabricConnection:
    f = server.endpoints["fabric"]
    return FabricConnection(f["endpoint"], client_pem=Path(f["client_pem"]), ca=Path(f["ca"]))


@pytest.fixture
def fabric_client(sim: SimServer):
    """azure-servicefabric's client, trusting the simulator's CA, with its client certificate."""
    return build_client(fabric_connection(sim))
