"""The console as an on-call engineer meets it: large clusters, waits, feedback, finding your way.

Driven through Pilot against the simulator (frozen clock); state is asserted, never timing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.app.test_app import SIZE, refresh
from tui.app.app import SfpatchApp
from tui.app.widgets.node_detail import NodeDetail
from tui.app.widgets.nodes_table import NodesTable
from tui.commands.demo import build_session
from tui.model import ClusterSnapshot, Node


@pytest.fixture
def session(sim, tmp_path):
    made = build_session(sim, tmp_path / "transcripts", "CHG-42", poll=3600)
    yield made
    made.close()


def scaled(snapshot: ClusterSnapshot, count: int, uds: int = 5) -> ClusterSnapshot:
    """The seed's snapshot widened to `count` nodes in `uds` upgrade domains: copies of its
    nodes and their engines."""
    nodes, engines = [], {}
    for i in range(count):
        base = snapshot.nodes[i % len(snapshot.nodes)]
        name = f"_{base.node_type}_{i}"
        nodes.append(
            replace(base, name=name, upgrade_domain=str(i % uds), fault_domain=f"fd:/{i % 5}")
        )
        if base.name in snapshot.engines:
            engines[name] = replace(snapshot.engines[base.name], node_name=name)
    return replace(snapshot, nodes=tuple(nodes), engines=engines, instances=())


async def big_console(
    app: SfpatchApp, pilot, session, count: int = 1000, uds: int = 5
) -> ClusterSnapshot:
    await refresh(app, pilot)
    big = scaled(app.snapshot, count, uds)
    session.engine._fetch = lambda previous, focus=None, **fill_in: big  # more nodes, same panes
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
        await big_console(app, pilot, session, 120)
        assert app.query_one(NodesTable).row_count == 120
        for keys in (["down"], ["down"] * 20, ["end"]):
            await pilot.press(*keys)
            await pilot.pause()
            assert_selection_in_sight(app)


async def test_at_hundreds_of_nodes_the_other_panes_stay_on_screen(session):
    """The nodes table is capped at 40% of the screen, and so is the pane that holds it:
    a cap in vh units let the pane grow by the table's every row and push the containers,
    runbook, upgrade domains and warnings off the screen. Ten upgrade domains leave the
    health pane room under their table."""
    from tui.app.widgets.containers_pane import ContainersPane
    from tui.app.widgets.health_pane import HealthPane
    from tui.app.widgets.warnings_pane import WarningsPane

    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await big_console(app, pilot, session, 120, uds=10)
        top = app.query_one("#top")
        assert top.region.height <= SIZE[1] * 2 // 5 + 4  # the table, its title, the detail
        panes = (ContainersPane, WarningsPane, HealthPane)
        for pane in map(app.query_one, panes):
            assert on_screen_at(app, pane.region.x + 1, pane.region.y) is pane
        await pilot.resize_terminal(SIZE[0], SIZE[1] + 20)
        await pilot.pause()
        assert app.query_one(NodesTable).region.height == (SIZE[1] + 20) * 2 // 5


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


async def test_a_cursor_move_shows_the_new_nodes_detail_before_the_next_frame(session):
    """The detail line and the containers follow the cursor in the same frame as the row:
    through DataTable's RowHighlighted message they were a frame behind it (~25 ms a key)."""
    from tui.app.widgets.containers_pane import ContainersPane

    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await big_console(app, pilot, session, 50)
        table = app.query_one(NodesTable)
        table.focus()
        await pilot.pause()
        for move in (table.action_cursor_down, table.action_cursor_down, table.action_cursor_up):
            move()  # no await: nothing else has run since the cursor moved
            name = table.selected_node
            assert str(app.query_one(NodeDetail).content).startswith(name + " ")
            title = str(app.query_one("#containers-title").content)
            assert title.startswith(f"Containers on {name}")
            assert app.query_one(ContainersPane).node == name


