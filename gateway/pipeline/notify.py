"""Automatic mail from the pipeline and the timed work: render, compose, queue.

Every mail about a ticket carries the ``[#N]`` tag, a Message-ID under the desk's domain,
In-Reply-To/References to the conversation and a ``Reply-To`` with the ticket's secret
token address (POLICY.md P4). Replies that are not about an opened ticket are limited per
recipient and hour (P8), so the desk never becomes a backscatter cannon.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.desk import Desk
from gateway.outbound.compose import compose
from gateway.outbound.outbox import already_queued, enqueue
from gateway.store.models import AutoReply, Outbox, Ticket, TicketMessage

log = logging.getLogger("gateway.notify")


def thread_ids(s: Session, ticket: Ticket) -> list[str]:
    """Message-IDs of the ticket's conversation, oldest first (for References)."""
    return [m for m in s.scalars(select(TicketMessage.message_id).where(TicketMessage.ticket_id == ticket.id).order_by(TicketMessage.id)) if m]


def over_limit(s: Session, desk: Desk, recipient: str, at: datetime) -> bool:
    since = at - timedelta(hours=1)
    count = s.scalar(select(func.count(AutoReply.id)).where(AutoReply.recipient == recipient, AutoReply.at > since, AutoReply.at <= at))
    return (count or 0) >= desk.numbers.auto_replies_per_sender_per_hour


def notify(
    s: Session,
    desk: Desk,
    event: str,
    *,
    to: str,
    at: datetime,
    dedup_key: str,
    ticket: Ticket | None = None,
    in_reply_to: str | None = None,
    limited: bool = False,
    automatic: bool = True,
    reply_to: str | None = None,
    kind: str = "automatic",
    **context: Any,
) -> Outbox | None:
    """Queue the ``event`` mail to ``to``; None when it was queued before or is over the limit."""
    if already_queued(s, dedup_key):
        return None
    if limited:
        if over_limit(s, desk, to, at):
            log.warning("automatic reply %s to %s suppressed: hourly limit reached", event, to)
            return None
        s.add(AutoReply(recipient=to, at=at))
    cfg = desk.config
    rendered = desk.renderer.render(event, desk=cfg, numbers=desk.numbers, ticket=ticket, **context)
    subject = rendered.subject
    refs: list[str] = []
    if ticket is not None:
        tag = f"[#{ticket.number}]"
        if tag not in subject:
            subject = f"{tag} {subject}"
        refs = thread_ids(s, ticket)
        reply_to = reply_to or desk.token_address(ticket.token)
        if in_reply_to is None and refs:
            in_reply_to = refs[-1]
    if in_reply_to and in_reply_to not in refs:
        refs.append(in_reply_to)
    mail = compose(
        from_name=cfg.desk_name,
        from_addr=cfg.desk_address,
        to=to,
        subject=subject,
        body=rendered.body,
        at=at,
        domain=cfg.desk_domain,
        ticket_number=ticket.number if ticket is not None else None,
        reply_to=reply_to,
        in_reply_to=in_reply_to,
        references=refs,
        automatic=automatic,
    )
    return enqueue(s, mail, event=event, dedup_key=dedup_key, at=at, ticket_id=ticket.id if ticket else None, kind=kind, sender=cfg.desk_address)
