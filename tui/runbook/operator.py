"""The engineer's actions on nodes, write-ahead: confirmation, intent, act, result.

The transcript records what the engineer agreed to and the intent before the gateway is
called; a transcript that cannot be written raises before anything is sent.
"""

from __future__ import annotations

from tui.cluster.gateway import DISABLE_INTENT
from tui.transcript.writer import TranscriptWriter


class Operator:
    """Performs node actions through a gateway, each recorded in the session transcript."""

    def __init__(self, gateway, transcript: TranscriptWriter) -> None:
        self.gateway = gateway
        self.transcript = transcript

    @property
    def read_only(self) -> bool:
        return bool(getattr(self.gateway, "read_only", False))

    def disable(self, node: str) -> None:
        """Disable a node with intent Restart, the first step before patching it."""
        self.transcript.confirm(f"disable {node} with intent {DISABLE_INTENT}", node=node)
        self.transcript.perform(
            "disable",
            lambda: self.gateway.disable_node(node, DISABLE_INTENT),
            node=node,
            intent=DISABLE_INTENT,
        )

    def enable(self, node: str) -> None:
        """Enable (activate) a node again after it was patched."""
        self.transcript.confirm(f"enable {node}", node=node)
        self.transcript.perform("enable", lambda: self.gateway.enable_node(node), node=node)
