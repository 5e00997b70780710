"""Run the chain on stored messages, one transaction per message.

The transaction claims the stored row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite
serialises writers), runs every stage, records the outcome and commits. The commit is the
acknowledgement: tickets, ledger entries and outbox rows of one message land together. A
message that cannot be parsed, or that makes a stage fail, is quarantined with the reason.
"""
from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.clock import Clock
from gateway.desk import Desk
from gateway.errors import Quarantine, RetryLater
from gateway.pipeline.chain import DEFAULT_CHAIN, Stage, run_stages
from gateway.pipeline.outcome import Outcome
from gateway.pipeline.parse import parse_message
from gateway.pipeline.work import Work
from gateway.store.db import Database
from gateway.store.models import Inbound

log = logging.getLogger("gateway.pipeline")


class Pipeline:
    def __init__(self, db: Database, desk: Desk, clock: Clock, chain: Sequence[tuple[str, Stage]] = DEFAULT_CHAIN) -> None:
        self.db = db
        self.desk = desk
        self.clock = clock
        self.chain = chain

    def pending(self, limit: int = 100) -> list[int]:
        with self.db.session() as s:
            return list(s.scalars(select(Inbound.id).where(Inbound.status == "new").order_by(Inbound.received_at, Inbound.id).limit(limit)))

    def process_pending(self, limit: int = 100, should_stop: Callable[[], bool] = lambda: False) -> list[tuple[int, Outcome]]:
        """Process stored messages in arrival order; stop between messages when asked to."""
        done = []
        for inbound_id in self.pending(limit):
            if should_stop():
                break
            done.append((inbound_id, self.process(inbound_id)))
        return done

    def process(self, inbound_id: int) -> Outcome:
        """Process one stored message, or return its recorded outcome if already done."""
        try:
            outcome = self.db.write(lambda s: self._process(s, inbound_id))
        except RetryLater:
            raise
        except Exception as exc:  # a bug or damaged input must not stop the daemon
            log.error("inbound %d: stage failed, quarantined: %s\n%s", inbound_id, exc, traceback.format_exc())
            reason = f"internal error: {type(exc).__name__}: {exc}"[:2000]
            outcome = self.db.write(lambda s: self._quarantine(s, inbound_id, reason))
        return outcome

    def _claim(self, s: Session, inbound_id: int) -> Inbound | None:
        stmt = select(Inbound).where(Inbound.id == inbound_id)
        if not self.db.is_sqlite:
            stmt = stmt.with_for_update(skip_locked=True)
        return s.scalar(stmt)

    def _process(self, s: Session, inbound_id: int) -> Outcome:
        row = self._claim(s, inbound_id)
        if row is None:
            return Outcome("duplicate", reason="being processed by another worker")
        if row.status != "new":
            return recorded(row)
        row.attempts += 1
        try:
            msg = parse_message(row.raw)
        except Quarantine as exc:
            return self._finish(row, Outcome("quarantined", reason=str(exc)), status="quarantined")
        work = Work(s=s, desk=self.desk, inbound=row, msg=msg, logged_at=row.received_at)
        outcome = run_stages(work, self.chain) or Outcome("ignored", reason="no stage decided")
        if work.decision:
            outcome.details.setdefault("decision", work.decision)
        status = {"quarantined": "quarantined", "held": "held"}.get(outcome.outcome, "done")
        self._finish(row, outcome, status=status)
        log.info("inbound %d %s: %s tickets=%s %s", row.id, msg.message_id or "-", outcome.outcome, outcome.tickets, outcome.reason or "")
        return outcome

    def _finish(self, row: Inbound, outcome: Outcome, *, status: str) -> Outcome:
        row.status = status
        row.outcome = outcome.outcome
        row.reason = outcome.reason
        row.tickets = outcome.tickets
        row.decision = outcome.details.get("decision")
        row.processed_at = self.clock.now()
        return outcome

    def _quarantine(self, s: Session, inbound_id: int, reason: str) -> Outcome:
        row = s.get(Inbound, inbound_id)
        assert row is not None
        if row.status != "new":
            return recorded(row)
        log.warning("inbound %d %s quarantined: %s", row.id, row.message_id or "-", reason)
        return self._finish(row, Outcome("quarantined", reason=reason), status="quarantined")


def recorded(row: Inbound) -> Outcome:
    outcome = row.outcome or "ignored"
    return Outcome(outcome, list(row.tickets or []), row.reason)
