"""The sender: claims due outbox rows, delivers them, records the result.

A row is claimed by pushing its ``next_attempt_at`` forward in a short transaction, so two
processes never send one row at once and a crash mid-send retries it later with the same
bytes. A restarted daemon takes back at once the claims of dead processes on its own host
(:meth:`OutboxSender.recover`); others wait out the claim. 4xx and connection errors back
off exponentially; 5xx is recorded as failed.
"""
from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from gateway.clock import Clock
from gateway.outbound.transports import PermanentSendError, TransientSendError, Transport
from gateway.store.db import Database
from gateway.store.models import Outbox

log = logging.getLogger("gateway.outbound")

CLAIM_SECONDS = 300
MAX_ATTEMPTS = 12
HOST = socket.gethostname()
HOLDER = f"{HOST}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 6 * 3600))


class OutboxSender:
    def __init__(self, db: Database, transport: Transport, clock: Clock, envelope_from: str) -> None:
        self.db = db
        self.transport = transport
        self.clock = clock
        self.envelope_from = envelope_from

    def _claim(self, now: datetime, limit: int) -> list[int]:
        def work(s):  # type: ignore[no-untyped-def]
            # A row never tried is due at once, whatever instant it was queued for (a
            # replay or a test may queue mail "in the future" of the wall clock).
            due = or_(Outbox.attempts == 0, Outbox.next_attempt_at <= now)
            ids = list(s.scalars(select(Outbox.id).where(Outbox.status == "pending", due).order_by(Outbox.id).limit(limit)))
            claimed = []
            for oid in ids:
                res = s.execute(
                    update(Outbox)
                    .where(Outbox.id == oid, Outbox.status == "pending", due)
                    .values(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS), attempts=Outbox.attempts + 1, claimed_by=HOLDER)
                )
                if res.rowcount == 1:
                    claimed.append(oid)
            return claimed

        return self.db.write(work)

    def recover(self) -> int:
        """Make rows claimed by dead sender processes on this host due again; return how many."""

        def work(s):  # type: ignore[no-untyped-def]
            rows = s.execute(select(Outbox.id, Outbox.claimed_by).where(Outbox.status == "pending", Outbox.claimed_by.like(f"{HOST}:%"))).all()
            dead = [oid for oid, holder in rows if holder != HOLDER and not _alive(int(holder.rpartition(":")[2] or 0))]
            if dead:
                s.execute(update(Outbox).where(Outbox.id.in_(dead)).values(next_attempt_at=self.clock.now(), claimed_by=None))
            return len(dead)

        taken = self.db.write(work)
        if taken:
            log.warning("outbox: %d messages claimed by a process that died are due again", taken)
        return taken

    async def flush(self, *, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
        """Deliver every due row once; return counts of sent, retried, failed."""
        now = now or self.clock.now()
        counts = {"sent": 0, "retry": 0, "failed": 0}
        for oid in self._claim(now, limit):
            with self.db.session() as s:
                row = s.get(Outbox, oid)
                assert row is not None
                key, to, raw, attempts, mid = f"outbox-{row.id}-{row.message_id}", row.to_addr, row.raw, row.attempts, row.message_id
            try:
                await self.transport.send(key, self.envelope_from, to, raw)
            except PermanentSendError as exc:
                self._finish(oid, "failed", str(exc), None)
                counts["failed"] += 1
                log.error("outbox %d %s to %s failed permanently: %s", oid, mid, to, exc)
            except TransientSendError as exc:
                if attempts >= MAX_ATTEMPTS:
                    self._finish(oid, "failed", f"gave up after {attempts} attempts: {exc}", None)
                    counts["failed"] += 1
                else:
                    self._finish(oid, "pending", str(exc), now + backoff(attempts))
                    counts["retry"] += 1
                log.warning("outbox %d %s to %s: temporary failure (attempt %d): %s", oid, mid, to, attempts, exc)
            else:
                self._finish(oid, "sent", None, None, sent_at=self.clock.now())
                counts["sent"] += 1
                log.info("outbox %d %s sent to %s", oid, mid, to)
        return counts

    def _finish(self, oid: int, status: str, error: str | None, retry_at: datetime | None, sent_at: datetime | None = None) -> None:
        values: dict[str, object] = {"status": status, "last_error": error, "claimed_by": None}
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        if sent_at is not None:
            values["sent_at"] = sent_at
        self.db.write(lambda s: s.execute(update(Outbox).where(Outbox.id == oid).values(**values)))
