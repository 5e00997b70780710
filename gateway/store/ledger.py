"""The points ledger in storage: lots and append-only entries, written under a lock.

Called by the pipeline (debit at opening), the technicians' commands and the CLI (credit,
adjust, buy) and the timed work (expiry). The arithmetic is in ``gateway.policy.ledger``;
this module loads the account's lots under a row lock (PostgreSQL ``FOR UPDATE``; on
SQLite every write transaction is ``BEGIN IMMEDIATE``), applies the plan and records which
lots gave or took what, so no lot and no balance is ever negative, also with several
gateway processes on one database.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.policy import ledger as arith
from gateway.store.models import Account, LedgerEntry, LedgerPart, Lot, Ticket


def lock_account(s: Session, account_id: int) -> Account:
    """Serialise all point changes of one account (a no-op lock on SQLite, see module doc)."""
    account = s.execute(select(Account).where(Account.id == account_id).with_for_update()).scalar_one()
    return account


def lots_of(s: Session, account_id: int) -> list[Lot]:
    return list(s.scalars(select(Lot).where(Lot.account_id == account_id).order_by(Lot.expires_at, Lot.id)))


def views(lots: list[Lot]) -> list[arith.LotView]:
    return [arith.LotView(l.id, l.remaining, l.purchased_at, l.expires_at) for l in lots]


def _entry(s: Session, account_id: int, at: datetime, kind: str, parts: list[tuple[int, int]], *, ticket_id: int | None = None, reason: str | None = None, actor: str | None = None) -> LedgerEntry:
    entry = LedgerEntry(account_id=account_id, at=at, kind=kind, points=sum(p for _, p in parts), ticket_id=ticket_id, reason=reason, actor=actor)
    entry.parts = [LedgerPart(lot_id=lot_id, points=pts) for lot_id, pts in parts]
    s.add(entry)
    return entry


def new_lot(s: Session, account_id: int, points: int, at: datetime, *, years: int, source: str, reference: str | None = None) -> Lot:
    lot = Lot(account_id=account_id, points=points, remaining=points, purchased_at=at, expires_at=arith.add_years(at, years), source=source, reference=reference)
    s.add(lot)
    s.flush()
    return lot


def purchase(s: Session, account: Account, points: int, at: datetime, *, years: int, reference: str | None = None, actor: str | None = None) -> Lot:
    if points <= 0:
        raise ValueError("a purchase is a positive number of points")
    lock_account(s, account.id)
    lot = new_lot(s, account.id, points, at, years=years, source="purchase", reference=reference)
    _entry(s, account.id, at, "purchase", [(lot.id, points)], reason=f"reference {reference}" if reference else None, actor=actor)
    return lot


def balance_now(s: Session, account_id: int, at: datetime) -> int:
    """Points spendable at ``at``: what is left in the lots valid then."""
    return arith.balance(views(lots_of(s, account_id)), at)


def debit(s: Session, account_id: int, points: int, at: datetime, *, ticket_id: int | None, reason: str, actor: str | None = None) -> LedgerEntry:
    """Take ``points`` from the soonest-expiring lots valid at ``at``; InsufficientPoints if short."""
    lock_account(s, account_id)
    lots = lots_of(s, account_id)
    plan = arith.debit_plan(views(lots), points, at)
    by_id = {l.id: l for l in lots}
    for lot_id, pts in plan:
        by_id[lot_id].remaining -= pts
    return _entry(s, account_id, at, "debit", [(lot_id, -pts) for lot_id, pts in plan], ticket_id=ticket_id, reason=reason, actor=actor)


@dataclass(frozen=True)
class CreditResult:
    points: int
    refund_requested: bool
    new_lot_id: int | None


def credit_ticket(s: Session, ticket: Ticket, at: datetime, *, reason: str, actor: str | None, years: int) -> CreditResult:
    """Give a ticket's points back (bug, decline). Card-refund accounts get a refund request."""
    account = lock_account(s, ticket.account_id)
    outstanding = _outstanding(s, ticket.id)
    total = sum(p for _, p in outstanding)
    if total == 0:
        return CreditResult(0, False, None)
    if account.refund == "card":
        # No points return; the request is recorded against the ticket so it is made once.
        entry = _entry(s, account.id, at, "refund_request", [], ticket_id=ticket.id, reason=reason, actor=actor)
        entry.refund_points = total
        return CreditResult(total, True, None)
    lots = lots_of(s, account.id)
    plan = arith.credit_plan(outstanding, views(lots), at)
    by_id = {l.id: l for l in lots}
    parts = []
    for lot_id, pts in plan.back_to_lots:
        by_id[lot_id].remaining += pts
        parts.append((lot_id, pts))
    new_id = None
    if plan.new_lot_points:
        lot = new_lot(s, account.id, plan.new_lot_points, at, years=years, source="credit")
        parts.append((lot.id, plan.new_lot_points))
        new_id = lot.id
    _entry(s, account.id, at, "credit", parts, ticket_id=ticket.id, reason=reason, actor=actor)
    return CreditResult(total, False, new_id)


