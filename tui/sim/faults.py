"""Faults injected into the simulator by name: `--fault NAME[:ARG]` or the control endpoint."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from tui.errors import UsageError
from tui.inputs import shown

MAX_DELAY_MS = 60_000  # slower than a minute per request is down, not slow

# name -> (what ARG is, help text)
FAULTS: dict[str, tuple[str, str]] = {
    "stuck-disabling": ("node", "a pending EnsureSeedNodeQuorum check on NODE never clears"),
    "no-return": ("node", "NODE stays Down after a restart or reboot"),
    "health-degrade": ("node", "an application on NODE goes Error after NODE is patched"),
    "gateway-flaky": ("rate", "that fraction (0..1) of gateway requests answer 503"),
    "gateway-slow": ("ms", "every gateway request is delayed by MS milliseconds"),
    "engine-down": ("node", "NODE's Docker engine does not answer"),
    "engine-slow": ("ms", "every engine handshake and request is delayed by MS milliseconds"),
    "arm-fail": ("operation", "that ARM long-running operation ends Failed"),
}
ARM_OPERATIONS = (
    "restart",
    "reimage",
    "manualupgrade",
    "runCommand",
    "osRollingUpgrade",
    "update",
)


@dataclass(frozen=True)
class Fault:
    name: str
    arg: str

    def __str__(self) -> str:
        return f"{self.name}:{self.arg}"


def parse_fault(text: str) -> Fault:
    """`stuck-disabling:_FrontEnd_0` -> Fault; a one-line UsageError on anything else."""
    name, _, arg = text.partition(":")
    if name not in FAULTS:
        raise UsageError(f"unknown fault {shown(name)}; known: {', '.join(sorted(FAULTS))}")
    kind = FAULTS[name][0]
    if not arg:
        raise UsageError(f"fault {name} needs an argument: {name}:{kind.upper()}")
    if kind == "rate":
        try:
            rate = float(arg)
        except ValueError:
            rate = -1.0
        if not 0.0 <= rate <= 1.0:
            raise UsageError(f"fault {name}: rate must be between 0 and 1 (got {shown(arg)})")
    # ASCII digits only: str.isdigit() also takes '²', which int() then refuses.
    ms_ok = arg.isascii() and arg.isdigit() and len(arg) <= 9 and int(arg) <= MAX_DELAY_MS
    if kind == "ms" and not ms_ok:
        raise UsageError(
            f"fault {name}: milliseconds must be a whole number from 0 to {MAX_DELAY_MS} "
            f"(got {shown(arg)})"
        )
    if kind == "operation" and arg not in ARM_OPERATIONS:
        raise UsageError(f"fault {name}: operation must be one of {', '.join(ARM_OPERATIONS)}")
    return Fault(name, arg)


def require_known_node(fault: Fault, node_names: Iterable[str]) -> None:
    """Refuse a node fault on a node the cluster does not have (one-line UsageError)."""
    if FAULTS[fault.name][0] == "node" and fault.arg not in set(node_names):
        raise UsageError(f"fault {fault}: no node named {fault.arg}")


class Faults:
    """The set of active faults; thread-safe, changed at start or through the control endpoint."""

    def __init__(self) -> None:
        self._active: set[Fault] = set()
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._active.add(fault)

    def remove(self, fault: Fault) -> None:
        with self._lock:
            self._active.discard(fault)

    def clear(self) -> None:
        with self._lock:
            self._active.clear()

    def active(self, name: str, arg: str | None = None) -> bool:
        with self._lock:
            return any(f.name == name and (arg is None or f.arg == arg) for f in self._active)

    def arg(self, name: str) -> str | None:
        """The argument of an active fault that takes a value (rate, ms), or None."""
        with self._lock:
            return next((f.arg for f in self._active if f.name == name), None)

    def delay(self, name: str) -> float | None:
        """The seconds an active delay fault (gateway-slow, engine-slow) waits, or None."""
        ms = self.arg(name)
        return None if ms is None else int(ms) / 1000

    def list(self) -> list[str]:
        with self._lock:
            return sorted(str(f) for f in self._active)
