"""The nodes filter (`/`), k9s-style: words that must all match; pure, no Textual."""

from __future__ import annotations

from collections.abc import Collection

from tui.model import Node

HELP = "name, type or status words; ud:N, fd:X, warn; !word excludes"


def node_matches(node: Node, query: str, warned: Collection[str] = ()) -> bool:
    """Whether `node` passes every word of `query` (case-insensitive).

    A word matches a part of the name, the node type or the status; `ud:N` the upgrade domain,
    `fd:X` a part of the fault domain, `warn` a node with findings; `!word` is the inverse."""
    for word in query.lower().split():
        negate = word.startswith("!")
        word = word.removeprefix("!")
        if not word:
            continue
        if word == "warn":
            hit = node.name in warned
        elif word.startswith("ud:"):
            hit = node.upgrade_domain.lower() == word[3:]
        elif word.startswith("fd:"):
            hit = word[3:] in node.fault_domain.lower()
        else:
            hit = any(word in part.lower() for part in (node.name, node.node_type, node.status))
        if hit == negate:
            return False
    return True
