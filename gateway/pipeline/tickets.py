"""Opening a ticket: number, token, debit, deadline, acknowledgement, technician notice.

One function used by every path that opens an incident (a new message, a released hold,
a split, a phone incident), always inside the caller's transaction, so the ticket, the
ledger entry and the outbox rows commit together or not at all.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.clock import iso_utc
from gateway.desk import Desk
from gateway.pipeline.notify import notify
from gateway.policy.calendar import format_local
from gateway.policy.rules_engine import channels_note
from gateway.store import ledger
from gateway.store.models import Account, Counter, Inbound, Ticket, TicketEvent, TicketMessage

FIRST_NUMBER = 1001


def next_number(s: Session) -> int:
    """The next ticket number, under the counter row's lock (unique across processes)."""
    row = s.execute(update(Counter).where(Counter.name == "ticket").values(value=Counter.value + 1).returning(Counter.value)).scalar()
    if row is None:
        with s.begin_nested():
            s.add(Counter(name="ticket", value=FIRST_NUMBER))
        return FIRST_NUMBER
    return int(row)


def new_token() -> str:
    """The unguessable per-ticket secret of the reply address (128 bits, lower-case hex)."""
    return secrets.token_hex(16)


def status_change(s: Session, ticket: Ticket, new: str, at: datetime, *, actor: str | None, note: str | None = None, kind: str = "status") -> None:
    s.add(TicketEvent(ticket_id=ticket.id, at=at, kind=kind, old_status=ticket.status, new_status=new, actor=actor, note=note))
    ticket.status = new


def open_ticket(
    s: Session,
    desk: Desk,
    account: Account,
    *,
    subject: str,
    logged_at: datetime,
    opened_at: datetime,
    inbound: Inbound | None,
    customer: str,
    text: str = "",
    channel: str = "email",
    kind: str = "incident",
    parent: Ticket | None = None,
    previous: Ticket | None = None,
    explanation: dict[str, Any] | None = None,
    product: str | None = None,
    release: str | None = None,
    part: int | None = None,
    parts: int | None = None,
    ack_context: dict[str, Any] | None = None,
) -> Ticket:
    """Debit the points (InsufficientPoints if short) and open the ticket; queue its mail.

    ``logged_at`` is when the incident reached the desk; ``opened_at`` differs only for a
    held request that opens when points arrive (P1: charged then, SLA clock from then).
    """
    numbers = desk.numbers
    cal = desk.calendar(account.tz, account.country, account.subdiv)
    clock = cal.response_clock(opened_at)
    ticket = Ticket(
        number=next_number(s),
        account_id=account.id,
        token=new_token(),
        status="open",
        kind=kind,
        channel=channel,
        subject=(subject or "(no subject)")[:2000],
        points_charged=numbers.points_per_incident,
        logged_at=logged_at,
        opened_at=opened_at,
        first_response_due=clock.deadline,
        parent_id=parent.id if parent else None,
        previous_id=previous.id if previous else None,
        product=product,
        release=release,
        explanation=explanation,
    )
    s.add(ticket)
    s.flush()
    ledger.debit(s, account.id, numbers.points_per_incident, opened_at, ticket_id=ticket.id, reason=f"ticket #{ticket.number}")
    s.add(TicketEvent(ticket_id=ticket.id, at=opened_at, kind="status", old_status=None, new_status="open", actor=customer, note=f"opened by {channel}"))
    if inbound is not None:
        s.add(TicketMessage(ticket_id=ticket.id, at=logged_at, direction="in", kind="customer", sender=customer, message_id=_inbound_message_id(inbound, part), subject=subject, inbound_id=inbound.id))
    balance = ledger.balance_now(s, account.id, opened_at)
    arrival = cal.describe_arrival(opened_at)
    context = dict(
        account=account,
        balance=balance,
        charged=numbers.points_per_incident,
        deadline_local=format_local(clock.deadline, account.tz),
        deadline_utc=iso_utc(clock.deadline),
        arrival=arrival,
        community=account.edition == "community",
        channels_note=channels_note(desk.editions, account.edition),
        part=part,
        parts=parts,
        text=text,
        held=opened_at != logged_at,
    )
    context.update(ack_context or {})
    notify(s, desk, "ack", to=customer, at=opened_at, dedup_key=f"ack:{ticket.number}", ticket=ticket, in_reply_to=_inbound_message_id(inbound, None) if inbound else None, **context)
    techs = ([desk.config.queue_address] if desk.config.queue_address else list(desk.config.technicians))
    for tech in techs:
        notify(
            s, desk, "tech_new", to=tech, at=opened_at, dedup_key=f"tech-new:{ticket.number}:{tech}", ticket=ticket, account=account,
            deadline_utc=iso_utc(clock.deadline), deadline_local=format_local(clock.deadline, account.tz), text=text, part=part, parts=parts,
            hints=(explanation or {}).get("split_hints") or [],
        )
    return ticket


def _inbound_message_id(inbound: Inbound, part: int | None) -> str | None:
    if inbound.message_id is None:
        return None
    return inbound.message_id if not part or part == 1 else None


def find_ticket(s: Session, number: int) -> Ticket | None:
    return s.scalar(select(Ticket).where(Ticket.number == number))
