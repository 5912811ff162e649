"""The console's source of snapshots against the simulator, on a fake clock and a fake CPU
meter: background full re-reads wait longer the more CPU the last one cost, while a full read
asked for, the focus node's read and health on every poll are unchanged."""

from __future__ import annotations

import itertools

import pytest

from tui.cluster.inventory import connect
from tui.config import load_profile
from tui.session import FULL_READ_CPU_SHARE, FULL_READ_MAX_WAIT, SnapshotSource, full_read_wait

NODE = "_Legacy_0"


class Clock:
    """Seconds that move only when the test moves them."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def cpu_meter(per_read: float):
    """A process CPU clock on which every full read (the clock read before and after it) costs
    `per_read` seconds: each reading is `per_read` on from the one before."""
    ticks = itertools.count(0.0, per_read)
    return lambda: next(ticks)


@pytest.fixture
def inventory(sim):
    profile = load_profile(sim.cluster.scenario.cluster_name, sim.profile_path)
    with connect(profile, sim.clock.now) as made:
        yield made


def scopes(source: SnapshotSource, clock: Clock, at: list[float]) -> list[str]:
    """The scope of each read made at those times, after a first (full) one at 0."""
    last = source(None)
    found = []
    for t in at:
        clock.now = t
        last = source(last)
        found.append(last.scope)
    return found


@pytest.mark.parametrize(
    ("cpu", "wait"),
    [(0.0, 30.0), (0.5, 30.0), (0.6, 30.0), (3.0, 150.0), (6.0, 300.0), (-1.0, 30.0)],
)
def test_the_wait_is_the_interval_or_what_keeps_full_reads_to_a_small_share(cpu, wait):
    assert full_read_wait(30.0, cpu) == pytest.approx(wait)
    if cpu > 0:
        assert cpu / full_read_wait(30.0, cpu) <= FULL_READ_CPU_SHARE + 1e-9


@pytest.mark.parametrize("cpu", [15.0, 60.0, 1e6])
def test_however_costly_a_read_the_next_comes_within_ten_minutes(cpu):
    assert full_read_wait(30.0, cpu) == FULL_READ_MAX_WAIT == 600.0


def test_an_interval_asked_for_beyond_the_ceiling_is_kept():
    assert full_read_wait(900.0, 1.0) == 900.0


def test_a_full_read_costing_3_s_of_cpu_is_not_followed_by_another_for_150_s(inventory):
    clock = Clock()
    source = SnapshotSource(inventory, clock=clock, cpu_clock=cpu_meter(3.0))
    found = scopes(source, clock, [2.0, 30.0, 31.0, 60.0, 149.0, 150.0, 152.0, 299.0, 300.0])
    assert found == ["health"] * 5 + ["full", "health", "health", "full"]
    assert source.full_wait == pytest.approx(150.0)


def test_a_cheap_full_read_still_comes_every_30_s(inventory):
    clock = Clock()
    source = SnapshotSource(inventory, clock=clock, cpu_clock=cpu_meter(0.2))
    found = scopes(source, clock, [2.0, 29.0, 30.0, 32.0, 59.0, 60.0])
    assert found == ["health", "health", "full", "health", "health", "full"]
    assert source.full_wait == 30.0


def test_want_full_reads_everything_at_once_however_costly_the_last_read(inventory):
    clock = Clock()
    source = SnapshotSource(inventory, clock=clock, cpu_clock=cpu_meter(3.0))
    last = source(None)
    clock.now = 5.0
    source.want_full()
    assert source(last).full
    clock.now = 100.0  # 95 s after that read: not due yet
    assert source(last).scope == "health"


def test_the_focus_node_is_read_on_every_refresh_and_no_full_read_is_due(inventory):
    clock = Clock()
    source = SnapshotSource(inventory, clock=clock, cpu_clock=cpu_meter(0.2))
    last = source(None)
    for t in (2.0, 40.0, 500.0):
        clock.now = t
        read = source(last, NODE)
        assert (read.scope, read.scope_node) == ("node", NODE)
    source.want_full()
    assert source(last, NODE).full


def test_what_a_read_brings_costs_towards_its_wait_judged_and_drawn_after_it(inventory):
    """The CPU the process spends after the read returned (the rules, the transcript, the
    screen) until the next poll counts as the read's."""
    clock, spent = Clock(), [0.0]
    source = SnapshotSource(inventory, clock=clock, cpu_clock=lambda: spent[0])
    last = source(None)  # the read itself costs nothing on this meter
    spent[0] += 5.0  # what came after it, before the next poll
    clock.now = 2.0
    assert source(last).scope == "health"
    assert source.full_wait == pytest.approx(250.0)
    clock.now = 249.0
    assert source(last).scope == "health"
    clock.now = 250.0
    assert source(last).full
