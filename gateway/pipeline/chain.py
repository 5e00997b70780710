"""The chain: the stages a stored message passes, in order. The first outcome ends it."""
from __future__ import annotations

from collections.abc import Callable

from gateway.pipeline import balance_request, charge, confirm, conversation, guard, read_text, scope, sender_account, split
from gateway.pipeline.outcome import Outcome
from gateway.pipeline.work import Work

Stage = Callable[[Work], Outcome | None]

DEFAULT_CHAIN: tuple[tuple[str, Stage], ...] = (
    ("guard", guard.run),  # automatic, bulk, list and our own mail: no answer
    ("confirmation", confirm.run),  # a reply to a confirmation address opens what it confirms
    ("conversation", conversation.run),  # joins a ticket: free reply, reopen, technician
    ("sender_account", sender_account.run),  # unknown sender: notice, no ticket
    ("balance_request", balance_request.run),  # "balance" by mail
    ("read_text", read_text.run),  # the new text, quotes and signatures stripped
    ("scope", scope.run),  # declined categories, releases that are not current, feature requests
    ("split", split.run),  # one issue per message: split or reject combined problems
    ("trust", confirm.gate),  # P8: an unauthenticated sender confirms before points are spent
    ("charge", charge.run),  # open and charge, or hold for points
)
