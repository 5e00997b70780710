"""Stage: whose account is this? An unknown sender gets a rate-limited notice, no ticket."""
from __future__ import annotations

from gateway.pipeline.notify import notify
from gateway.pipeline.outcome import Outcome
from gateway.pipeline.work import Work
from gateway.store.accounts import by_address


def run(w: Work) -> Outcome | None:
    w.account = by_address(w.s, w.msg.from_addr)
    if w.account is not None:
        w.decision["account"] = w.account.primary_address
        return None
    notify(w.s, w.desk, "unknown_sender", to=w.msg.from_addr, at=w.logged_at, dedup_key=f"unknown:{w.inbound.id}", limited=True, in_reply_to=w.msg.message_id, subject=w.msg.subject)
    return Outcome("rejected", reason=f"unknown sender {w.msg.from_addr}")