def _outstanding(s: Session, ticket_id: int) -> list[tuple[int, int]]:
    """Debited parts of a ticket not yet credited or refunded, by original lot."""
    debits: list[tuple[int, int]] = []
    credited = 0
    for entry in s.scalars(select(LedgerEntry).where(LedgerEntry.ticket_id == ticket_id).order_by(LedgerEntry.id)):
        if entry.kind == "debit":
            debits.extend((p.lot_id, -p.points) for p in entry.parts)
        elif entry.kind == "credit":
            credited += entry.points
        elif entry.kind == "refund_request":
            credited += entry.refund_points or 0
    out = []
    for lot_id, pts in debits:
        take = min(pts, credited)
        credited -= take
        if pts - take:
            out.append((lot_id, pts - take))
    return out


def adjust(s: Session, account: Account, delta: int, at: datetime, *, reason: str, actor: str, years: int) -> LedgerEntry:
    """A manual correction: +N is a new lot valid for a year, -N takes from the soonest lots."""
    if delta == 0:
        raise ValueError("an adjustment changes the balance")
    lock_account(s, account.id)
    if delta > 0:
        lot = new_lot(s, account.id, delta, at, years=years, source="adjustment")
        return _entry(s, account.id, at, "adjustment", [(lot.id, delta)], reason=reason, actor=actor)
    lots = lots_of(s, account.id)
    plan = arith.debit_plan(views(lots), -delta, at)
    by_id = {l.id: l for l in lots}
    for lot_id, pts in plan:
        by_id[lot_id].remaining -= pts
    return _entry(s, account.id, at, "adjustment", [(lot_id, -pts) for lot_id, pts in plan], reason=reason, actor=actor)


def record_expiries(s: Session, now: datetime) -> list[LedgerEntry]:
    """Write an expiry entry, dated at the lot's expiry instant, for each lot that has expired."""
    entries = []
    due = s.scalars(select(Lot).where(Lot.expires_at <= now, Lot.expiry_recorded.is_(False)).order_by(Lot.expires_at, Lot.id)).all()
    for lot in due:
        lock_account(s, lot.account_id)
        s.refresh(lot)
        if lot.expiry_recorded:
            continue
        lot.expiry_recorded = True
        if lot.remaining > 0:
            entries.append(_entry(s, lot.account_id, lot.expires_at, "expiry", [(lot.id, -lot.remaining)], reason=f"lot {lot.id} expired"))
            lot.remaining = 0
    return entries


def balance_at(s: Session, account_id: int, at: datetime) -> int:
    """The balance at any instant, past included, derived from the ledger alone."""
    lots = lots_of(s, account_id)
    valid = [l.id for l in lots if l.purchased_at <= at < l.expires_at]
    if not valid:
        return 0
    total = s.execute(
        select(func.coalesce(func.sum(LedgerPart.points), 0))
        .join(LedgerEntry, LedgerEntry.id == LedgerPart.entry_id)
        .where(LedgerPart.lot_id.in_(valid), LedgerEntry.at <= at)
    ).scalar_one()
    return int(total)


def verify(s: Session) -> list[str]:
    """Recompute every lot from the entries; return one line per mismatch."""
    problems = []
    sums = dict(s.execute(select(LedgerPart.lot_id, func.sum(LedgerPart.points)).group_by(LedgerPart.lot_id)).all())
    for lot in s.scalars(select(Lot).order_by(Lot.id)):
        derived = int(sums.get(lot.id, 0))
        if derived != lot.remaining:
            problems.append(f"lot {lot.id} (account {lot.account_id}): stored remaining {lot.remaining}, ledger says {derived}")
        if derived < 0:
            problems.append(f"lot {lot.id} (account {lot.account_id}): negative ({derived})")
        if derived > lot.points:
            problems.append(f"lot {lot.id} (account {lot.account_id}): {derived} left of {lot.points} bought")
    for entry in s.scalars(select(LedgerEntry).order_by(LedgerEntry.id)):
        if entry.points != sum(p.points for p in entry.parts):
            problems.append(f"entry {entry.id}: points {entry.points} differ from its parts")
    return problems
