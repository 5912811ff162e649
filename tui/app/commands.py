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
    ("Refresh: re-read everything", "refresh", "r: health, VMs and engines now"),
    ("Note to the transcript", "note", "n: about the selected node"),
    ("Keys and confirmation rules", "help", "?"),
    ("UD x FD map / upgrade-domain table", "screen.toggle_map", "m: each UD's progress"),
    ("Filter the nodes", "screen.filter", "/: name, type, status, ud:N, fd:X, warn"),
    ("Quit sfpatch (end the session)", "quit", "q: asks first with nodes out of service"),
)


class SfpatchCommands(Provider):
    """Posting-style provider: what can be done now, found by fuzzy name."""

    def commands(self) -> Iterator[tuple[str, Callable[[], object], str]]:
        app = self.app
        for title, action, help_text in ENTRIES:
            if app.check_action(action, ()):
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
