"""``ticket-gateway points``: buy, balance, statement, credit, adjust, import, verify (P1)."""
from __future__ import annotations

import argparse
import csv
import sys

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.cli.common import emit_json, instant
from gateway.cli.context import CliContext
from gateway.cli.tickets import ticket_number
from gateway.clock import iso_utc
from gateway.errors import UserError
from gateway.pipeline.credit import credit_ticket_and_notify
from gateway.pipeline.holds import release_holds
from gateway.pipeline.tickets import find_ticket
from gateway.policy.calendar import use_bundled_tzdata
from gateway.policy.ledger import InsufficientPoints
from gateway.store import accounts, ledger
from gateway.store.models import LedgerEntry, Lot

ADMIN = "admin"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("points", help="support points: the ledger")
    s = p.add_subparsers(dest="points_command", metavar="ACTION", required=True)
    buy = s.add_parser("buy", help="record a purchase (a lot valid for one year)")
    buy.add_argument("email")
    buy.add_argument("points", type=int)
    buy.add_argument("--at", metavar="ISO8601", help="purchase instant (default: now)")
    buy.add_argument("--reference", help="billing reference (unique)")
    buy.set_defaults(handler=run_buy)
    bal = s.add_parser("balance", help="the balance at an instant")
    bal.add_argument("email")
    bal.add_argument("--at", metavar="ISO8601")
    bal.add_argument("--json", action="store_true")
    bal.set_defaults(handler=run_balance)
    st = s.add_parser("statement", help="the account's history as a running ledger")
    st.add_argument("email")
    st.add_argument("--json", action="store_true")
    st.set_defaults(handler=run_statement)
    cr = s.add_parser("credit", help="give a ticket's points back (bug, decline)")
    cr.add_argument("ticket", type=int)
    cr.add_argument("--reason", required=True, choices=["bug", "decline"])
    cr.add_argument("--at", metavar="ISO8601")
    cr.set_defaults(handler=run_credit)
    adj = s.add_parser("adjust", help="a manual correction, +N or -N, with a reason")
    adj.add_argument("email")
    adj.add_argument("delta", type=int, metavar="+/-N")
    adj.add_argument("--reason", required=True)
    adj.add_argument("--by", default=ADMIN, help="who makes the adjustment (default: admin)")
    adj.add_argument("--at", metavar="ISO8601")
    adj.set_defaults(handler=run_adjust)
    imp = s.add_parser("import", help="load purchases from a billing CSV (email,points,purchased_at,reference)")
    imp.add_argument("file")
    imp.set_defaults(handler=run_import)
    ver = s.add_parser("verify", help="recompute every lot from the ledger; non-zero on mismatch")
    ver.set_defaults(handler=run_verify)


def _buy(ctx: CliContext, email: str, points: int, at, reference: str | None) -> tuple[int, list[int]]:  # type: ignore[no-untyped-def]
    if points <= 0:
        raise UserError("a purchase is a positive number of points")

    def work(s):  # type: ignore[no-untyped-def]
        account = accounts.require(s, email)
        lot = ledger.purchase(s, account, points, at, years=ctx.numbers.lot_lifetime_years, reference=reference, actor=ADMIN)
        return lot.id, release_holds(s, ctx.desk, account, at)

    return ctx.db.write(work)


def run_buy(args: argparse.Namespace, ctx: CliContext) -> int:
    use_bundled_tzdata()
    at = instant(args.at, ctx.clock.now())
    try:
        lot_id, opened = _buy(ctx, args.email, args.points, at, args.reference)
    except IntegrityError:
        raise UserError(f"reference {args.reference!r} was imported before") from None
    print(f"lot {lot_id}: {args.points} points for {args.email}, valid until {iso_utc(_lot_expiry(ctx, lot_id))}")
    for number in opened:
        print(f"held request opened as ticket #{number}")
    return 0


def _lot_expiry(ctx: CliContext, lot_id: int):  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        return s.get(Lot, lot_id).expires_at


def run_balance(args: argparse.Namespace, ctx: CliContext) -> int:
    at = instant(args.at, ctx.clock.now())
    with ctx.db.session() as s:
        account = accounts.require(s, args.email)
        total = ledger.balance_at(s, account.id, at)
        lots = [
            {"lot": l.id, "points": l.points, "remaining": l.remaining, "purchased_at": iso_utc(l.purchased_at), "expires_at": iso_utc(l.expires_at), "source": l.source}
            for l in ledger.lots_of(s, account.id)
            if l.purchased_at <= at < l.expires_at
        ]
    if args.json:
        emit_json({"email": account.primary_address, "at": iso_utc(at), "balance": total, "lots": lots})
    else:
        print(f"{account.primary_address}: {total} points at {iso_utc(at)}")
        for lot in lots:
            print(f"  lot {lot['lot']}: {lot['remaining']}/{lot['points']} until {lot['expires_at']}")
    return 0


