"""Stage: a registered customer asking for the balance by mail (subject ``balance``)."""
from __future__ import annotations

import re
from datetime import timedelta

from gateway.pipeline.notify import notify
from gateway.pipeline.outcome import Outcome
from gateway.pipeline.work import Work
from gateway.policy.ledger import balance
from gateway.store import ledger

_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd|wg|tr|antw|vs)\s*(\[\d+\])?\s*:\s*)+", re.I)


def bare_subject(subject: str) -> str:
    return _PREFIX.sub("", subject).strip()


def run(w: Work) -> Outcome | None:
    assert w.account is not None
    if bare_subject(w.msg.subject).lower() != w.desk.numbers.balance_subject.lower():
        return None
    lots = ledger.lots_of(w.s, w.account.id)
    valid = [l for l in lots if l.purchased_at <= w.logged_at < l.expires_at and l.remaining > 0]
    soon = w.logged_at + timedelta(days=w.desk.numbers.expiry_warning_days)
    notify(
        w.s, w.desk, "balance", to=w.msg.from_addr, at=w.logged_at, dedup_key=f"balance:{w.inbound.id}", limited=True,
        in_reply_to=w.msg.message_id, account=w.account, balance=balance(ledger.views(lots), w.logged_at), lots=valid, soon=soon,
    )
    return Outcome("answered", reason="balance request")
