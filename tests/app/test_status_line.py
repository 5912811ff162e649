"""The status line says how old what is on screen is: the health read's time, and the VMs' and
engines' when their full read was earlier."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from tui.app.widgets.status_line import status_text
from tui.model import ClusterSnapshot

FULL_AT = datetime(2026, 12, 1, 19, 2, 40, 500000, tzinfo=UTC)
HEALTH_AT = datetime(2026, 12, 1, 19, 4, 12, tzinfo=UTC)
FULL = ClusterSnapshot(taken_at=FULL_AT, cluster_name="contoso-prod", endpoint="https://x:19080")


def line(snapshot: ClusterSnapshot) -> str:
    return str(status_text(snapshot, None, {}))


def test_a_health_read_after_a_full_one_shows_when_the_engines_were_read():
    health = replace(FULL, taken_at=HEALTH_AT, scope="health", full_taken_at=FULL_AT)
    assert line(health) == "read 19:04:12 UTC · VMs, engines 19:02:40 UTC"
    assert "\n" not in line(health)


def test_a_node_read_says_only_the_other_nodes_are_older():
    node = replace(
        FULL, taken_at=HEALTH_AT, scope="node", scope_node="_Legacy_0", full_taken_at=FULL_AT
    )
    assert line(node) == "read 19:04:12 UTC · other VMs, engines 19:02:40 UTC"


def test_a_full_read_or_one_in_the_same_second_shows_one_time():
    assert line(FULL) == "read 19:02:40 UTC"
    same = replace(FULL, taken_at=FULL_AT.replace(microsecond=900000), scope="health")
    assert line(replace(same, full_taken_at=FULL_AT)) == "read 19:02:40 UTC"
