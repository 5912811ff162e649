"""Inventory speed on the `large` scenario: full snapshots, a health-only refresh, peak memory.

The simulator runs in its own process (`sfpatch sim --speed 0`), so its CPU is not counted
against the client (it still shares the machine's cores). The cold snapshot is the first of
an inventory: a docker client and a TLS handshake per engine and every engine read in full.
The warm one repeats it on the same inventory, nothing changed in the cluster: kept clients,
and each engine refreshed from its container list alone. Targets on a 2-core machine: warm
full <= 3 s, health <= 0.5 s, <= 200 MB.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIO = "large"
START_TIMEOUT = 120.0  # seconds for the simulator to write endpoints.json


def run() -> list[tuple[str, str]]:
    """Start the simulator, time one cold full snapshot, a warm one, and health refreshes."""
    from tui.cluster.inventory import connect, gather, refresh_health
    from tui.config import load_profile
    from tui.sim.scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    with tempfile.TemporaryDirectory(prefix="sfpatch-bench-") as tmp:
        state = Path(tmp)
        sim = _start_simulator(state)
        try:
            profile = load_profile(scenario.cluster_name, state / "profile.toml")
            with connect(profile) as inventory:
                cold, snapshot = _timed(lambda: gather(inventory))
                warm, snapshot = _timed(lambda: gather(inventory))
                health = min(
                    _timed(lambda: refresh_health(inventory, snapshot))[0] for _ in range(3)
                )
        finally:
            sim.terminate()
            sim.wait(timeout=30)
    containers = sum(len(e.containers) for e in snapshot.engines.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return [
        (
            "large scenario",
            f"{len(snapshot.nodes)} nodes, {len(snapshot.engines)} engines, "
            f"{containers} containers, {len(snapshot.errors)} errors",
        ),
        ("full snapshot, cold (new clients, every read)", f"{cold:.2f} s"),
        ("full snapshot, warm (repeated) [<= 3 s]", f"{warm:.2f} s"),
        ("health-only refresh, best of 3 [<= 0.5 s]", f"{health:.3f} s"),
        ("peak memory (client process RSS) [<= 200 MB]", f"{peak_mb:.0f} MB"),
    ]


def _start_simulator(state: Path) -> subprocess.Popen[bytes]:
    sfpatch = Path(sys.executable).parent / "sfpatch"
    command = [str(sfpatch), "sim", "--scenario", SCENARIO, "--state-dir", str(state)]
    sim = subprocess.Popen([*command, "--speed", "0"], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT
    while not (state / "endpoints.json").exists():
        if sim.poll() is not None or time.monotonic() > deadline:
            sim.kill()
            raise RuntimeError(f"the simulator did not start (exit {sim.returncode})")
        time.sleep(0.1)
    return sim


def _timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


if __name__ == "__main__":
    for label, figure in run():
        print(f"{label:<48} {figure}")
