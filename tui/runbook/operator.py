"""The engineer's actions on nodes, write-ahead: gates, confirmation, intent, act, result.

The transcript records the gates seen, what the engineer agreed to and the intent before the
gateway is called; a transcript that cannot be written raises before anything is sent.
A long-running action (a patch) gets its result record when its operation ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from tui.errors import ClusterError, GateFailed, LeaseLost, ReadOnlyError
from tui.model import LEASE_TTL_SECONDS, CommandOutput
from tui.runbook.actions import Action, Disable, Enable, InstallUpdates
from tui.runbook.gates import Gate
from tui.runbook.ports import Gateway, HeldLeaseView, LeaseRecordView, Operation
from tui.transcript import schema
from tui.transcript.writer import TranscriptWriter


@dataclass(frozen=True)
class Started:
    """An action that was sent: its transcript op, and the cluster operation still running."""

    op: str
    action: Action
    operation: Operation | None = None


class Operator:
    """Performs node actions through a gateway, each recorded in the session transcript."""

    def __init__(self, gateway: Gateway, transcript: TranscriptWriter, clock=None) -> None:
        self.gateway = gateway
        self.transcript = transcript
        self.lease: HeldLeaseView | None = None
        self.lease_lost = ""
        self._clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self._lease_mutex = threading.Lock()

    # ------------------------------------------------------------------ the cluster lease

    def adopt_lease(self, held: HeldLeaseView, holder: str, broken: str = "") -> None:
        """Keep the cluster lease the session took before it started, and record it: whom it was
        taken from, and `broken` (how the engineer confirmed it) if it was --break-lease."""
        self.lease = held
        details: dict[str, object] = {
            "name": held.name,
            "holder": holder,
            "expires_at": held.record.expires_at.isoformat(),
        }
        if held.previous is not None:
            details.update(_about("previous", held.previous))
        if broken:
            details["confirmed"] = broken
        self.transcript.lease("break" if broken else "acquire", **details)

    def keep_lease(self, ttl: float = LEASE_TTL_SECONDS) -> str:
        """Renew the lease once a third of it has passed; returns why it was lost, if it was lost
        now (once: "" again after)."""
        with self._lease_mutex:  # the poll and an action may both find it due
            if self.lease is None or self.lease_lost:
                return ""
            now = self._clock()
            if (self.lease.record.expires_at - now).total_seconds() > ttl * 2 / 3:
                return ""
            try:
                self.lease = self.gateway.renew_lease(self.lease, ttl, now)
            except LeaseLost as exc:
                self._lost(exc)
                return self.lease_lost
            self.transcript.lease(
                "renew", name=self.lease.name, expires_at=self.lease.record.expires_at.isoformat()
            )
            return ""

    def _lost(self, exc: LeaseLost) -> None:
        """Record that the lease is no longer ours, and who holds it now; no action follows."""
        self.lease_lost = str(exc)
        details = _about("now", exc.holder) if exc.holder else {}
        name = self.lease.name if self.lease else ""
        self.transcript.lease("lost", name=name, why=self.lease_lost, **details)

    def drop_lease(self) -> None:
        """Release the lease at the end of the session (best effort: it expires anyway)."""
        if self.lease is None or self.lease_lost:
            return
        try:
            self.gateway.release_lease(self.lease)
            self.transcript.lease("release", name=self.lease.name)
        except ClusterError as exc:
            self.transcript.lease("release-failed", name=self.lease.name, why=str(exc))
        self.lease = None

    # ------------------------------------------------------------------ node actions

    @property
    def read_only(self) -> bool:
        return bool(self.gateway.read_only)

    def start(
        self,
        action: Action,
        gates: Iterable[Gate] = (),
        typed: bool = False,
        confirmed_by: str = "",
    ) -> Started:
        """Record the gates, the confirmation and the intent, then send `action`.

        An action that completes at once also gets its result; a long-running one is
        finished by `finish` once its operation is done."""
        if self.read_only:
            raise ReadOnlyError("this session is read-only: no change can be sent to the cluster")
        gates = tuple(gates)
        failed = [gate.name for gate in gates if not gate.passed]
        if failed and not typed:
            raise GateFailed(
                f"not sent: {action.describe()} goes over {', '.join(failed)} (failed or not "
                "read), which needs the node's name typed"
            )
        self.keep_lease()  # renewed when due, so an action never runs on a lease about to expire
        if self.lease_lost:
            raise ClusterError(f"the cluster lease was lost ({self.lease_lost}); quit and re-open")
        t = self.transcript
        op = t.new_op()
        node = action.node
        for gate in gates:
            data = {"gate": gate.name, "passed": gate.passed, "state": gate.state, "why": gate.why}
            t.append(schema.GATE, op=op, node=node, data=data)
        confirm: dict[str, object] = {"what": action.describe(), "typed_node_name": typed}
        if failed:
            confirm["overriding_gates"] = failed
        if confirmed_by:
            confirm["confirmed_by"] = confirmed_by
        t.append(schema.CONFIRM, op=op, node=node, data=confirm)
        t.intent(op, action.action, node=node, **action.params())
        try:
            operation = action.send(self.gateway)  # the gateway checks the lease first
        except Exception as exc:
            t.result(op, False, f"{type(exc).__name__}: {exc}", node=node)
            if isinstance(exc, LeaseLost):
                self._lost(exc)
            raise
        if operation is None:
            t.result(op, True, node=node)
        return Started(op, action, operation)

    def finish(self, started: Started, timeout: float | None = None) -> object:
        """Collect a long-running action's end (blocking up to `timeout`) and record it."""
        if started.operation is None:
            return None
        node = started.action.node
        try:
            value = started.operation.result(timeout)
        except Exception as exc:
            self.transcript.result(started.op, False, f"{type(exc).__name__}: {exc}", node=node)
            raise
        if isinstance(value, CommandOutput):
            # The end of what the VM printed: enough to see which updates went in.
            self.transcript.result(
                started.op,
                True,
                node=node,
                stdout=value.stdout[-2000:],
                stderr=value.stderr[-1000:],
            )
        else:
            self.transcript.result(started.op, True, node=node)
        return value

    def run(self, action: Action, gates: Iterable[Gate] = (), typed: bool = False) -> object:
        """Start an action and wait for its end (minutes for a patch on a real cluster)."""
        return self.finish(self.start(action, gates, typed))

    def disable(self, node: str, gates: Iterable[Gate] = (), typed: bool = False) -> None:
        """Disable a node with intent Restart, the first step before patching it."""
        self.run(Disable(node), gates, typed)

    def enable(self, node: str, gates: Iterable[Gate] = (), typed: bool = False) -> None:
        """Enable (activate) a node again after it was patched."""
        self.run(Enable(node), gates, typed)

    def patch(
        self,
        node: str,
        scale_set: str,
        instance_id: str,
        gates: Iterable[Gate] = (),
        typed: bool = False,
    ) -> CommandOutput:
        """Install Windows updates on the node's VM through Run Command; the VM reboots."""
        return self.run(InstallUpdates(node, scale_set, instance_id), gates, typed)  # type: ignore[return-value]


def _about(prefix: str, record: LeaseRecordView) -> dict[str, str]:
    """A lease record's holder, session and expiry as transcript fields named `prefix_*`."""
    return {
        f"{prefix}_holder": record.holder,
        f"{prefix}_session": record.session_id,
        f"{prefix}_expires_at": record.expires_at.isoformat(),
    }
