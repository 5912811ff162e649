"""The command palette's sfpatch entries (ctrl+p): every action by name, as the keys do it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

# (title, action, help); an action the app's check_action refuses is not offered.
ENTRIES = (
    ("Disable the selected node", "disable", "d: Service Fabric intent Restart, after a confirm"),
    ("Patch the selected node", "patch", "p: Windows Update through ARM Run Command"),
    ("Enable the selected node", "enable", "e: bring a Disabled node back, after a confirm"),
    ("Runbook: start, pause or resume the run", "run_toggle", "space: or confirm the step asked"),
    ("Runbook: auto-advance on/off", "run_auto", "a: on, go on while gates pass"),
    ("Runbook: skip the current node", "run_skip", "s: refused while it is out of service"),
    ("Runbook: abort the run", "run_abort", "x: a node left out of service is offered an enable"),
    ("Runbook: retry the paused step", "run_retry", "R"),
    ("Runbook: override the failed gates", "run_override", "o: type the node's name; recorded"),
    ("Refresh: re-read everything", "refresh", "r: health, VMs and engines now"),
    ("Note to the transcript", "note", "n: about the selected node"),
    ("Keys and confirmation rules", "help", "?"),
    ("UD x FD map / upgrade-domain table", "screen.toggle_map", "m: each UD's progress"),
    ("Filter the nodes", "screen.filter", "/: name, type, status, ud:N, fd:X, warn"),
    ("Quit sfpatch (end the session)", "quit", "q: asks first with nodes out of service"),
    # The player's, offered where the screen has them (replay).
    ("Replay: play / pause", "screen.play", "space"),
    ("Replay: slower", "screen.speed(-1)", "<: down to 0.25x"),
    ("Replay: faster", "screen.speed(1)", ">: up to 16x"),
    ("Replay: next node step", "screen.node_step(1)", "]"),
    ("Replay: previous node step", "screen.node_step(-1)", "["),
    ("Replay: next gate, override or failure", "screen.finding", "f: what an auditor looks for"),
    ("Replay: go to a time", "screen.goto", "g"),
    ("Replay: go to the start", "screen.edge(0)", "home"),
    ("Replay: go to the end", "screen.edge(1)", "end"),
)


def offered(screen, action: str) -> bool:
    """Whether `action` can run now: the screen the palette was opened on has it (screen.*),
    and the app allows it."""
    if action.startswith("screen."):
        name = action.removeprefix("screen.").split("(", 1)[0]
        return callable(getattr(screen, f"action_{name}", None))
    return bool(screen.app.check_action(action, ()))


class SfpatchCommands(Provider):
    """Posting-style provider: what can be done now, found by fuzzy name."""

    def commands(self) -> Iterator[tuple[str, Callable[[], object], str]]:
        app = self.app
        for title, action, help_text in ENTRIES:
            if offered(self.screen, action):
                yield title, partial(app.run_action, action), help_text

    async def discover(self) -> Hits:
        for title, callback, help_text in self.commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self.commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
