"""Stage: a customer's message that joins a ticket (POLICY.md P4). Replies are free.

A reply to a closed ticket within ``reopen_window_days`` of its *first* closure reopens it
and tells the technicians; a later reply goes on down the chain as a new, charged incident
that references the old ticket. Technicians' messages go to ``technician.py``.
"""
from __future__ import annotations

from datetime import timedelta

from gateway.pipeline import technician
from gateway.pipeline.notify import notify
from gateway.pipeline.outcome import Outcome
from gateway.pipeline.thread import locate
from gateway.pipeline.tickets import status_change
from gateway.pipeline.work import Work
from gateway.store.models import Ticket, TicketMessage


def record_in(w: Work, ticket: Ticket, kind: str) -> None:
    w.s.add(TicketMessage(ticket_id=ticket.id, at=w.logged_at, direction="in", kind=kind, sender=w.msg.from_addr, message_id=w.msg.message_id, subject=w.msg.subject, inbound_id=w.inbound.id))


def run(w: Work) -> Outcome | None:
    ticket, evidence = locate(w)
    if ticket is None:
        return None
    w.decision["thread"] = {"ticket": ticket.number, "evidence": evidence}
    if w.desk.config.is_technician(w.msg.from_addr):
        return technician.run(w, ticket)
    if ticket.status in ("open", "declined") or ticket.first_closed_at is None:
        record_in(w, ticket, "customer")
        return Outcome("appended", [ticket.number], reason=f"reply to #{ticket.number} ({evidence})")
    window = timedelta(days=w.desk.numbers.reopen_window_days)
    if w.logged_at <= ticket.first_closed_at + window:
        record_in(w, ticket, "customer")
        status_change(w.s, ticket, "open", w.logged_at, actor=w.msg.from_addr, note="reopened by customer reply")
        ticket.closed_at = None
        for tech in technician.recipients(w.desk):
            notify(w.s, w.desk, "tech_reopened", to=tech, at=w.logged_at, dedup_key=f"reopen:{ticket.number}:{w.inbound.id}:{tech}", ticket=ticket, sender=w.msg.from_addr)
        return Outcome("appended", [ticket.number], reason=f"reopened #{ticket.number} within {w.desk.numbers.reopen_window_days} days of its first closure")
    # Too late to reopen: a new incident, charged, that refers to the old one.
    w.decision["previous"] = ticket.number
    w.previous = ticket
    return None
