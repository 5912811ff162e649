"""A scenario is served only if this process may open the files it needs (RLIMIT_NOFILE)."""

from __future__ import annotations

import resource

import pytest

from tui.errors import ScenarioError
from tui.sim.capacity import FDS_FIXED, ensure_capacity, fds_needed


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


def test_three_descriptors_per_node_in_process_two_when_the_client_is_elsewhere() -> None:
    assert fds_needed(1000, client_in_process=True) == 3000 + FDS_FIXED
    assert fds_needed(1000, client_in_process=False) == 2000 + FDS_FIXED


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
    message = str(caught.value)
    may_open = 1024
    assert message == (
        f"scenario big: 5000 nodes need {fds_needed(5000, False)} open files (2 per node: each "
        f"engine's listening socket and its end of a client's connection to it, plus "
        f"{FDS_FIXED}), but this process may open {may_open} (RLIMIT_NOFILE); use at most "
        f"{(may_open - FDS_FIXED) // 2} nodes or raise the limit "
        f"(ulimit -n {fds_needed(5000, False)})"
    )
    assert limits.soft == 1024
