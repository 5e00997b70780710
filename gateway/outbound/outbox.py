"""The outbox: mail written in the same transaction as the change that causes it.

A unique ``dedup_key`` (e.g. ``ack:1001``) makes every notice at most once, even when two
processes or a replay produce it again: the second insert is skipped, not sent twice.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.outbound.compose import Composed
from gateway.store.models import Outbox, TicketMessage


def already_queued(s: Session, dedup_key: str) -> bool:
    return s.scalar(select(Outbox.id).where(Outbox.dedup_key == dedup_key)) is not None


def enqueue(s: Session, mail: Composed, *, event: str, dedup_key: str, at: datetime, ticket_id: int | None = None, kind: str = "automatic", sender: str = "") -> Outbox | None:
    """Queue ``mail`` unless ``dedup_key`` was queued before; return the row or None."""
    if already_queued(s, dedup_key):
        return None
    row = Outbox(
        dedup_key=dedup_key,
        message_id=mail.message_id,
        ticket_id=ticket_id,
        event=event,
        to_addr=mail.to,
        subject=mail.subject,
        headers=mail.headers,
        body=mail.body,
        raw=mail.raw,
        status="pending",
        attempts=0,
        created_at=at,
        next_attempt_at=at,
    )
    with s.begin_nested():
        s.add(row)
        s.flush()
    if ticket_id is not None:
        s.add(TicketMessage(ticket_id=ticket_id, at=at, direction="out", kind=kind, sender=sender, message_id=mail.message_id, subject=mail.subject, outbox_id=row.id))
    return row
