"""The cluster-side lease: one sfpatch session at a time may change a cluster.

The lease is the property `lease` on the Service Fabric name `fabric:/sfpatch/<cluster>`; its
String value is the JSON record below. Taking, renewing and releasing it are property batches
guarded by CheckExists / CheckSequence, so two sessions racing cannot both win. This module is
the record format and the decisions; tui/cluster/gateway.py sends the batches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# The errors and the TTL live where the runbook can see them without importing tui/cluster.
from tui.errors import LeaseHeld as LeaseHeld
from tui.errors import LeaseLost as LeaseLost
from tui.model import LEASE_TTL_SECONDS

LEASE_PROPERTY = "lease"
DEFAULT_TTL_SECONDS = LEASE_TTL_SECONDS
RECORD_VERSION = 1


@dataclass(frozen=True)
class LeaseRecord:
    """Who holds the lease and until when (UTC, by the holder's clock)."""

    holder: str
    session_id: str
    expires_at: datetime


@dataclass(frozen=True)
class HeldLease:
    """A lease as last written: its record and the property's sequence number.

    `previous` is the record it replaced when it was taken over from another session."""

    name: str
    record: LeaseRecord
    sequence_number: str
    previous: LeaseRecord | None = None


@dataclass(frozen=True)
class LeaseState:
    """The lease property as read: its record (None if the value is not one) and sequence."""

    record: LeaseRecord | None
    sequence_number: str


def lease_name(cluster_name: str) -> str:
    """`contoso-prod` -> `fabric:/sfpatch/contoso-prod`."""
    if not cluster_name or "/" in cluster_name or "~" in cluster_name:
        raise ValueError(f"not a cluster name for a lease: {cluster_name!r}")
    return f"fabric:/sfpatch/{cluster_name}"


def name_id(name: str) -> str:
    """`fabric:/sfpatch/contoso-prod` -> `sfpatch~contoso-prod`, the form REST paths use."""
    return name.removeprefix("fabric:/").replace("/", "~")


def new_record(holder: str, session_id: str, now: datetime, ttl_seconds: float) -> LeaseRecord:
    return LeaseRecord(holder, session_id, _utc(now) + timedelta(seconds=ttl_seconds))


def encode(record: LeaseRecord) -> str:
    """The property value: compact JSON with an ISO-8601 UTC expiry."""
    return json.dumps(
        {
            "version": RECORD_VERSION,
            "holder": record.holder,
            "session_id": record.session_id,
            "expires_at": _utc(record.expires_at).isoformat().replace("+00:00", "Z"),
        },
        separators=(",", ":"),
        sort_keys=True,
    )


def decode(text: str) -> LeaseRecord | None:
    """Parse a property value; None when it is not a lease record (treated as expired)."""
    try:
        data = json.loads(text)
        expires = datetime.fromisoformat(str(data["expires_at"]).replace("Z", "+00:00"))
        return LeaseRecord(str(data["holder"]), str(data["session_id"]), _utc(expires))
    except (ValueError, TypeError, KeyError):
        return None


def is_expired(record: LeaseRecord | None, now: datetime) -> bool:
    return record is None or _utc(now) >= record.expires_at


def is_ours(record: LeaseRecord | None, holder: str, session_id: str) -> bool:
    """Whether the record is this session's: same session id written by the same holder.

    The holder must match too: a transcript copied to another host carries the session id,
    but its resumption there must not take the lease from a session still running here."""
    return record is not None and (record.session_id, record.holder) == (session_id, holder)


def may_take(record: LeaseRecord | None, holder: str, session_id: str, now: datetime) -> bool:
    """Whether this session may write the lease: free, expired, or already ours."""
    return record is None or is_ours(record, holder, session_id) or is_expired(record, now)


def break_refusal(record: LeaseRecord | None, now: datetime) -> str | None:
    """Why --break-lease may not take this lease (None when it may): only an expired one."""
    if record is None or is_expired(record, now):
        return None
    return (
        f"the lease of {record.holder} (session {record.session_id}) has not expired: it runs "
        f"until {when(record.expires_at)}; a lease that has not expired cannot be broken"
    )


def describe(record: LeaseRecord) -> str:
    return f"{record.holder} (session {record.session_id}) until {when(record.expires_at)}"


def when(moment: datetime) -> str:
    """`2026-11-26 22:05:00Z`: how lease times are shown."""
    return _utc(moment).strftime("%Y-%m-%d %H:%M:%SZ")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
