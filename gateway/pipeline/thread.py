"""Stage: does this message join an existing ticket? (POLICY.md P4)

Evidence, strongest first: a valid secret token address among the recipients; a
Message-ID of the ticket's conversation in In-Reply-To/References; the ``[#N]`` subject
tag. The last two count only when the sender is a contact of the ticket's account or a
technician: a stranger quoting a number or a stolen Message-ID opens nothing in it.
"""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.pipeline.work import Work
from gateway.store.accounts import is_contact
from gateway.store.models import Hold, Ticket, TicketMessage

TAG_RE = re.compile(r"\[#(\d{1,12})\]")


def token_from(address: str, desk_address: str) -> str | None:
    local, _, domain = desk_address.partition("@")
    a_local, _, a_domain = address.lower().partition("@")
    if a_domain != domain or not a_local.startswith(local + "+"):
        return None
    return a_local[len(local) + 1:] or None


def find_by_token(s: Session, token: str) -> Ticket | None:
    return s.scalar(select(Ticket).where(Ticket.token == token))


def address_token_known(s: Session, token: str) -> bool:
    """Is ``token`` a ticket's reply token or a pending confirmation's? (RCPT check)"""
    if find_by_token(s, token) is not None:
        return True
    return s.scalar(select(Hold.id).where(Hold.token == token, Hold.status == "confirm")) is not None


def _allowed(w: Work, ticket: Ticket) -> bool:
    sender = w.msg.from_addr
    return w.desk.config.is_technician(sender) or is_contact(w.s, ticket.account_id, sender)


def locate(w: Work) -> tuple[Ticket | None, str | None]:
    """The ticket and the evidence that names it, or (None, None)."""
    recipients = list(w.inbound.recipients or []) + w.msg.to
    for rcpt in recipients:
        token = token_from(rcpt, w.desk.config.desk_address)
        if token:
            ticket = find_by_token(w.s, token)
            if ticket is not None:
                return ticket, "token"
    refs = list(dict.fromkeys(w.msg.in_reply_to + list(reversed(w.msg.references))))
    if refs:
        rows = w.s.execute(select(TicketMessage.ticket_id).where(TicketMessage.message_id.in_(refs[:50]))).scalars().all()
        for ticket_id in dict.fromkeys(rows):
            ticket = w.s.get(Ticket, ticket_id)
            if ticket is not None and _allowed(w, ticket):
                return ticket, "references"
    for number in TAG_RE.findall(w.msg.subject):
        ticket = w.s.scalar(select(Ticket).where(Ticket.number == int(number)))
        if ticket is not None and _allowed(w, ticket):
            return ticket, "subject tag"
    return None, None
