"""The points arithmetic, pure (POLICY.md P1): expiry, soonest-first debits, credits."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.policy.ledger import InsufficientPoints, LotView, add_years, balance, credit_plan, debit_plan


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_lot_bought_on_29_february_expires_on_28_february() -> None:
    assert add_years(utc(2028, 2, 29, 10, 30), 1) == utc(2029, 2, 28, 10, 30)
    assert add_years(utc(2027, 3, 1), 1) == utc(2028, 3, 1)


def test_balance_counts_lots_valid_at_the_instant_only() -> None:
    lot = LotView(1, 20, utc(2026, 1, 1), utc(2027, 1, 1))
    assert balance([lot], utc(2025, 12, 31, 23, 59, 59)) == 0
    assert balance([lot], utc(2026, 1, 1)) == 20
    assert balance([lot], utc(2026, 12, 31, 23, 59, 59)) == 20
    assert balance([lot], utc(2027, 1, 1)) == 0  # expires_at is exclusive


def test_debit_takes_from_the_soonest_expiring_lot_first_across_lots() -> None:
    old = LotView(1, 4, utc(2026, 1, 1), utc(2027, 1, 1))
    new = LotView(2, 50, utc(2026, 6, 1), utc(2027, 6, 1))
    assert debit_plan([new, old], 10, utc(2026, 7, 1)) == [(1, 4), (2, 6)]


def test_debit_refuses_when_short_and_ignores_expired_lots() -> None:
    expired = LotView(1, 50, utc(2025, 1, 1), utc(2026, 1, 1))
    small = LotView(2, 5, utc(2026, 1, 1), utc(2027, 1, 1))
    with pytest.raises(InsufficientPoints) as info:
        debit_plan([expired, small], 10, utc(2026, 2, 1))
    assert info.value.balance == 5


def test_credit_returns_to_the_lots_and_expired_parts_become_a_new_lot() -> None:
    a = LotView(1, 0, utc(2026, 1, 1), utc(2027, 1, 1))
    b = LotView(2, 0, utc(2026, 6, 1), utc(2027, 6, 1))
    plan = credit_plan([(1, 4), (2, 6)], [a, b], utc(2027, 2, 1))
    assert plan.back_to_lots == [(2, 6)]
    assert plan.new_lot_points == 4


lot_strategy = st.tuples(st.integers(0, 40), st.integers(0, 800)).map(lambda t: (t[0], t[1]))


@settings(max_examples=300, deadline=None)
@given(
    purchases=st.lists(st.tuples(st.integers(1, 60), st.integers(0, 900)), min_size=1, max_size=8),
    events=st.lists(st.tuples(st.sampled_from(["debit", "credit"]), st.integers(0, 900), st.integers(1, 30)), max_size=30),
)
def test_ledger_invariants_over_random_histories(purchases: list[tuple[int, int]], events: list[tuple[str, int, int]]) -> None:
    """No lot and no balance is ever negative; every debit is covered; credits return exactly."""
    start = utc(2026, 1, 1)
    lots: dict[int, LotView] = {}
    bought: dict[int, int] = {}
    for i, (points, day) in enumerate(purchases, start=1):
        at = start + timedelta(days=day)
        lots[i] = LotView(i, points, at, add_years(at, 1))
        bought[i] = points
    debits: list[list[tuple[int, int]]] = []
    next_id = len(lots) + 1
    for kind, day, points in sorted(events, key=lambda e: e[1]):
        at = start + timedelta(days=day)
        before = balance(lots.values(), at)
        if kind == "debit":
            try:
                plan = debit_plan(list(lots.values()), points, at)
            except InsufficientPoints:
                assert before < points
                continue
            assert sum(p for _, p in plan) == points
            for lot_id, p in plan:
                lot = lots[lot_id]
                assert lot.valid_at(at) and lot.remaining >= p
                lots[lot_id] = LotView(lot_id, lot.remaining - p, lot.purchased_at, lot.expires_at)
            debits.append(plan)
            assert balance(lots.values(), at) == before - points
        elif debits:
            plan = debits.pop(0)
            credit = credit_plan(plan, list(lots.values()), at)
            assert sum(p for _, p in credit.back_to_lots) + credit.new_lot_points == sum(p for _, p in plan)
            for lot_id, p in credit.back_to_lots:
                lot = lots[lot_id]
                lots[lot_id] = LotView(lot_id, lot.remaining + p, lot.purchased_at, lot.expires_at)
            if credit.new_lot_points:
                lots[next_id] = LotView(next_id, credit.new_lot_points, at, add_years(at, 1))
                bought[next_id] = credit.new_lot_points
                next_id += 1
            assert balance(lots.values(), at) >= before
        for lot in lots.values():
            assert 0 <= lot.remaining <= bought[lot.id]
