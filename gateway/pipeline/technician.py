"""Stage helper: a technician's message on a ticket (POLICY.md P7).

The reply is relayed to the customer from the desk address, quoted history trimmed, thread
headers kept; the first relayed reply sets ``first_response_at``.
"""
from __future__ import annotations

from gateway.desk import Desk
from gateway.pipeline.notify import notify
from gateway.pipeline.outcome import Outcome
from gateway.pipeline.work import Work
from gateway.policy.newtext import new_text
from gateway.store.models import Account, Ticket, TicketMessage


def recipients(desk: Desk) -> list[str]:
    """Who gets technician notices: the queue address, else every technician."""
    return [desk.config.queue_address] if desk.config.queue_address else list(desk.config.technicians)


def run(w: Work, ticket: Ticket) -> Outcome:
    w.s.add(TicketMessage(ticket_id=ticket.id, at=w.logged_at, direction="in", kind="technician", sender=w.msg.from_addr, message_id=w.msg.message_id, subject=w.msg.subject, inbound_id=w.inbound.id))
    account = w.s.get(Account, ticket.account_id)
    assert account is not None
    text = new_text(w.msg.text_plain, w.msg.text_html)
    notify(
        w.s, w.desk, "relay", to=account.primary_address, at=w.logged_at, dedup_key=f"relay:{w.inbound.id}", ticket=ticket,
        automatic=False, kind="technician", body=text, technician=w.msg.from_name or w.msg.from_addr,
    )
    if ticket.first_response_at is None:
        ticket.first_response_at = w.logged_at
    return Outcome("appended", [ticket.number], reason=f"technician reply relayed to {account.primary_address}")
