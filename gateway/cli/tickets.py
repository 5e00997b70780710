"""``ticket-gateway ticket``: list, show, respond (and the technicians' actions by CLI)."""
from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.cli.common import emit_json, instant
from gateway.cli.ticket_actions import register_actions
from gateway.cli.context import CliContext
from gateway.clock import iso_utc
from gateway.errors import UserError
from gateway.pipeline.tickets import find_ticket
from gateway.errors import Quarantine
from gateway.pipeline.parse import parse_message
from gateway.store.models import Account, Inbound, Ticket, TicketEvent, TicketMessage


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ticket", help="tickets")
    s = p.add_subparsers(dest="ticket_command", metavar="ACTION", required=True)
    ls = s.add_parser("list", help="all tickets, newest last")
    ls.add_argument("--status", help="only tickets with this status")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=run_list)
    show = s.add_parser("show", help="one ticket with its messages and history")
    show.add_argument("number", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=run_show)
    respond = s.add_parser("respond", help="record the first response (normally set by a relayed technician reply)")
    respond.add_argument("number", type=int)
    respond.add_argument("--at", metavar="ISO8601")
    respond.set_defaults(handler=run_respond)
    # The technicians' actions (close, bug, decline, split, open --channel phone, ...),
    # the same implementation as their #commands by mail.
    register_actions(s)


def summary(s: Session, t: Ticket) -> dict[str, Any]:
    account = s.get(Account, t.account_id)
    assert account is not None
    return {
        "number": t.number,
        "status": t.status,
        "kind": t.kind,
        "channel": t.channel,
        "account": account.primary_address,
        "subject": t.subject,
        "points_charged": t.points_charged,
        "logged_at": iso_utc(t.logged_at),
        "opened_at": iso_utc(t.opened_at),
        "first_response_due": iso_utc(t.first_response_due),
        "first_response_at": iso_utc(t.first_response_at),
        "closed_at": iso_utc(t.closed_at),
        "first_closed_at": iso_utc(t.first_closed_at),
        "parent": ticket_number(s, t.parent_id),
        "previous": ticket_number(s, t.previous_id),
        "product": t.product,
        "release": t.release,
        "category": t.category,
        "disposition": t.disposition,
    }


def ticket_number(s: Session, ticket_id: int | None) -> int | None:
    """The human number of a ticket row id (None stays None)."""
    if ticket_id is None:
        return None
    other = s.get(Ticket, ticket_id)
    return other.number if other else None


def detail(s: Session, t: Ticket) -> dict[str, Any]:
    data = summary(s, t)
    data["messages"] = [
        {
            "at": iso_utc(m.at), "direction": m.direction, "kind": m.kind, "sender": m.sender, "subject": m.subject,
            "message_id": m.message_id, "inbound": m.inbound_id, "attachments": _attachments(s, m.inbound_id),
        }
        for m in s.scalars(select(TicketMessage).where(TicketMessage.ticket_id == t.id).order_by(TicketMessage.id))
    ]
    data["history"] = [
        {"at": iso_utc(e.at), "kind": e.kind, "from": e.old_status, "to": e.new_status, "actor": e.actor, "note": e.note}
        for e in s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id))
    ]
    data["explanation"] = t.explanation
    return data


def _attachments(s: Session, inbound_id: int | None) -> list[dict[str, Any]]:
    """The attachments of a stored message; every ticket of a split links the same message."""
    if inbound_id is None:
        return []
    row = s.get(Inbound, inbound_id)
    if row is None:
        return []
    try:
        msg = parse_message(row.raw)
    except Quarantine:
        return []
    return [{"filename": a.filename, "content_type": a.content_type, "size": a.size} for a in msg.attachments]


def run_list(args: argparse.Namespace, ctx: CliContext) -> int:
    with ctx.db.session() as s:
        stmt = select(Ticket).order_by(Ticket.number)
        if args.status:
            stmt = stmt.where(Ticket.status == args.status)
        rows = [summary(s, t) for t in s.scalars(stmt)]
    if args.json:
        emit_json(rows)
    else:
        for r in rows:
            print(f"#{r['number']}  {r['status']:8} {r['account']:30} {r['subject'][:60]}")
    return 0


def run_show(args: argparse.Namespace, ctx: CliContext) -> int:
    with ctx.db.session() as s:
        t = find_ticket(s, args.number)
        if t is None:
            raise UserError(f"no ticket #{args.number}")
        data = detail(s, t)
    if args.json:
        emit_json(data)
    else:
        for key, value in data.items():
            if key in ("messages", "history"):
                print(f"{key}:")
                for item in value:
                    print("  " + "  ".join(f"{k}={v}" for k, v in item.items() if v is not None))
            elif key != "explanation":
                print(f"{key}: {value}")
    return 0


def run_respond(args: argparse.Namespace, ctx: CliContext) -> int:
    at = instant(args.at, ctx.clock.now())

    def work(s: Session) -> str:
        t = find_ticket(s, args.number)
        if t is None:
            raise UserError(f"no ticket #{args.number}")
        if t.first_response_at is None:
            t.first_response_at = at
        return iso_utc(t.first_response_at) or ""

    print(f"ticket #{args.number}: first response at {ctx.db.write(work)}")
    return 0
