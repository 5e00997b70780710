"""``ticket-gateway outbox``: what the desk has sent or will send."""
from __future__ import annotations

import argparse
import asyncio

from sqlalchemy import select

from gateway.cli.common import emit_json, setup_logging
from gateway.cli.context import CliContext
from gateway.clock import iso_utc
from gateway.store.models import Outbox


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("outbox", help="outgoing mail")
    s = p.add_subparsers(dest="outbox_command", metavar="ACTION", required=True)
    ls = s.add_parser("list", help="every queued, sent and failed message")
    ls.add_argument("--status", choices=["pending", "sent", "failed"])
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_list)
    fl = s.add_parser("flush", help="deliver every due message now")
    fl.set_defaults(handler=run_flush)


def run_list(args: argparse.Namespace, ctx: CliContext) -> int:
    with ctx.db.session() as s:
        stmt = select(Outbox).order_by(Outbox.id)
        if args.status:
            stmt = stmt.where(Outbox.status == args.status)
        rows = [
            {
                "id": o.id, "event": o.event, "to": o.to_addr, "subject": o.subject, "headers": o.headers, "body": o.body,
                "status": o.status, "attempts": o.attempts, "created_at": iso_utc(o.created_at), "sent_at": iso_utc(o.sent_at),
                "last_error": o.last_error, "message_id": o.message_id,
            }
            for o in s.scalars(stmt)
        ]
    if args.json:
        emit_json(rows)
    else:
        for r in rows:
            print(f"{r['id']:5} {r['status']:8} {r['event']:20} {r['to']:30} {r['subject'][:60]}")
    return 0


def run_flush(args: argparse.Namespace, ctx: CliContext) -> int:
    setup_logging("WARNING")
    from gateway.daemon import make_transport
    from gateway.outbound.sender import OutboxSender

    sender = OutboxSender(ctx.db, make_transport(ctx.config), ctx.clock, ctx.config.desk_address)
    counts = asyncio.run(sender.flush(now=ctx.clock.now(), limit=100000))
    print(f"sent {counts['sent']}, to retry {counts['retry']}, failed {counts['failed']}")
    return 0 if not counts["failed"] else 1
