"""Stages for P8 sender trust: spending points needs an authenticated sender.

The site's own MTA authenticates (``[trust] authserv_ids``; ``trust.py`` reads its
Authentication-Results). What an unauthenticated sender may do is ``rules/policy.toml``
``[trust] unauthenticated``:

- ``accept``: charge as usual;
- ``reject``: open nothing, and tell the account's registered address;
- ``confirm``: hold the request and send a confirmation to the registered address, with a
  secret reply address ``support+c<token>@domain``; a reply to it opens the request then.

Decided: with no ``authserv_ids`` configured no sender can be authenticated, so the gate
is open (the daemon says so at start-up). A released hold (``opened_at`` set) has passed it.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select

from gateway.pipeline import trust
from gateway.pipeline.holds import open_held
from gateway.pipeline.notify import notify
from gateway.pipeline.outcome import Outcome
from gateway.pipeline.thread import token_from
from gateway.pipeline.work import Work
from gateway.store.models import Account, Hold, Inbound

PREFIX = "c"  # confirmation tokens; ticket tokens are plain hex


def gate(w: Work) -> Outcome | None:
    """Before charging: hold or refuse a request whose sender is not authenticated."""
    numbers, cfg, account = w.desk.numbers, w.desk.config, w.account
    assert account is not None
    if numbers.unauthenticated == "accept" or not cfg.authserv_ids or w.opened_at is not None:
        return None
    verdict = trust.verdict(w.msg.header_all("Authentication-Results"), w.msg.from_addr, cfg.authserv_ids)
    w.decision["sender_authenticated"] = verdict.authenticated
    if verdict.authenticated:
        return None
    if numbers.unauthenticated == "reject":
        notify(
            w.s, w.desk, "unauthenticated", to=account.primary_address, at=w.logged_at, dedup_key=f"unauthenticated:{w.inbound.id}",
            limited=True, account=account, subject=w.msg.subject, sender=w.msg.from_addr,
        )
        return Outcome("rejected", reason=f"sender not authenticated: {verdict.reason}")
    token = PREFIX + secrets.token_hex(16)
    need = numbers.points_per_incident * max(len(w.issues), 1)
    until = w.logged_at + timedelta(days=numbers.pending_hold_days)
    w.s.add(Hold(inbound_id=w.inbound.id, account_id=account.id, logged_at=w.logged_at, hold_until=until, points_needed=need, status="confirm", token=token))
    notify(
        w.s, w.desk, "confirm_request", to=account.primary_address, at=w.logged_at, dedup_key=f"confirm:{w.inbound.id}",
        limited=True, reply_to=w.desk.token_address(token), account=account, subject=w.msg.subject, sender=w.msg.from_addr,
        needed=need, hold_until=until,
    )
    return Outcome("held", reason=f"sender not authenticated ({verdict.reason}); confirmation sent to {account.primary_address}")


def find_hold(w: Work) -> Hold | None:
    for rcpt in list(w.inbound.recipients or []) + w.msg.to:
        token = token_from(rcpt, w.desk.config.desk_address)
        if token and token.startswith(PREFIX):
            hold = w.s.scalar(select(Hold).where(Hold.token == token))
            if hold is not None:
                return hold
    return None


def run(w: Work) -> Outcome | None:
    """A reply to a confirmation address opens the request it confirms (free itself)."""
    hold = find_hold(w)
    if hold is None:
        return None
    original = w.s.get(Inbound, hold.inbound_id)
    if hold.status != "confirm":
        return Outcome("ignored", reason=f"confirmation for inbound {hold.inbound_id} already {hold.status}")
    account = w.s.get(Account, hold.account_id)
    assert account is not None and original is not None
    outcome = open_held(w.s, w.desk, hold, account, w.logged_at)
    if outcome is not None and outcome.outcome == "opened":
        return Outcome("opened", outcome.tickets, reason=f"confirmed request (inbound {hold.inbound_id})")
    # Confirmed, but the points are not there now: it waits for points like any request.
    hold.status = "held"
    original.reason = "confirmed; waiting for points"
    return Outcome("held", reason=f"confirmed request (inbound {hold.inbound_id}) waits for points")