async def test_tab_highlights_the_focused_panes_title(session):
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        titles = {
            pane: app.screen.query_one(f"#{pane} > .pane-title")
            for pane in ("top", "left", "bottom")
        }

        def lit() -> set[str]:
            base = app.screen.query_one("#right > .pane-title").styles.background
            return {pane for pane, label in titles.items() if label.styles.background != base}

        assert lit() == {"top"}
        await pilot.press("tab")
        await pilot.pause()
        assert lit() == {"left"}
        await pilot.press("tab")
        await pilot.pause()
        assert lit() == {"bottom"}


def test_durations_read_as_durations():
    from tui.app.format import duration_text, uptime_text

    assert [duration_text(s) for s in (46, 307, 11040, 1_047_600)] == [
        "46s",
        "5m 07s",
        "3h 04m",
        "12d 03h",
    ]
    assert uptime_text(46, "Up") == "46s" and uptime_text(46, "Down") == "-"


@pytest.mark.parametrize(
    "seconds", [0, 1, 59, 60, 3599, 3600, 3659, 7199, 86399, 86400, 86401, 90000, 1_047_599]
)
def test_a_duration_text_lasts_until_it_moves_on_and_no_longer(seconds):
    from tui.app.format import duration_text, duration_text_lasts

    lasts = duration_text_lasts(seconds)
    assert lasts >= 1
    assert duration_text(seconds + lasts - 1) == duration_text(seconds)
    assert duration_text(seconds + lasts) != duration_text(seconds)


async def test_no_column_cuts_a_version_or_a_name(sim, session):
    from tui.app.widgets.containers_pane import ContainersPane

    app = SfpatchApp(session)
    async with app.run_test(size=(100, 40)) as pilot:
        await refresh(app, pilot)
        nodes = app.query_one(NodesTable)
        pane = app.query_one(ContainersPane)
        for name in [key.value for key in nodes.rows]:
            nodes.select_node(name)
            await pilot.pause()
            for table in (nodes, pane):
                for column in table.columns.values():
                    for cell in table.get_column(column.key):
                        assert len(str(cell)) <= column.get_render_width(table) - 2, (
                            name,
                            str(column.label),
                            str(cell),
                        )
            target = app.screen.target_for(name)
            second = str(app.query_one(NodeDetail).render()).splitlines()[1]
            assert f"patch target {target}" in second[: 100 - 2]


async def test_waits_show_elapsed_time_stage_and_what_is_awaited(sim, session):
    from tests.app.test_app import confirm, select
    from tui.app.widgets.status_line import StatusLine

    now = [1000.0]
    app = SfpatchApp(session)
    app.clock = lambda: now[0]
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        status = app.screen.query_one(StatusLine)
        read_at = f"read {app.snapshot.taken_at:%H:%M:%S} UTC"
        assert read_at in str(status.render()) and "refreshing" not in str(status.render())
        await select(app, pilot, "_FrontEnd_2")
        await pilot.press("d")
        await confirm(app, pilot, "_FrontEnd_2")
        await refresh(app, pilot)
        now[0] += 65
        app.show_status()
        await pilot.pause()
        line = str(status.render())
        assert "_FrontEnd_2 DISABLING 1m 05s: waiting for Service Fabric's safety checks" in line
        detail = str(app.query_one(NodeDetail).render())
        assert "DISABLING 1m 05s" in detail
        timing = sim.cluster.scenario.timing
        sim.clock.advance(timing.safety_checks + timing.replica_close)
        await refresh(app, pilot)  # Disabled: the wait is over, and no line still shows it
        assert "DISABLING" not in str(app.query_one(NodeDetail).render())
        assert "DISABLING" not in str(status.render())


async def test_r_shows_a_refresh_running_and_when_data_was_read(sim, session):
    from tui.app.widgets.status_line import StatusLine

    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        status = app.screen.query_one(StatusLine)
        app._polling = True  # hold the poll as running while r is looked at (no worker starts)
        app._poll_started = app.clock()
        app.show_status()
        await pilot.pause()
        assert "refreshing 0s" in str(status.render())
        app._polling = False
        app._poll_started = None
        await pilot.press("r")
        await refresh(app, pilot)
        assert "refreshing" not in str(status.render())
        assert f"read {app.snapshot.taken_at:%H:%M:%S} UTC" in str(status.render())


