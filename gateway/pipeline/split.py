"""Stage: one issue per message (POLICY.md P2). New incidents only; replies never split.

With ``combined = "split"`` each issue becomes its own ticket (``charge.py`` opens them all
or none); with ``"reject"`` nothing opens and the customer is shown how the message was
cut. The signals that fired are recorded in the decision either way; for a message kept
whole, so are the places where another issue may begin (``split_hints``), which the
technicians' notice of the new ticket shows next to the ``#split`` command.
"""
from __future__ import annotations

from gateway.pipeline.notify import notify
from gateway.pipeline.outcome import Outcome
from gateway.pipeline.work import Work
from gateway.policy.splitting import SplitResult, split_issues

# Signals that speak for a boundary; steps, vetoes and one-issue words speak against one.
_FOR_A_CUT = ("boundary", "list", "list_lead", "topic", "question")


def near_misses(text: str, result: SplitResult, threshold: float, *, limit: int = 3) -> list[dict[str, object]]:
    """Where the splitter saw signs of another issue but did not cut (at least half the
    threshold in favour): shown to the technician, who can ``#split`` (P2)."""
    favour: dict[int, list[dict[str, object]]] = {}
    for sig in result.signals:
        if not sig.get("split") and sig["kind"] in _FOR_A_CUT and sig["weight"] > 0 and sig["at"] > 0:
            favour.setdefault(int(sig["at"]), []).append(sig)
    hints = []
    for at, sigs in sorted(favour.items()):
        if sum(float(s["weight"]) for s in sigs) >= threshold / 2:
            excerpt = text[at:].strip().split("\n", 1)[0][:100]
            hints.append({"at": at, "excerpt": excerpt, "signals": sorted({str(s["id"]) for s in sigs})})
    return hints[:limit]


def run(w: Work) -> Outcome | None:
    result = split_issues(w.new_text, w.desk.split_rules)
    w.issues = list(result.issues) or [w.new_text]
    w.decision["issues"] = len(w.issues)
    w.decision["split_signals"] = [sig for sig in result.signals if sig.get("split")] or []
    if len(w.issues) == 1:
        w.decision["split_hints"] = near_misses(w.new_text, result, w.desk.split_rules.threshold)
    if len(w.issues) > 1 and w.desk.numbers.combined == "reject" and w.opened_at is None:
        notify(
            w.s, w.desk, "combined_rejected", to=w.msg.from_addr, at=w.logged_at, dedup_key=f"combined:{w.inbound.id}",
            limited=True, in_reply_to=w.msg.message_id, subject=w.msg.subject, issues=w.issues,
        )
        return Outcome("rejected", reason=f"message combines {len(w.issues)} issues; one message per issue, please")
    return None
