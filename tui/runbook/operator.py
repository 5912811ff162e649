"""The engineer's actions on nodes, write-ahead: gates, confirmation, intent, act, result.

The transcript records the gates seen, what the engineer agreed to and the intent before the
gateway is called; a transcript that cannot be written raises before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tui.cluster.gateway import DISABLE_INTENT
from tui.errors import ReadOnlyError
from tui.runbook.gates import Gate
from tui.transcript import schema
from tui.transcript.writer import TranscriptWriter


class Operator:
    """Performs node actions through a gateway, each recorded in the session transcript."""

    def __init__(self, gateway, transcript: TranscriptWriter) -> None:
        self.gateway = gateway
        self.transcript = transcript

    @property
    def read_only(self) -> bool:
        return bool(getattr(self.gateway, "read_only", False))

    def disable(self, node: str, gates: Iterable[Gate] = (), typed: bool = False) -> None:
        """Disable a node with intent Restart, the first step before patching it."""
        self._act(
            "disable",
            node,
            f"disable {node} with intent {DISABLE_INTENT}",
            lambda: self.gateway.disable_node(node, DISABLE_INTENT),
            gates,
            typed,
            intent=DISABLE_INTENT,
        )

    def enable(self, node: str, gates: Iterable[Gate] = (), typed: bool = False) -> None:
        """Enable (activate) a node again after it was patched."""
        self._act(
            "enable", node, f"enable {node}", lambda: self.gateway.enable_node(node), gates, typed
        )

    def _act(
        self,
        action: str,
        node: str,
        what: str,
        send: Callable[[], None],
        gates: Iterable[Gate],
        typed: bool,
        **params: object,
    ) -> None:
        if self.read_only:
            raise ReadOnlyError("this session is read-only: no change can be sent to the cluster")
        t = self.transcript
        op = t.new_op()
        failed = []
        for gate in gates:
            t.append(
                "gate",
                op=op,
                node=node,
                data={"gate": gate.name, "passed": gate.passed, "why": gate.why},
            )
            if not gate.passed:
                failed.append(gate.name)
        confirm = {"what": what, "typed_node_name": typed}
        if failed:
            confirm["overriding_gates"] = failed
        t.append(schema.CONFIRM, op=op, node=node, data=confirm)
        t.intent(op, action, node=node, **params)
        try:
            send()
        except Exception as exc:
            t.result(op, False, f"{type(exc).__name__}: {exc}", node=node)
            raise
        t.result(op, True, node=node)
