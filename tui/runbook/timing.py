"""Timeouts and the first per-node estimate from a simulated cluster's known timings."""

from __future__ import annotations

from typing import Protocol

from tui.runbook.engine import Timeouts


class KnownTimings(Protocol):
    """Cluster-side durations in seconds (a scenario's [timing] table)."""

    safety_checks: float
    replica_close: float
    restart: float
    activate: float
    install_updates: float
    reimage: float
    arm_operation: float


def timeouts_from_timing(t: KnownTimings) -> Timeouts:
    """Generous multiples of what each step should take, so only a real fault times out."""
    patch = max(t.install_updates, t.reimage) + t.restart + 2 * t.arm_operation
    return Timeouts(
        disable=120,
        wait_disabled=3 * (t.safety_checks + t.replica_close) + 120,
        patch=2 * patch + 120,
        wait_rebooted=2 * (patch + t.restart) + 120,
        check_host=300,
        check_containers=300,
        enable=120,
        settle=10 * t.activate + 300,
    )


def estimate_from_timing(t: KnownTimings, settle_seconds: float) -> float:
    """A node's time before any is done: disable, the slower patch, reboot, enable, settle."""
    patch = max(t.install_updates, t.reimage) + t.restart + t.arm_operation
    return t.safety_checks + t.replica_close + patch + t.activate + settle_seconds