def run_statement(args: argparse.Namespace, ctx: CliContext) -> int:
    with ctx.db.session() as s:
        account = accounts.require(s, args.email)
        entries = s.scalars(select(LedgerEntry).where(LedgerEntry.account_id == account.id).order_by(LedgerEntry.at, LedgerEntry.id)).all()
        rows = []
        running = 0
        for e in entries:
            running += e.points
            rows.append({
                "at": iso_utc(e.at), "kind": e.kind, "points": e.points, "balance": running,
                "ticket": ticket_number(s, e.ticket_id), "reason": e.reason, "actor": e.actor,
                "lots": [{"lot": p.lot_id, "points": p.points} for p in e.parts],
                **({"refund_points": e.refund_points} if e.kind == "refund_request" else {}),
            })
    if args.json:
        emit_json({"email": account.primary_address, "entries": rows, "balance": running})
    else:
        print(f"{'at':20}  {'kind':14} {'points':>7} {'balance':>8}  details")
        for r in rows:
            detail = " ".join(filter(None, [f"#{r['ticket']}" if r["ticket"] else "", r["reason"] or "", f"by {r['actor']}" if r["actor"] else ""]))
            print(f"{r['at']:20}  {r['kind']:14} {r['points']:>+7} {r['balance']:>8}  {detail}")
    return 0


def run_credit(args: argparse.Namespace, ctx: CliContext) -> int:
    use_bundled_tzdata()
    at = instant(args.at, ctx.clock.now())

    def work(s):  # type: ignore[no-untyped-def]
        ticket = find_ticket(s, args.ticket)
        if ticket is None:
            raise UserError(f"no ticket #{args.ticket}")
        return credit_ticket_and_notify(s, ctx.desk, ticket, at, reason=args.reason, actor=ADMIN)

    result = ctx.db.write(work)
    if result.refund_requested:
        print(f"ticket #{args.ticket}: card refund of {result.points} points requested (billing told)")
    else:
        print(f"ticket #{args.ticket}: {result.points} points credited back")
    return 0


def run_adjust(args: argparse.Namespace, ctx: CliContext) -> int:
    at = instant(args.at, ctx.clock.now())
    if args.delta == 0:
        raise UserError("an adjustment of 0 changes nothing")

    def work(s):  # type: ignore[no-untyped-def]
        account = accounts.require(s, args.email)
        try:
            ledger.adjust(s, account, args.delta, at, reason=args.reason, actor=args.by, years=ctx.numbers.lot_lifetime_years)
        except InsufficientPoints as exc:
            raise UserError(f"cannot take {-args.delta} points: {exc}") from None
        return ledger.balance_now(s, account.id, at)

    print(f"{args.email}: adjusted by {args.delta:+d}, balance {ctx.db.write(work)}")
    return 0


def run_import(args: argparse.Namespace, ctx: CliContext) -> int:
    use_bundled_tzdata()
    imported = skipped = bad = 0
    with open(args.file, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"email", "points", "purchased_at", "reference"} - set(reader.fieldnames or [])
        if missing:
            raise UserError(f"{args.file}: header lacks {', '.join(sorted(missing))} (expected email,points,purchased_at,reference)")
        for row in reader:
            line = reader.line_num
            try:
                reference = (row["reference"] or "").strip()
                if not reference:
                    raise UserError("empty reference")
                points = int(row["points"])
                at = instant(row["purchased_at"], ctx.clock.now())
                with ctx.db.session() as s:
                    if s.scalar(select(Lot.id).where(Lot.reference == reference)) is not None:
                        skipped += 1
                        continue
                _buy(ctx, row["email"], points, at, reference)
                imported += 1
            except IntegrityError:
                skipped += 1
            except (UserError, ValueError) as exc:
                bad += 1
                print(f"{args.file}:{line}: {exc}", file=sys.stderr)
    print(f"imported {imported}, already there {skipped}, bad rows {bad}")
    return 1 if bad else 0


def run_verify(args: argparse.Namespace, ctx: CliContext) -> int:
    with ctx.db.session() as s:
        problems = ledger.verify(s)
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} mismatches", file=sys.stderr)
        return 1
    print("ledger consistent")
    return 0
