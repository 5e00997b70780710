"""Stage: one issue per message (POLICY.md P2). New incidents only; replies never split.

With ``combined = "split"`` each issue becomes its own ticket (``charge.py`` opens them all
or none); with ``"reject"`` nothing opens and the customer is shown how the message was
cut. The signals that fired are recorded in the decision either way.
"""
from __future__ import annotations

from gateway.pipeline.notify import notify
from gateway.pipeline.outcome import Outcome
from gateway.pipeline.work import Work
from gateway.policy.splitting import split_issues


def run(w: Work) -> Outcome | None:
    result = split_issues(w.new_text, w.desk.split_rules)
    w.issues = list(result.issues) or [w.new_text]
    w.decision["issues"] = len(w.issues)
    w.decision["split_signals"] = [sig for sig in result.signals if sig.get("split")] or []
    if len(w.issues) > 1 and w.desk.numbers.combined == "reject" and w.opened_at is None:
        notify(
            w.s, w.desk, "combined_rejected", to=w.msg.from_addr, at=w.logged_at, dedup_key=f"combined:{w.inbound.id}",
            limited=True, in_reply_to=w.msg.message_id, subject=w.msg.subject, issues=w.issues,
        )
        return Outcome("rejected", reason=f"message combines {len(w.issues)} issues; one message per issue, please")
    return None
