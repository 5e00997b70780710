"""Leases: one holder at a time for work that must not run twice, such as reading a mailbox.

Used by the IMAP readers (``gateway.ingest.imap``): several gateway processes may share one
database, and each mailbox must be read by one of them at a time, or two processes would
fetch and move the same messages concurrently. A lease row names its holder and an expiry;
the holder renews it well before it expires, and anyone may take it once it has expired,
so a killed holder is replaced within one expiry period.

Correctness does not rest on the lease alone: content de-duplication makes a message read
twice a no-op. The lease keeps the readers from wasting work and fighting over MOVEs.

On SQLite every write transaction starts with BEGIN IMMEDIATE, so the read-then-write
below is serialised; on PostgreSQL the row is locked (SELECT ... FOR UPDATE) and a race
on the first insert ends in a unique violation, which means somebody else won.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.store.db import Database
from gateway.store.models import Lease


def acquire(db: Database, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``.

    Returns True when ``holder`` holds the lease afterwards: it was free, expired, or
    already ours. Returns False while another holder's lease is still valid.
    """

    def work(s: Session) -> bool:
        row = s.get(Lease, name, with_for_update=not db.is_sqlite)
        if row is None:
            s.add(Lease(name=name, holder=holder, expires_at=now + ttl))
            s.flush()
            return True
        if row.holder != holder and row.expires_at > now:
            return False
        row.holder = holder
        row.expires_at = now + ttl
        return True

    try:
        return db.write(work)
    except IntegrityError:
        # Two processes inserted the first row at once; the other one committed first.
        return False


def release(db: Database, name: str, holder: str) -> None:
    """Give the lease up at once (on a clean stop), if ``holder`` still has it."""

    def work(s: Session) -> None:
        s.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))

    db.write(work)


def holder_of(db: Database, name: str, now: datetime) -> str | None:
    """Who holds ``name`` at ``now`` (None when free or expired); for status and tests."""
    with db.session() as s:
        row = s.get(Lease, name)
        if row is None or row.expires_at <= now:
            return None
        return row.holder
