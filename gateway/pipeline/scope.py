"""Stage: is this request in scope, and about a current release? (POLICY.md P5)

The ordered rules in ``rules/scope.toml`` decide. A declined request or one about a release
that is not current opens nothing and costs nothing; the reply names the category (and
the contact for onsite teams, partners or Professional Services) or lists the current
releases. Every decision records the rules that matched.
"""
from __future__ import annotations

from gateway.pipeline.notify import notify
from gateway.pipeline.outcome import Outcome
from gateway.pipeline.work import Work
from gateway.policy.predicates import MessageFacts
from gateway.policy.rules_engine import decision_to_dict, evaluate


def facts(w: Work) -> MessageFacts:
    return MessageFacts(
        subject=w.msg.subject,
        new_text=w.new_text,
        headers=dict(reversed(w.msg.headers)),
        sender=w.msg.from_addr,
        sender_is_technician=w.desk.config.is_technician(w.msg.from_addr),
        edition=w.account.edition if w.account else None,
        channel="email",
    )


def run(w: Work) -> Outcome | None:
    decision = evaluate(w.desk.rulebook, facts(w))
    w.decision["scope"] = decision_to_dict(decision)
    w.decision["kind"] = decision.kind
    w.decision["product"] = decision.product
    w.decision["release"] = decision.release
    if decision.action == "decline":
        category = w.desk.rulebook.categories.get(decision.category or "")
        label = w.desk.rulebook.category_label(decision.category)
        notify(
            w.s, w.desk, "declined", to=w.msg.from_addr, at=w.logged_at, dedup_key=f"declined:{w.inbound.id}", limited=True,
            in_reply_to=w.msg.message_id, subject=w.msg.subject, category=label, hint=category.reply_hint if category else "",
            explanation=decision.explanation,
        )
        return Outcome("declined", reason=f"declined: {decision.category} ({decision.decided_by})", details={"category": decision.category})
    if decision.action == "reject_not_current":
        notify(
            w.s, w.desk, "not_current", to=w.msg.from_addr, at=w.logged_at, dedup_key=f"not-current:{w.inbound.id}", limited=True,
            in_reply_to=w.msg.message_id, subject=w.msg.subject, product=decision.product, release=decision.release,
            current=decision.current_releases,
        )
        return Outcome("rejected", reason=f"not a current release: {decision.product} {decision.release}", details={"category": "not_current"})
    return None
