"""The lease record format and the who-may-take-it decision (no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tui.cluster import lease

NOW = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)


def test_record_round_trips_through_its_json_value():
    record = lease.new_record("alice@jumpbox", "7f3a", NOW, 300)
    assert record.expires_at == NOW + timedelta(seconds=300)
    text = lease.encode(record)
    assert '"expires_at":"2026-11-26T22:05:00Z"' in text
    assert lease.decode(text) == record


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"holder": "a"}',
        '{"holder":"a","session_id":"s","expires_at":"yesterday"}',
    ],
)
def test_a_value_that_is_not_a_record_decodes_to_none(text):
    assert lease.decode(text) is None


def test_naive_times_are_taken_as_utc():
    naive = lease.new_record("a", "s", NOW.replace(tzinfo=None), 60)
    assert naive.expires_at == NOW + timedelta(seconds=60)


RECORD = lease.LeaseRecord("alice@box", "s-1", NOW + timedelta(seconds=60))


@pytest.mark.parametrize(
    "record, holder, session, seconds_later, may",
    [
        (None, "bob@box", "s-2", 0, True),  # free
        (RECORD, "bob@box", "s-2", 59, False),
        (RECORD, "bob@box", "s-2", 60, True),  # expired
        (RECORD, "alice@box", "s-1", 0, True),  # ours
        # The same session id from another host (a copied transcript) waits for the expiry.
        (RECORD, "alice@other", "s-1", 59, False),
        (RECORD, "alice@other", "s-1", 60, True),
    ],
)
def test_may_take(record, holder, session, seconds_later, may):
    now = NOW + timedelta(seconds=seconds_later)
    assert lease.may_take(record, holder, session, now) is may


@pytest.mark.parametrize(
    "record, seconds_later, breakable",
    [
        (None, 0, True),  # a value that is no record counts as expired
        (RECORD, 59, False),
        (RECORD, 60, True),
        (RECORD, 3600, True),
    ],
)
def test_only_an_expired_lease_can_be_broken(record, seconds_later, breakable):
    refusal = lease.break_refusal(record, NOW + timedelta(seconds=seconds_later))
    assert (refusal is None) is breakable
    if not breakable:
        assert "alice@box (session s-1)" in refusal and "2026-11-26 22:01:00Z" in refusal


def test_names():
    assert lease.lease_name("contoso-prod") == "fabric:/sfpatch/contoso-prod"
    assert lease.name_id("fabric:/sfpatch/contoso-prod") == "sfpatch~contoso-prod"
    with pytest.raises(ValueError):
        lease.lease_name("a/b")
