"""A scenario is served only if this process may open the files it needs (RLIMIT_NOFILE)."""

from __future__ import annotations

import resource

import pytest

from tui.errors import ScenarioError
from tui.sim.capacity import CONNECTIONS, FDS_FIXED, ensure_capacity, fds_needed


class Limits:
    """getrlimit/setrlimit of a pretend process."""

    def __init__(self, soft: int, hard: int, settable: bool = True) -> None:
        self.soft, self.hard, self.settable = soft, hard, settable

    def get(self, which: int) -> tuple[int, int]:
        assert which == resource.RLIMIT_NOFILE
        return self.soft, self.hard

    def set(self, which: int, limits: tuple[int, int]) -> None:
        if not self.settable:
            raise ValueError("not allowed")
        self.soft, self.hard = limits


def test_a_descriptor_per_node_and_the_connections_in_flight_once_or_twice() -> None:
    assert fds_needed(1000, client_in_process=False) == 1000 + FDS_FIXED + CONNECTIONS
    assert fds_needed(1000, client_in_process=True) == 1000 + FDS_FIXED + 2 * CONNECTIONS


def test_a_scenario_within_the_soft_limit_changes_nothing() -> None:
    limits = Limits(20_000, 20_000)
    ensure_capacity("large", 1000, True, limits.get, limits.set)
    assert (limits.soft, limits.hard) == (20_000, 20_000)


def test_the_soft_limit_is_raised_up_to_the_hard_one_when_that_is_enough() -> None:
    limits = Limits(1024, 4096)
    ensure_capacity("large", 1000, True, limits.get, limits.set)
    assert (limits.soft, limits.hard) == (fds_needed(1000, True), 4096)


@pytest.mark.parametrize("settable", [True, False])
def test_beyond_the_hard_limit_the_refusal_names_the_limit_and_what_fits(settable: bool) -> None:
    limits = Limits(1024, 1024 if settable else 16_384, settable)  # unsettable: macOS
    with pytest.raises(ScenarioError) as caught:
        ensure_capacity("big", 5000, False, limits.get, limits.set)
    needed, overhead = fds_needed(5000, False), FDS_FIXED + CONNECTIONS
    assert str(caught.value) == (
        f"scenario big: 5000 nodes need {needed} open files (a listening socket per engine, "
        f"{overhead} for the simulator and {CONNECTIONS} connections in flight, the simulator's "
        f"end), but this process may open 1024 (RLIMIT_NOFILE); use at most {1024 - overhead} "
        f"nodes or raise the limit (ulimit -n {needed})"
    )
    assert limits.soft == 1024


def test_a_limit_below_the_overhead_asks_only_to_raise_it() -> None:
    limits = Limits(256, 256)
    with pytest.raises(ScenarioError, match=r"may open 256 \(RLIMIT_NOFILE\); raise the limit"):
        ensure_capacity("seed", 8, True, limits.get, limits.set)
