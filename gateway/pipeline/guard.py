"""Stage: loop safety. Automatic, bulk and list mail, and our own, gets no answer (P8)."""
from __future__ import annotations

from gateway.pipeline.loops import automatic_reason
from gateway.pipeline.outcome import Outcome
from gateway.pipeline.work import Work


def run(w: Work) -> Outcome | None:
    reason = automatic_reason(w.msg, w.inbound.envelope_from, w.desk.config.desk_address)
    if reason is None:
        return None
    return Outcome("ignored", reason=f"automatic mail: {reason}")