async def test_a_timed_poll_is_said_on_the_status_line_only_once_it_takes_long(sim, session):
    """The poll every 2 s does not flash "refreshing" each time; one that hangs says so."""
    import threading

    from tui.app.app import QUIET_POLL_SECONDS
    from tui.app.widgets.status_line import StatusLine

    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        status = app.screen.query_one(StatusLine)
        now = [1000.0]
        app.clock = lambda: now[0]
        answer, fetch = threading.Event(), session.engine._fetch
        session.engine._fetch = lambda *a, **k: answer.wait(10) and fetch(*a, **k)
        app.poll_now(timed=True)
        await pilot.pause()
        assert "refreshing" not in str(status.render())
        now[0] += QUIET_POLL_SECONDS
        app.show_status()
        await pilot.pause()
        assert "refreshing 1s" in str(status.render())
        answer.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "refreshing" not in str(status.render())


async def test_a_health_poll_shows_when_the_engines_on_screen_were_read(sim, session):
    from tui.app.widgets.status_line import StatusLine

    session.engine._fetch._inventory.now = sim.clock.now  # the read times on the sim's clock
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        full = app.snapshot
        sim.clock.advance(90)
        await refresh(app, pilot)  # a health poll: the full read is not due yet
        app.show_status()
        await pilot.pause()
        assert app.snapshot.scope == "health" and app.snapshot.full_read_at == full.taken_at
        line = str(app.screen.query_one(StatusLine).render())
        assert (
            f"read {app.snapshot.taken_at:%H:%M:%S} UTC · VMs, engines {full.taken_at:%H:%M:%S} UTC"
            in line
        )


def test_a_patch_wait_names_its_stage_and_time():
    from tui.app.widgets.status_line import node_waits

    waits = node_waits(None, {"_Legacy_2": "patch"}, {"_Legacy_2": 10.0}, 262.0)
    assert waits["_Legacy_2"].startswith("PATCH RUNNING 4m 12s: Windows Update through ARM")
    assert "waiting for the command to end" in waits["_Legacy_2"]


async def test_the_palette_runs_sfpatch_actions_and_help_mentions_it(sim, session):
    from tui.app.commands import SfpatchCommands

    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        titles = [title for title, _, _ in SfpatchCommands(app.screen).commands()]
        assert {
            "Disable the selected node",
            "Patch the selected node",
            "Runbook: start, pause or resume the run",
            "Quit sfpatch (end the session)",
        } <= set(titles)
        assert not any(title.startswith("Replay") for title in titles)
        before = app.polls_completed
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"refresh")
        for _ in range(20):
            await pilot.pause()
        await pilot.press("enter")
        for _ in range(200):
            await app.workers.wait_for_complete()
            await pilot.pause()
            if app.polls_completed > before:
                break
        assert app.polls_completed > before
        await pilot.press("question_mark")
        await pilot.pause()
        assert "ctrl+p" in "\n".join(str(w.render()) for w in app.screen.query("Static"))


async def test_a_read_only_palette_offers_nothing_that_changes_the_cluster(sim, tmp_path):
    from tui.app.commands import SfpatchCommands

    made = build_session(sim, tmp_path / "t", "", poll=3600, read_only=True)
    app = SfpatchApp(made)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await refresh(app, pilot)
            titles = {title for title, _, _ in SfpatchCommands(app.screen).commands()}
            assert "Refresh: re-read everything" in titles
            assert not any(t.split()[0] in ("Disable", "Patch", "Enable") for t in titles)
    finally:
        made.close()


