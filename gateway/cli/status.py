"""``ticket-gateway status``: each listener and mailbox with its last success and error."""
from __future__ import annotations

import argparse

from sqlalchemy import func, select

from gateway.cli.common import emit_json
from gateway.cli.context import CliContext
from gateway.clock import iso_utc
from gateway.store.models import ComponentStatus, Inbound, Outbox


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("status", help="health of listeners, mailboxes and queues")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    with ctx.db.session() as s:
        components = [
            {"name": c.name, "kind": c.kind, "state": c.state, "last_success": iso_utc(c.last_success), "last_error": c.last_error, "last_error_at": iso_utc(c.last_error_at), "holder": c.holder}
            for c in s.scalars(select(ComponentStatus).order_by(ComponentStatus.kind, ComponentStatus.name))
        ]
        queues = {
            "inbound_new": s.scalar(select(func.count()).select_from(Inbound).where(Inbound.status == "new")),
            "quarantined": s.scalar(select(func.count()).select_from(Inbound).where(Inbound.status == "quarantined")),
            "outbox_pending": s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status == "pending")),
            "outbox_failed": s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status == "failed")),
        }
    if args.json:
        emit_json({"components": components, "queues": queues})
    else:
        for c in components:
            print(f"{c['kind']:9} {c['name']:50} {c['state']:9} last ok {c['last_success'] or '-'}" + (f"  last error {c['last_error_at']}: {c['last_error']}" if c["last_error"] else ""))
        print("  ".join(f"{k}={v}" for k, v in queues.items()))
    return 0
