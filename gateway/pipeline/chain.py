"""The chain: the stages a stored message passes, in order. The first outcome ends it."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from gateway.pipeline import balance_request, charge, confirm, conversation, guard, read_text, scope, sender_account, split
from gateway.errors import Quarantine
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


def stages_from(name: str) -> tuple[tuple[str, Stage], ...]:
    """The default chain from the stage called ``name`` on."""
    names = [n for n, _ in DEFAULT_CHAIN]
    return DEFAULT_CHAIN[names.index(name):]


def run_stages(w: Work, stages: Sequence[tuple[str, Stage]]) -> Outcome | None:
    """Run ``stages`` in order until one decides; record which one in the decision.

    A stage that finds the message unprocessable raises Quarantine; that is its outcome.
    """
    for name, stage in stages:
        try:
            outcome = stage(w)
        except Quarantine as exc:
            outcome = Outcome("quarantined", reason=f"{name}: {exc}")
        if outcome is not None:
            w.decision.setdefault("stage", name)
            return outcome
    return None
