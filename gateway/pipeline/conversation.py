"""Stage: a message that joins a ticket (POLICY.md P4). Replies are free.

``thread.locate`` decides which ticket, if any, the message joins. A technician's message
goes to ``technician.py`` (also one that names no ticket: ``#phone`` needs none). A
customer's reply to a merged ticket (``#merge``) goes to the ticket it was merged into. A
customer's reply to an open ticket is appended. A reply to a closed ticket within
``reopen_window_days`` of its *first* closure reopens it, free, and tells the technicians;
a later reply goes on down the chain as a new, charged incident that references the old
ticket (``w.previous``; the charge stage opens it and the acknowledgement explains).

A customer's message that starts with a technician command (``#close``...) changes nothing
and gets an error reply: commands are for authenticated technicians (P7).
"""
from __future__ import annotations

from datetime import timedelta

from gateway.pipeline import technician
from gateway.pipeline.commands import REOPEN_NOTE, starts_with_command
from gateway.pipeline.notify import notify
from gateway.pipeline.outcome import Outcome
from gateway.pipeline.thread import locate
from gateway.pipeline.tickets import status_change
from gateway.pipeline.work import Work
from gateway.policy.newtext import new_text
from gateway.store.models import Ticket, TicketMessage


def record_in(w: Work, ticket: Ticket, kind: str) -> None:
    w.s.add(TicketMessage(ticket_id=ticket.id, at=w.logged_at, direction="in", kind=kind, sender=w.msg.from_addr, message_id=w.msg.message_id, subject=w.msg.subject, inbound_id=w.inbound.id))


def continued(w: Work, ticket: Ticket, evidence: str) -> tuple[Ticket, str]:
    """A merged ticket's conversation goes on in the ticket it was merged into (``#merge``)."""
    seen = {ticket.id}
    while ticket.status == "merged" and ticket.merged_into_id is not None and ticket.merged_into_id not in seen:
        into = w.s.get(Ticket, ticket.merged_into_id)
        if into is None:
            break
        evidence, ticket = f"{evidence}; #{ticket.number} was merged into #{into.number}", into
        seen.add(ticket.id)
    return ticket, evidence


def run(w: Work) -> Outcome | None:
    ticket, evidence = locate(w)
    is_tech = w.desk.config.is_technician(w.msg.from_addr)
    if ticket is None:
        return technician.run(w, None) if is_tech else None
    if not is_tech:
        ticket, evidence = continued(w, ticket, evidence or "")
    w.decision["thread"] = {"ticket": ticket.number, "evidence": evidence}
    if is_tech:
        return technician.run(w, ticket)
    if starts_with_command(new_text(w.msg.text_plain, w.msg.text_html), known_only=True):
        return technician.refuse(w, ticket, [f"{w.msg.from_addr} is not a technician: command lines are for the support team. Nothing was changed."])
    if ticket.status in ("open", "declined") or ticket.first_closed_at is None:
        record_in(w, ticket, "customer")
        return Outcome("appended", [ticket.number], reason=f"reply to #{ticket.number} ({evidence})")
    window = timedelta(days=w.desk.numbers.reopen_window_days)
    if w.logged_at <= ticket.first_closed_at + window:
        record_in(w, ticket, "customer")
        status_change(w.s, ticket, "open", w.logged_at, actor=w.msg.from_addr, note=REOPEN_NOTE)
        ticket.closed_at = None
        for tech in technician.recipients(w.desk):
            notify(w.s, w.desk, "tech_reopened", to=tech, at=w.logged_at, dedup_key=f"reopen:{ticket.number}:{w.inbound.id}:{tech}", ticket=ticket, sender=w.msg.from_addr)
        return Outcome("appended", [ticket.number], reason=f"reopened #{ticket.number} within {w.desk.numbers.reopen_window_days} days of its first closure")
    # Too late to reopen: a new incident, charged, that refers to the old one.
    w.decision["previous"] = ticket.number
    w.previous = ticket
    return None