def test_filter_words_match_name_type_status_ud_fd_and_warn(sim, session):
    from tui.app.filter import node_matches

    snapshot = session.engine.observe().snapshot
    legacy = next(n for n in snapshot.nodes if n.node_type == "Legacy")
    assert node_matches(legacy, "legacy")
    assert node_matches(legacy, f"ud:{legacy.upgrade_domain} up")
    assert not node_matches(legacy, "!legacy")
    assert not node_matches(legacy, "ud:99")
    assert node_matches(legacy, "warn", {legacy.name}) and not node_matches(legacy, "warn", ())
    assert node_matches(legacy, f"fd:{legacy.fault_domain.split('/')[-1]}")


async def test_slash_filters_the_nodes_and_escape_clears(sim, session):
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        table = app.query_one(NodesTable)
        await pilot.press("slash", *"legacy")
        await pilot.pause()
        assert sorted(k.value for k in table.rows) == ["_Legacy_0", "_Legacy_1", "_Legacy_2"]
        assert "3 of 8" in str(app.screen.query_one("#nodes-title").render())
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused is table and table.selected_node.startswith("_Legacy_")
        assert table.selected_node in str(app.query_one(NodeDetail).render())
        await refresh(app, pilot)  # a poll keeps the filter
        assert table.row_count == 3
        await pilot.press("escape")
        await pilot.pause()
        assert table.row_count == 8
        await pilot.press("slash", *"warn")
        await pilot.pause()
        warned = {f.node for f in app.findings if f.node}
        assert {k.value for k in table.rows} == warned


async def test_the_first_read_shows_nodes_first_and_fills_in_engines(sim, session, monkeypatch):
    from tui.app.messages import StateReady
    from tui.app.widgets.status_line import StatusLine

    states = []
    lines = []

    def hook(message) -> None:
        if isinstance(message, StateReady):
            states.append(message.state)

    app = SfpatchApp(session)
    original = StatusLine.show

    def seen(self, text) -> None:
        original(self, text)
        lines.append(str(text))

    monkeypatch.setattr(StatusLine, "show", seen)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await refresh(app, pilot)
        full = next(i for i, s in enumerate(states) if not s.partial)
        partial = states[:full]
        assert partial and all(s.partial and not s.findings for s in partial)
        assert len(partial[0].snapshot.nodes) == 8 and not partial[0].snapshot.engines
        # Engines in batches, each sent once the screen drew the last (see tests/sources).
        counts = [len(s.snapshot.engines) for s in partial[1:]]
        assert counts and counts == sorted(set(counts)) and counts[0] >= 1 and counts[-1] <= 8
        shown = [line for line in lines if "reading the cluster" in line]
        assert "engines 0/8" in shown[0] and f"engines {counts[0]}/8" in "".join(shown)
        assert "reading the cluster" not in lines[-1]
        # While a read is under way nothing is acted on: the gates judge full reads only.
        app.snapshot, app._progress = None, partial[0].waiting
        await pilot.press("d")
        await pilot.pause()
        assert app.screen.__class__.__name__ == "MainScreen"
        assert "actions wait for the full read" in list(app._notifications)[-1].message


async def test_the_first_read_draws_the_nodes_before_any_engine_or_vm_is_read(
    sim, session, monkeypatch
):
    # Drawing a thousand rows while the sweep runs beside it took seconds (measured).
    from tests.app.test_read_only_modes import requests

    before = len(requests(sim))
    read_when_drawn: list[set[str]] = []
    original = NodesTable.render_lines

    def render_lines(self, crop):
        if self.row_count and not read_when_drawn:
            read_when_drawn.append({r["protocol"] for r in requests(sim)[before:]})
        return original(self, crop)

    monkeypatch.setattr(NodesTable, "render_lines", render_lines)
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        assert len(app.snapshot.engines) == 8 and len(app.snapshot.instances) == 8
    assert read_when_drawn == [{"fabric"}]


