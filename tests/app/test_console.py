"""The console as an on-call engineer meets it: large clusters, waits, feedback, finding your way.

Driven through Pilot against the simulator (frozen clock); state is asserted, never timing.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.app.test_app import SIZE, refresh
from tui.app.app import SfpatchApp
from tui.app.widgets.node_detail import NodeDetail
from tui.app.widgets.nodes_table import NodesTable
from tui.commands.demo import build_session
from tui.model import ClusterSnapshot


@pytest.fixture
def session(sim, tmp_path):
    made = build_session(sim, tmp_path / "transcripts", "CHG-42", poll=3600)
    yield made
    made.close()


def scaled(snapshot: ClusterSnapshot, count: int) -> ClusterSnapshot:
    """The seed's snapshot widened to `count` nodes: copies of its nodes and their engines."""
    nodes, engines = [], {}
    for i in range(count):
        base = snapshot.nodes[i % len(snapshot.nodes)]
        name = f"_{base.node_type}_{i}"
        nodes.append(
            replace(base, name=name, upgrade_domain=str(i % 5), fault_domain=f"fd:/{i % 5}")
        )
        if base.name in snapshot.engines:
            engines[name] = replace(snapshot.engines[base.name], node_name=name)
    return replace(snapshot, nodes=tuple(nodes), engines=engines, instances=())


async def big_console(app: SfpatchApp, pilot, session, count: int = 1000) -> ClusterSnapshot:
    await refresh(app, pilot)
    big = scaled(app.snapshot, count)
    session.fetch_snapshot = lambda previous, *args, **kwargs: big
    await refresh(app, pilot)
    return big


def on_screen_at(app: SfpatchApp, x: int, y: int):
    widget, _ = app.screen.get_widget_at(x, y)
    return widget


def assert_selection_in_sight(app: SfpatchApp) -> None:
    table = app.query_one(NodesTable)
    y = table.region.y + table.header_height + table.cursor_row - round(table.scroll_y)
    assert on_screen_at(app, table.region.x + 2, y) is table, "the selected row is out of sight"
    detail = app.query_one(NodeDetail)
    assert on_screen_at(app, detail.region.x + 1, detail.region.y) is detail
    assert table.selected_node in str(detail.render())


async def test_at_hundreds_of_nodes_the_selection_stays_in_sight(session):
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await big_console(app, pilot, session, 300)
        assert app.query_one(NodesTable).row_count == 300
        for keys in (["down"], ["down"] * 20, ["end"]):
            await pilot.press(*keys)
            await pilot.pause()
            assert_selection_in_sight(app)


async def test_a_cursor_move_repaints_without_a_new_layout(session, monkeypatch):
    from textual.screen import Screen

    layouts = []
    original = Screen._refresh_layout

    def counted(self, *args, **kwargs):
        layouts.append(self)
        return original(self, *args, **kwargs)

    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await big_console(app, pilot, session, 50)
        await pilot.press("down")
        await pilot.pause()
        monkeypatch.setattr(Screen, "_refresh_layout", counted)
        table = app.query_one(NodesTable)
        seen = set()
        for _ in range(6):
            await pilot.press("down")
            await pilot.pause()
            seen.add(str(app.query_one(NodeDetail).render()).split()[0])
        assert len(seen) == 6 and table.selected_node in seen  # the detail followed the cursor
        assert layouts == []
