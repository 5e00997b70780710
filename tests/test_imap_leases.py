"""Mailbox leases (gateway.store.leases) on SQLite and PostgreSQL: one holder at a time."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from dovecot import database_url  # noqa: F401  (fixture)
from gateway.store import leases
from gateway.store.db import Database

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
TTL = timedelta(seconds=30)

pytestmark = pytest.mark.storage


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    handle = Database(database_url)
    yield handle
    handle.dispose()


def test_free_lease_is_taken_and_renewed_by_its_holder(db: Database) -> None:
    assert leases.acquire(db, "imap a", "p1", T0, TTL)
    assert leases.acquire(db, "imap a", "p1", T0 + timedelta(seconds=10), TTL)
    assert leases.holder_of(db, "imap a", T0 + timedelta(seconds=39)) == "p1"


def test_valid_lease_is_refused_to_others_until_it_expires(db: Database) -> None:
    assert leases.acquire(db, "imap a", "p1", T0, TTL)
    assert not leases.acquire(db, "imap a", "p2", T0 + timedelta(seconds=29), TTL)
    assert leases.acquire(db, "imap a", "p2", T0 + timedelta(seconds=30), TTL)
    # The old holder has lost it and cannot renew.
    assert not leases.acquire(db, "imap a", "p1", T0 + timedelta(seconds=31), TTL)
    assert leases.holder_of(db, "imap a", T0 + timedelta(seconds=31)) == "p2"


def test_leases_of_different_mailboxes_are_independent(db: Database) -> None:
    assert leases.acquire(db, "imap a", "p1", T0, TTL)
    assert leases.acquire(db, "imap b", "p2", T0, TTL)


def test_release_frees_the_lease_only_for_its_holder(db: Database) -> None:
    assert leases.acquire(db, "imap a", "p1", T0, TTL)
    leases.release(db, "imap a", "p2")
    assert leases.holder_of(db, "imap a", T0) == "p1"
    leases.release(db, "imap a", "p1")
    assert leases.holder_of(db, "imap a", T0) is None
    assert leases.acquire(db, "imap a", "p2", T0 + timedelta(seconds=1), TTL)