async def test_a_state_that_came_before_the_panes_is_drawn_on_mount_and_told_drawn():
    from textual.app import App

    from tests.sources.test_live import GATEWAY, HEADER
    from tui.app.screens.main import MainScreen
    from tui.sources import ViewState

    told: list[int] = []  # the rows on screen when the screen said it drew the state

    class Host(App[None]):
        def get_default_screen(self) -> MainScreen:
            rows = lambda: told.append(self.query_one(NodesTable).row_count)  # noqa: E731
            return MainScreen(ViewState(HEADER, GATEWAY, partial=True, drawn=rows))

    app = Host()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.query_one(NodesTable).row_count == len(GATEWAY.nodes)
        assert told == [len(GATEWAY.nodes)]


async def test_m_shows_the_ud_by_fd_map_with_each_uds_progress(sim, session):
    from tests.app.test_app import disable_with_keys
    from tui.app.widgets.ud_map import UdMap, ud_fd_map
    from tui.winver import parse_version

    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await pilot.press("m")
        await pilot.pause()
        ud_map = app.screen.query_one(UdMap)
        assert ud_map.display and not app.screen.query_one("#upgrade-domains").display
        await disable_with_keys(app, pilot, sim, "_Legacy_0")
        lines = str(ud_map.render()).splitlines()
        ud = app.snapshot.node("_Legacy_0").upgrade_domain
        row = next(line for line in lines[1:] if line.split()[0] == ud)
        assert "◆" in row and "1 out" in row and "0/" in row
        # A host at its node type's target is done.
        targets = {"Legacy": parse_version("10.0.14393.1770")}  # the seed's Legacy hosts today
        done = str(ud_fd_map(app.snapshot, targets)).splitlines()
        assert any("●" in line for line in done[1:-1])
        await pilot.press("m")
        await pilot.pause()
        assert not ud_map.display and app.screen.query_one("#upgrade-domains").display


async def test_the_containers_versions_come_before_the_names(sim, session):
    from tests.app.test_app import select
    from tui.app.widgets.containers_pane import ContainersPane

    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        await select(app, pilot, "_Legacy_0")
        pane = app.query_one(ContainersPane)
        keys = [column.key.value for column in pane.columns.values()]
        # A pane narrower than the table cuts its right end: a repository name, not a version.
        assert keys.index("image_os") < keys.index("image") and keys.index("tag") < keys.index(
            "image"
        )
        assert "10.0.14393.1770" in [str(c) for c in pane.get_column("tag")]


class Drawn:
    """What the console touched while it took in polls: rows made, cells changed, rows
    rebuilt, panes updated and layouts, counted by wrapping the methods that do them."""

    def __init__(self, monkeypatch) -> None:
        from textual.screen import Screen
        from textual.widgets import Static

        from tui.app.widgets import nodes_table

        self.rows: list[str] = []
        self.cells: list[str] = []
        self.rebuilds = 0
        self.updated: list[str | None] = []
        self.layouts = 0
        node_row = nodes_table.node_row
        update_cell, clear = NodesTable.update_cell, NodesTable.clear
        update, refresh_layout = Static.update, Screen._refresh_layout

        def made(node, *args):
            self.rows.append(node.name)
            return node_row(node, *args)

        def changed(table, row, *args, **kwargs):
            self.cells.append(row)
            return update_cell(table, row, *args, **kwargs)

        def cleared(table, *args, **kwargs):
            self.rebuilds += 1
            return clear(table, *args, **kwargs)

        def updated(widget, *args, **kwargs):
            self.updated.append(widget.id)
            return update(widget, *args, **kwargs)

        def laid_out(screen, *args, **kwargs):
            self.layouts += 1
            return refresh_layout(screen, *args, **kwargs)

        monkeypatch.setattr(nodes_table, "node_row", made)
        monkeypatch.setattr(NodesTable, "update_cell", changed)
        monkeypatch.setattr(NodesTable, "clear", cleared)
        monkeypatch.setattr(Static, "update", updated)
        monkeypatch.setattr(Screen, "_refresh_layout", laid_out)


