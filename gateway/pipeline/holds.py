"""Held requests: opened later, or lapsed after the hold window.

Two kinds of hold (both ``Hold`` rows, in arrival order):
- ``held`` (P1, decided): not enough points. A purchase calls :func:`release_holds` in its
  own transaction; the account's held requests open in arrival order as far as the
  points go, each charged and acknowledged then, with the response clock starting then.
- ``confirm`` (P8): an unauthenticated sender's request waits for a reply to the
  confirmation sent to the registered address (``confirm.py``), then opens the same way.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.desk import Desk
from gateway.pipeline.notify import notify
from gateway.pipeline.outcome import Outcome
from gateway.pipeline.parse import parse_message
from gateway.pipeline.work import Work
from gateway.store.accounts import by_address
from gateway.store.models import Account, Hold, Inbound

# The stages a released request runs again: from reading its text to charging it (the
# scope rules passed when it was held, and decide the same way again).
RELEASE_FROM = "read_text"


def open_held(s: Session, desk: Desk, hold: Hold, account: Account, at: datetime) -> Outcome | None:
    """Run a held request's remaining stages with ``at`` as its opening; mark it if opened."""
    inbound = s.get(Inbound, hold.inbound_id)
    assert inbound is not None
    msg = parse_message(inbound.raw)
    w = Work(s=s, desk=desk, inbound=inbound, msg=msg, logged_at=hold.logged_at, opened_at=at, account=by_address(s, msg.from_addr) or account)
    # The chain holds stages that release holds (confirm.py), so it is read here, not at import.
    from gateway.pipeline.chain import run_stages, stages_from

    outcome = run_stages(w, stages_from(RELEASE_FROM))
    if outcome is None or outcome.outcome != "opened":
        return outcome
    hold.status, hold.resolved_at = "opened", at
    inbound.outcome, inbound.tickets = "opened", outcome.tickets
    inbound.reason = f"held, opened at {at.isoformat()}"
    return outcome


def release_holds(s: Session, desk: Desk, account: Account, at: datetime) -> list[int]:
    """Open the account's held requests that the balance now covers; return ticket numbers."""
    opened: list[int] = []
    holds = s.scalars(select(Hold).where(Hold.account_id == account.id, Hold.status == "held", Hold.hold_until > at).order_by(Hold.logged_at, Hold.id)).all()
    for hold in holds:
        outcome = open_held(s, desk, hold, account, at)
        if outcome is None or outcome.outcome != "opened":
            break  # not enough points for this one: later ones wait their turn (arrival order)
        opened.extend(outcome.tickets)
    return opened


def lapse_holds(s: Session, desk: Desk, now: datetime) -> int:
    count = 0
    for hold in s.scalars(select(Hold).where(Hold.status.in_(("held", "confirm")), Hold.hold_until <= now).order_by(Hold.id)).all():
        waited_for = "confirmation" if hold.status == "confirm" else "points"
        hold.status, hold.resolved_at = "lapsed", hold.hold_until
        inbound = s.get(Inbound, hold.inbound_id)
        account = s.get(Account, hold.account_id)
        assert inbound is not None and account is not None
        inbound.reason = f"hold lapsed at {hold.hold_until.isoformat()}: no {waited_for}"
        msg_subject = ""
        try:
            msg_subject = parse_message(inbound.raw).subject
        except Exception:  # the notice matters more than its subject line
            pass
        notify(s, desk, "hold_lapsed", to=account.primary_address, at=hold.hold_until, dedup_key=f"hold-lapsed:{hold.id}", account=account, subject=msg_subject, needed=hold.points_needed, waited_for=waited_for)
        count += 1
    return count
