"""``ticket-gateway inbound``: stored messages, their outcomes, and the quarantine.

Nothing that arrives is dropped: every message is stored before it is answered, and one
that could not be processed stays quarantined with its reason until an admin retries it
(for example after fixing a rule or a template).
"""
from __future__ import annotations

import argparse
import sys

from sqlalchemy import select, update

from gateway.cli.common import emit_json, setup_logging
from gateway.cli.context import CliContext
from gateway.clock import iso_utc
from gateway.errors import UserError
from gateway.pipeline.runner import Pipeline
from gateway.policy.calendar import use_bundled_tzdata
from gateway.store.models import Inbound


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("inbound", help="stored messages and the quarantine")
    s = p.add_subparsers(dest="inbound_command", metavar="ACTION", required=True)
    ls = s.add_parser("list", help="stored messages with outcome and reason")
    ls.add_argument("--status", choices=["new", "done", "held", "quarantined"])
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_list)
    show = s.add_parser("show", help="one stored message; --raw prints its bytes")
    show.add_argument("id", type=int)
    show.add_argument("--raw", action="store_true")
    show.set_defaults(handler=run_show)
    retry = s.add_parser("retry", help="process a quarantined message again")
    retry.add_argument("id", type=int)
    retry.add_argument("--json", action="store_true")
    retry.set_defaults(handler=run_retry)


def row_json(r: Inbound) -> dict:
    return {
        "id": r.id, "received_at": iso_utc(r.received_at), "source": r.source, "envelope_from": r.envelope_from,
        "message_id": r.message_id, "size": r.size, "status": r.status, "outcome": r.outcome, "reason": r.reason,
        "tickets": r.tickets or [], "processed_at": iso_utc(r.processed_at), "attempts": r.attempts,
    }


def run_list(args: argparse.Namespace, ctx: CliContext) -> int:
    with ctx.db.session() as s:
        stmt = select(Inbound).order_by(Inbound.id)
        if args.status:
            stmt = stmt.where(Inbound.status == args.status)
        rows = [row_json(r) for r in s.scalars(stmt)]
    if args.json:
        emit_json(rows)
    else:
        for r in rows:
            print(f"{r['id']:6} {r['received_at']} {r['status']:11} {(r['outcome'] or '-'):11} {r['message_id'] or '-'}  {r['reason'] or ''}")
    return 0


def run_show(args: argparse.Namespace, ctx: CliContext) -> int:
    with ctx.db.session() as s:
        row = s.get(Inbound, args.id)
        if row is None:
            raise UserError(f"no stored message {args.id}")
        if args.raw:
            sys.stdout.flush()
            sys.stdout.buffer.write(row.raw)
            return 0
        emit_json({**row_json(row), "recipients": row.recipients, "decision": row.decision})
    return 0


def run_retry(args: argparse.Namespace, ctx: CliContext) -> int:
    setup_logging("WARNING")
    use_bundled_tzdata()

    def reset(s):  # type: ignore[no-untyped-def]
        row = s.get(Inbound, args.id)
        if row is None:
            raise UserError(f"no stored message {args.id}")
        if row.status != "quarantined":
            raise UserError(f"message {args.id} is {row.status}, not quarantined")
        s.execute(update(Inbound).where(Inbound.id == args.id).values(status="new", outcome=None))

    ctx.db.write(reset)
    outcome = Pipeline(ctx.db, ctx.desk, ctx.clock).process(args.id)
    if args.json:
        emit_json(outcome.as_json())
    else:
        print(f"{outcome.outcome} tickets={outcome.tickets}" + (f" ({outcome.reason})" if outcome.reason else ""))
    return 0