def read_anew(snapshot: ClusterSnapshot, **changes) -> ClusterSnapshot:
    """The same cluster as a health poll reads it: new node objects, engines carried over;
    `changes` (node name -> status) change a node."""
    nodes = tuple(replace(n, status=changes.get(n.name, n.status)) for n in snapshot.nodes)
    return replace(snapshot, nodes=nodes)


async def test_a_poll_that_changed_nothing_draws_nothing(session, monkeypatch):
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        big = await big_console(app, pilot, session, 200)
        session.engine._fetch = lambda previous, focus=None, **fill_in: read_anew(big)
        await refresh(app, pilot)  # the footer and the findings of the new reads settle
        drawn = Drawn(monkeypatch)
        await refresh(app, pilot)
        await refresh(app, pilot)
        assert drawn.rows == [] and drawn.cells == [] and drawn.rebuilds == 0
        assert set(drawn.updated) <= {"status-line"}, drawn.updated  # the read's time
        assert app.snapshot is not big and app.snapshot.nodes == big.nodes  # read, and the same
        assert drawn.layouts == 0


async def test_a_poll_handing_over_the_same_nodes_works_through_none_of_them(session, monkeypatch):
    """A health poll whose answers were byte-identical to the last gives the last read's nodes,
    engines and findings in a new snapshot (read anew): no pane goes through them again."""
    from tui import model
    from tui.app.widgets import nodes_table, ud_map

    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await big_console(app, pilot, session, 200)
        session.engine._fetch = lambda previous, focus=None, **fill_in: replace(
            previous, taken_at=previous.taken_at + timedelta(seconds=2)
        )
        await refresh(app, pilot)
        derived: list[str] = []
        for module, name in (
            (nodes_table, "row_inputs"),
            (ud_map, "ud_fd_map"),
            (model, "summarize_upgrade_domains"),
        ):
            fn = getattr(module, name)
            monkeypatch.setattr(
                module, name, lambda *a, fn=fn, name=name, **k: derived.append(name) or fn(*a, **k)
            )
        before = app.snapshot
        await refresh(app, pilot)
        assert derived == []
        assert app.snapshot is not before and app.snapshot.nodes is before.nodes
        assert app.snapshot.taken_at > before.taken_at


async def test_a_poll_that_changed_one_node_redraws_its_row_only(session, monkeypatch):
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        big = await big_console(app, pilot, session, 200)
        table = app.query_one(NodesTable)
        node = big.nodes[57].name
        order = [key.value for key in table.rows]
        drawn = Drawn(monkeypatch)
        session.engine._fetch = lambda previous, focus=None, **fill_in: read_anew(
            big, **{node: "Disabled"}
        )
        await refresh(app, pilot)
        assert drawn.rows == [node] and set(drawn.cells) == {node} and drawn.rebuilds == 0
        assert str(table.get_cell(node, "status")) == "Disabled"
        assert [key.value for key in table.rows] == order


async def test_a_cursor_move_draws_only_the_rows_it_leaves_and_enters(session, monkeypatch):
    from textual.widgets import DataTable

    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await big_console(app, pilot, session, 200)
        table = app.query_one(NodesTable)
        await pilot.press("down")  # the first draw after the poll draws every row on screen
        await pilot.pause()
        drawn: set[int] = set()
        render_cell = DataTable._render_cell

        def counted(self, row_index, *args, **kwargs):
            if self is table:
                drawn.add(row_index)
            return render_cell(self, row_index, *args, **kwargs)

        monkeypatch.setattr(DataTable, "_render_cell", counted)
        await pilot.press("down")
        await pilot.pause()
        assert table.cursor_row == 2 and drawn == {1, 2}


def test_a_text_of_the_same_shape_is_not_laid_out_again():
    from rich.text import Text

    from tui.app.widgets.text_pane import text_shape

    assert text_shape(Text("read 10:00:01\nok"), 40) == text_shape(Text("refreshing 12s\nno"), 40)
    assert text_shape(Text("one line"), 40) != text_shape(Text("one\nline"), 40)
    # A line wider than the pane wraps where its words fall: any change to it counts.
    assert text_shape(Text("x" * 50), 40) != text_shape(Text("x" * 51), 40)
    assert text_shape(Text("ab"), 0) != text_shape(Text("abc"), 0)  # width not known yet


