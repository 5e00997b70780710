"""``ticket-gateway explain FILE.eml``: what the gateway would do with a message, and why.

The message runs through the real chain inside a transaction that is rolled back, so the
answer is the pipeline's own (account, points, scope, release, issue count) and nothing is
stored, charged or sent.
"""
from __future__ import annotations

import argparse
import sys

from sqlalchemy.orm import Session

from gateway.cli.common import emit_json, instant, setup_logging
from gateway.cli.context import CliContext
from gateway.errors import Quarantine
from gateway.ingest.store import dedup_key
from gateway.pipeline.chain import DEFAULT_CHAIN, run_stages
from gateway.pipeline.outcome import Outcome
from gateway.pipeline.parse import parse_message
from gateway.pipeline.work import Work
from gateway.policy.calendar import use_bundled_tzdata
from gateway.policy.rules_engine import decision_from_dict, explain
from gateway.store.models import Inbound


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("explain", help="what the gateway would do with a message (changes nothing)")
    p.add_argument("file", metavar="FILE.eml")
    p.add_argument("--received-at", metavar="ISO8601", help="pretend it arrived then (default: now)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)


def dry_run(s: Session, ctx: CliContext, raw: bytes, received_at) -> tuple[Outcome, dict]:  # type: ignore[no-untyped-def]
    try:
        msg = parse_message(raw)
    except Quarantine as exc:
        return Outcome("quarantined", reason=str(exc)), {}
    key, msgid = dedup_key(raw)
    row = Inbound(received_at=received_at, source="explain", envelope_from=None, recipients=[], raw=raw, size=len(raw), message_id=msgid, dedup_key="explain-" + key, status="new", attempts=0)
    s.add(row)
    s.flush()
    w = Work(s=s, desk=ctx.desk, inbound=row, msg=msg, logged_at=received_at)
    outcome = run_stages(w, DEFAULT_CHAIN) or Outcome("ignored", reason="no stage decided")
    return outcome, w.decision


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    setup_logging("WARNING")
    use_bundled_tzdata()
    raw = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()
    received_at = instant(args.received_at, ctx.clock.now())
    with ctx.db.sessions() as s:
        s.begin()
        try:
            outcome, decision = dry_run(s, ctx, raw, received_at)
        finally:
            s.rollback()
    lines = [f"outcome: {outcome.outcome}" + (f" ({outcome.reason})" if outcome.reason else ""), f"decided at stage: {decision.get('stage')}"]
    if decision.get("account"):
        lines.append(f"account: {decision['account']}")
    if "scope" in decision:
        notes = {r.id: r.note for r in ctx.desk.rulebook.rules}
        lines += ["scope:"] + ["  " + line for line in explain(decision_from_dict(decision["scope"]), notes)]
    if "issues" in decision:
        lines.append(f"issues: {decision['issues']}" + (f" (signals: {', '.join(sig['id'] for sig in decision.get('split_signals', []))})" if decision.get("split_signals") else ""))
    if args.json:
        emit_json({**outcome.as_json(), "decision": decision, "explanation": lines, "would_open": len(outcome.tickets)})
    else:
        print("\n".join(lines))
    return 0
