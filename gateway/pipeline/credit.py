"""Crediting a ticket's points back (bug, decline) and telling whoever must know.

Shared by the technicians' mail commands and the CLI. A card-refund account gets no points
back: a refund request is recorded and the billing address is told (P1).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from gateway.desk import Desk
from gateway.pipeline.notify import notify
from gateway.store import ledger
from gateway.store.models import Account, Ticket


def credit_ticket_and_notify(s: Session, desk: Desk, ticket: Ticket, at: datetime, *, reason: str, actor: str) -> ledger.CreditResult:
    result = ledger.credit_ticket(s, ticket, at, reason=reason, actor=actor, years=desk.numbers.lot_lifetime_years)
    account = s.get(Account, ticket.account_id)
    assert account is not None
    if result.refund_requested:
        to = desk.config.billing_address or desk.config.desk_address
        notify(s, desk, "refund_request", to=to, at=at, dedup_key=f"refund:{ticket.number}", account=account, points=result.points, reason=reason, automatic=True)
    elif result.points:
        notify(s, desk, "points_credited", to=account.primary_address, at=at, dedup_key=f"credited:{ticket.number}:{reason}", ticket=ticket, account=account, points=result.points, reason=reason, balance=ledger.balance_now(s, account.id, at))
    return result
