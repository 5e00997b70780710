"""Points arithmetic (POLICY.md P1), pure: lots, balances, debit and credit plans.

The storage layer (``gateway.store.ledger``) loads the account's lots under a lock, asks
this module what to do at the logged instant, and records the plan as ledger entries.
"""
from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class LotView:
    id: int
    remaining: int
    purchased_at: datetime
    expires_at: datetime

    def valid_at(self, at: datetime) -> bool:
        return self.purchased_at <= at < self.expires_at


class InsufficientPoints(Exception):
    def __init__(self, needed: int, balance: int) -> None:
        super().__init__(f"{needed} points needed, {balance} on hand")
        self.needed = needed
        self.balance = balance


def add_years(at: datetime, years: int) -> datetime:
    """The same instant ``years`` calendar years later; 29 February becomes 28 February."""
    year = at.year + years
    day = min(at.day, calendar.monthrange(year, at.month)[1])
    return at.replace(year=year, day=day)


def balance(lots: Iterable[LotView], at: datetime) -> int:
    return sum(lot.remaining for lot in lots if lot.valid_at(at))


def debit_plan(lots: Sequence[LotView], points: int, at: datetime) -> list[tuple[int, int]]:
    """Which lots give how many points: soonest-expiring first, then oldest, then lowest id."""
    usable = sorted((lot for lot in lots if lot.valid_at(at) and lot.remaining > 0), key=lambda l: (l.expires_at, l.purchased_at, l.id))
    have = sum(lot.remaining for lot in usable)
    if points <= 0:
        raise ValueError("a debit takes a positive number of points")
    if have < points:
        raise InsufficientPoints(points, have)
    plan: list[tuple[int, int]] = []
    left = points
    for lot in usable:
        take = min(lot.remaining, left)
        plan.append((lot.id, take))
        left -= take
        if left == 0:
            break
    return plan


@dataclass(frozen=True)
class CreditPlan:
    back_to_lots: list[tuple[int, int]]  # (lot id, points) returned to still-valid lots
    new_lot_points: int  # points whose lot has expired, returned as a new lot


def credit_plan(debited: Sequence[tuple[int, int]], lots: Sequence[LotView], at: datetime) -> CreditPlan:
    """Return debited points to the lots they came from; expired parts become a new lot."""
    by_id = {lot.id: lot for lot in lots}
    back: list[tuple[int, int]] = []
    fresh = 0
    for lot_id, pts in debited:
        lot = by_id[lot_id]
        if at < lot.expires_at:
            back.append((lot_id, pts))
        else:
            fresh += pts
    return CreditPlan(back, fresh)


def expiring_within(lots: Iterable[LotView], at: datetime, until: datetime) -> list[LotView]:
    """Valid lots with points left that expire before ``until``, soonest first."""
    return sorted((l for l in lots if l.valid_at(at) and l.remaining > 0 and l.expires_at <= until), key=lambda l: l.expires_at)
