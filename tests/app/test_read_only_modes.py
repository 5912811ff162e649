"""Proven read-only: in read-only, observe and replay, every binding and every palette command,
each answered with yes, sends no mutation to the simulator (its requests.jsonl says so)."""

from __future__ import annotations

import inspect
import json
import string

import pytest

from tests.app.recorded import session_transcript
from tui.app.app import SfpatchApp
from tui.app.widgets.nodes_table import NodesTable
from tui.commands.demo import build_session
from tui.config import load_profile
from tui.session import observer_source
from tui.sources.observe import ObserveSource
from tui.sources.replay import ReplaySource

SIZE = (160, 48)
QUITS = {"q", "ctrl+q", "ctrl+c"}  # pressed last
SKIPPED_COMMANDS = ("quit", "screenshot")  # the end of the test; a file in the working dir


def requests(sim) -> list[dict]:
    path = sim.state_dir / "requests.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def every_key(app: SfpatchApp) -> list[str]:
    """Each key any binding of the app or its screen names, and every lowercase letter."""
    keys = set(string.ascii_lowercase) | {"space", "enter", "left", "right", "home", "end"}
    for owner in (app, app.screen):
        for binding in type(owner).BINDINGS:
            keys.update(k.strip() for k in binding.key.split(","))
    return sorted(keys - QUITS)


async def back_to_main(app: SfpatchApp, pilot) -> None:
    """Say yes to whatever was asked, then close every dialog."""
    typed = app.screen.query("#confirm-name")
    if typed:  # a risky step: the node's name, typed
        typed.first().value = app.main.query_one(NodesTable).selected_node or ""
        await pilot.press("enter")
    elif app.screen is not app.main:
        await pilot.press("y")
    for _ in range(5):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if app.screen is app.main:
            return
        await pilot.press("escape")
    raise AssertionError(f"stuck on {app.screen!r}")


async def palette_commands(app: SfpatchApp) -> list:
    """Every command the palette's providers offer on the main screen (discovered or found)."""
    from textual.command import Provider

    hits = {}
    sources = [*type(app).COMMANDS, *type(app.main).COMMANDS]
    for source in sources:
        cls = source if isinstance(source, type) and issubclass(source, Provider) else source()
        provider = cls(app.main, None)
        provider._post_init()
        for query in ["", *string.ascii_lowercase]:
            async for hit in provider._search(query):
                hits.setdefault(str(hit.text), hit)
    return [h for name, h in hits.items() if not any(s in name.lower() for s in SKIPPED_COMMANDS)]


async def press_everything(app: SfpatchApp, pilot) -> tuple[int, int]:
    await app.workers.wait_for_complete()
    await pilot.pause()
    pressed = 0
    for key in every_key(app):
        await pilot.press(key)
        await back_to_main(app, pilot)
        pressed += 1
    commands = await palette_commands(app)
    for hit in commands:
        ran = hit.command()  # as the palette does: an action's callback returns a coroutine
        if inspect.isawaitable(ran):
            await ran
        await back_to_main(app, pilot)
    await pilot.press("q")
    await back_to_main(app, pilot) if app.is_running else None
    return pressed, len(commands)


@pytest.fixture(params=["read-only", "observe", "observe --profile", "replay"])
def app_in_mode(request, sim, tmp_path):
    transcripts = tmp_path / "transcripts"
    closing = []
    mode = request.param
    if mode == "read-only":
        session = build_session(sim, transcripts, "", poll=3600, read_only=True)
        closing.append(session.close)
        app = SfpatchApp(session)
    elif mode == "observe --profile":
        source = observer_source(load_profile("contoso-prod", sim.profile_path), 3600)
        closing.append(lambda: source.close("test over"))
        app = SfpatchApp(source=source)
    else:
        path = session_transcript(sim, transcripts)
        source = ObserveSource(path, poll_seconds=3600) if mode == "observe" else None
        app = SfpatchApp(source=source or ReplaySource(path))
    yield app
    for close in closing:
        close()


async def test_nothing_pressed_or_run_mutates(sim, app_in_mode):
    app = app_in_mode
    before = len(requests(sim))
    async with app.run_test(size=SIZE) as pilot:
        pressed, commands = await press_everything(app, pilot)
    assert pressed > 30 and commands > 0
    sent = requests(sim)[before:]
    assert not [r for r in sent if r["method"] != "GET"]
    assert all(node.intent == "Invalid" for node in sim.cluster.nodes.values())