async def test_the_same_nodes_a_poll_later_show_their_uptimes_moved_on(session, monkeypatch):
    """Nodes that only aged since they were read stay the same objects (fabric.list_nodes):
    their uptime cells move on with the snapshot's time, and nothing else is drawn."""
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        first = app.snapshot
        noon = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # one day: the rules' inputs stay
        at = noon - timedelta(seconds=5)
        nodes = tuple(replace(n, uptime_seconds=100, uptime_at=at) for n in first.nodes)
        read = replace(first, taken_at=noon, nodes=nodes)
        later = replace(read, taken_at=noon + timedelta(seconds=10))
        fetched = iter([read, later])
        session.engine._fetch = lambda previous, focus=None, **fill_in: next(fetched)
        await refresh(app, pilot)
        table = app.query_one(NodesTable)
        up = [n.name for n in nodes if n.status != "Down"]
        assert {str(table.get_cell(name, "uptime")) for name in up} == {"1m 45s"}
        drawn = Drawn(monkeypatch)
        await refresh(app, pilot)
        assert {str(table.get_cell(name, "uptime")) for name in up} == {"1m 55s"}
        assert drawn.rows == [] and drawn.rebuilds == 0 and sorted(drawn.cells) == sorted(up)


async def test_a_poll_looks_only_at_the_uptimes_whose_text_is_due_to_move_on(session, monkeypatch):
    """Nodes up for days change their uptime text once an hour: a poll works out only those
    whose hour has come, and draws only their cells."""
    app = SfpatchApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await refresh(app, pilot)
        first = app.snapshot
        noon = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
        up = [n.name for n in first.nodes if n.status != "Down"]
        # Each up node a day and an hour old less 10 s, 20 s, ...: its next hour that much later.
        ages = {name: 86400 + 3600 - 10 * (i + 1) for i, name in enumerate(up)}
        nodes = tuple(
            replace(n, uptime_seconds=ages[n.name], uptime_at=noon) if n.name in ages else n
            for n in first.nodes
        )
        polls = [
            replace(first, taken_at=noon + timedelta(seconds=s), nodes=nodes)
            for s in (0, 5, 15, 25)
        ]
        fetched = iter(polls)
        session.engine._fetch = lambda previous, focus=None, **fill_in: next(fetched)
        await refresh(app, pilot)
        table = app.query_one(NodesTable)
        assert {str(table.get_cell(name, "uptime")) for name in up} == {"1d 00h"}
        worked_out = []
        uptime_as_of = Node.uptime_as_of
        monkeypatch.setattr(
            Node, "uptime_as_of", lambda n, at: worked_out.append(n.name) or uptime_as_of(n, at)
        )
        drawn = Drawn(monkeypatch)
        for moved in ([], up[:1], up[1:2]):
            drawn.cells.clear()
            worked_out.clear()
            await refresh(app, pilot)
            assert sorted(drawn.cells) == moved and sorted(set(worked_out)) == moved
            assert [str(table.get_cell(name, "uptime")) for name in moved] == ["1d 01h"] * len(
                moved
            )
        assert {str(table.get_cell(name, "uptime")) for name in up[2:]} == {"1d 00h"}


def test_the_console_freezes_its_startup_objects_before_it_runs(session, monkeypatch):
    """Kept out of every garbage collection (a full one held the screen 250-400 ms on 1,000
    nodes): the objects alive when the console starts live as long as it does."""
    import gc

    frozen: list[int] = []
    monkeypatch.setattr(SfpatchApp, "run", lambda self, **_: frozen.append(gc.get_freeze_count()))
    before = gc.get_freeze_count()
    try:
        SfpatchApp(session).run_until_ended()
    finally:
        gc.unfreeze()  # the rest of the suite collects as it did
    assert len(frozen) == 1 and frozen[0] > before
