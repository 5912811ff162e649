"""Taking the cluster lease when an operating session starts: plainly, by --break-lease after a
confirmation, or a refusal that says how to continue.

The composition root calls this before any transcript is written; the decisions are in
tui/cluster/lease.py and the property batches in tui/cluster/gateway.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tui.cluster import lease
from tui.errors import ClusterError, UsageError

# Asked before a stale lease is broken, with its record (None: a value that is no record).
# Returns how the engineer confirmed ("typed the cluster name", "--yes"); "" means no.
BreakConfirm = Callable[[lease.LeaseRecord | None], str]

_SESSION_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")  # what the writer's file names can hold


class LeaseError(ClusterError):
    """Another session holds the cluster's lease (or it could not be taken)."""


@dataclass(frozen=True)
class TakenLease:
    """The lease a session starts with, and how a break was confirmed ("" if none was)."""

    held: lease.HeldLease
    broken: str = ""


def take_lease(
    gateway,
    profile_name: str,
    holder: str,
    session_id: str,
    transcript_dir: Path | None = None,
    confirm_break: BreakConfirm | None = None,
) -> TakenLease:
    """Take the cluster's lease, or raise LeaseError saying who holds it and how to go on.

    With `confirm_break`, an expired lease of another session is taken once it says yes."""
    try:
        if confirm_break is not None:
            taken = _break(gateway, profile_name, holder, session_id, confirm_break)
            if taken is not None:
                return taken
        return TakenLease(gateway.acquire_lease(profile_name, holder, session_id))
    except lease.LeaseHeld as exc:
        advice = refusal_advice(exc.holder, profile_name, transcript_dir)
        raise LeaseError(f"not starting: {exc}" + (f"; {advice}" if advice else "")) from exc
    except LeaseError:
        raise
    except ClusterError as exc:
        raise LeaseError(f"not starting: {exc}") from exc


def _break(
    gateway, profile_name: str, holder: str, session_id: str, confirm: BreakConfirm
) -> TakenLease | None:
    """Take another session's expired lease after confirmation; None when there is none."""
    current = gateway.read_lease(profile_name)
    if current is None or lease.is_ours(current.record, holder, session_id):
        return None  # nothing to break: taken the plain way
    refusal = lease.break_refusal(current.record, datetime.now(UTC))
    if refusal:
        raise LeaseError(f"not breaking the lease of {profile_name}: {refusal}")
    how = confirm(current.record)
    if not how:
        raise UsageError(f"not starting: the lease of {profile_name} was not broken")
    # `expected`: if it changed while the engineer was asked, it is not taken after all.
    return TakenLease(
        gateway.acquire_lease(profile_name, holder, session_id, expected=current), how
    )


def refusal_advice(
    record: lease.LeaseRecord | None, profile_name: str, transcript_dir: Path | None
) -> str:
    """How to go on when `record`'s session holds the lease: resume it from its transcript if
    that is on this host and no longer written, else wait until it expires."""
    if record is None:
        return ""
    expiry = lease.when(record.expires_at)
    found = find_session_transcript(record.session_id, transcript_dir)
    if found is None:
        return f"if that session is gone, wait until {expiry} (or use --break-lease after it)"
    from tui.transcript.lock import is_locked

    if is_locked(found):
        return (
            f"that session is running on this host (transcript {found}): "
            "quit it there, or watch it with --read-only"
        )
    return (
        f"that session ended without releasing it; its transcript is on this host: continue it "
        f"with `sfpatch run --profile {profile_name} --resume {found}`, or wait until {expiry} "
        "(or use --break-lease after it)"
    )


def find_session_transcript(session_id: str, transcript_dir: Path | None) -> Path | None:
    """The transcript a session on this host wrote (<dir>/<cluster>/<start>-<id>.jsonl)."""
    from tui.transcript.writer import default_transcript_dir

    if not _SESSION_ID.fullmatch(session_id):
        return None  # a record from the cluster is not trusted with a glob pattern
    root = transcript_dir or default_transcript_dir()
    try:
        found = sorted(root.glob(f"*/*-{session_id}.jsonl"))
    except OSError:
        return None
    return found[-1] if found else None
