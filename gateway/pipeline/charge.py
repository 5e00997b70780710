"""Stage: open the incident(s) and charge them, or hold the request for points (P1, P2).

All issues of a message open together or none does: a split of three needs thirty points.
A request the balance cannot cover is held for ``pending_hold_days``; a purchase in that
window opens it (see ``holds.py``).
"""
from __future__ import annotations

from datetime import timedelta

from gateway.pipeline.notify import notify
from gateway.pipeline.outcome import Outcome
from gateway.pipeline.tickets import open_ticket
from gateway.pipeline.work import Work
from gateway.policy.ledger import expiring_within
from gateway.store import ledger
from gateway.store.models import Hold


def run(w: Work) -> Outcome | None:
    account = w.account
    assert account is not None
    issues = w.issues or [w.new_text]
    need = w.desk.numbers.points_per_incident * len(issues)
    at = w.opened_at or w.logged_at
    ledger.lock_account(w.s, account.id)
    have = ledger.balance_now(w.s, account.id, at)
    if have < need:
        if w.opened_at is not None:
            return None  # a held request still short of points stays held
        return hold(w, need, have)
    numbers = []
    for i, text in enumerate(issues, start=1):
        subject = w.msg.subject if len(issues) == 1 else f"{w.msg.subject} ({i}/{len(issues)})"
        ticket = open_ticket(
            w.s, w.desk, account, subject=subject, logged_at=w.logged_at, opened_at=at, inbound=w.inbound,
            customer=w.msg.from_addr, text=text, kind=w.decision.get("kind", "incident"), previous=w.previous,
            explanation=w.decision, product=w.decision.get("product"), release=w.decision.get("release"),
            part=i if len(issues) > 1 else None, parts=len(issues) if len(issues) > 1 else None,
            ack_context={"previous": w.previous, "reopen_days": w.desk.numbers.reopen_window_days, "issues": issues},
        )
        numbers.append(ticket.number)
    return Outcome("opened", numbers, reason=None if len(issues) == 1 else f"split into {len(issues)} issues")


def hold(w: Work, need: int, have: int) -> Outcome:
    account = w.account
    assert account is not None
    until = w.logged_at + timedelta(days=w.desk.numbers.pending_hold_days)
    w.s.add(Hold(inbound_id=w.inbound.id, account_id=account.id, logged_at=w.logged_at, hold_until=until, points_needed=need, status="held"))
    lots = ledger.lots_of(w.s, account.id)
    soon = expiring_within(ledger.views(lots), w.logged_at, w.logged_at + timedelta(days=w.desk.numbers.expiry_warning_days))
    notify(
        w.s, w.desk, "insufficient_points", to=w.msg.from_addr, at=w.logged_at, dedup_key=f"insufficient:{w.inbound.id}",
        limited=True, in_reply_to=w.msg.message_id, account=account, balance=have, needed=need, expiring=soon,
        hold_until=until, subject=w.msg.subject, issues=w.issues,
    )
    return Outcome("held", reason=f"{need} points needed, {have} on hand; held until {until:%Y-%m-%d}")
