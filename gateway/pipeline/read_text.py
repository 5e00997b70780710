"""Stage: reduce the message to what the sender wrote this time (quotes, signatures gone)."""
from __future__ import annotations

from gateway.pipeline.outcome import Outcome
from gateway.pipeline.work import Work
from gateway.policy.newtext import new_text


def run(w: Work) -> Outcome | None:
    w.new_text = new_text(w.msg.text_plain, w.msg.text_html)
    return None
