"""``ticket-gateway account``: customer accounts and their contact addresses."""
from __future__ import annotations

import argparse

from gateway.cli.common import emit_json
from gateway.cli.context import CliContext
from gateway.config import check_address
from gateway.errors import ConfigError, UserError
from gateway.policy.calendar import CalendarError, load_zone, use_bundled_tzdata
from gateway.store import accounts


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("account", help="customer accounts")
    s = p.add_subparsers(dest="account_command", metavar="ACTION", required=True)
    add = s.add_parser("add", help="register an account")
    add.add_argument("email")
    add.add_argument("--name", required=True)
    add.add_argument("--edition", required=True, choices=accounts.EDITIONS)
    add.add_argument("--tz", required=True, help="IANA time zone, e.g. Europe/Berlin")
    add.add_argument("--country", help="ISO 3166 country for public holidays (default: the desk's)")
    add.add_argument("--subdiv", help="subdivision for regional holidays, e.g. BY")
    add.add_argument("--refund", choices=["points", "card"], help="how bug credits return (default from rules/policy.toml)")
    add.add_argument("--json", action="store_true")
    add.set_defaults(handler=run_add)
    contact = s.add_parser("add-contact", help="let another address speak for an account")
    contact.add_argument("email", help="an address of the account")
    contact.add_argument("other_email")
    contact.set_defaults(handler=run_add_contact)
    show = s.add_parser("show", help="show an account")
    show.add_argument("email")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=run_show)


def _address(value: str) -> str:
    try:
        return check_address("command line", "EMAIL", value)
    except ConfigError as exc:
        raise UserError(exc.problem) from None


def run_add(args: argparse.Namespace, ctx: CliContext) -> int:
    use_bundled_tzdata()
    email = _address(args.email)
    try:
        load_zone(args.tz)
    except CalendarError as exc:
        raise UserError(str(exc)) from None
    refund = args.refund or ctx.numbers.default_refund
    country = args.country or None
    if country:
        try:
            ctx.desk.calendar(args.tz, country, args.subdiv)
        except CalendarError as exc:
            raise UserError(str(exc)) from None
    now = ctx.clock.now()
    account_id = ctx.db.write(lambda s: accounts.add_account(s, email, name=args.name, edition=args.edition, tz=args.tz, country=country, subdiv=args.subdiv, refund=refund, at=now).id)
    if args.json:
        emit_json({"id": account_id, "email": email})
    else:
        print(f"account {email} added")
    return 0


def run_add_contact(args: argparse.Namespace, ctx: CliContext) -> int:
    email, other = _address(args.email), _address(args.other_email)
    ctx.db.write(lambda s: accounts.add_contact(s, accounts.require(s, email), other))
    print(f"{other} now speaks for the account of {email}")
    return 0


def run_show(args: argparse.Namespace, ctx: CliContext) -> int:
    with ctx.db.session() as s:
        a = accounts.require(s, args.email)
        data = {
            "email": a.primary_address, "name": a.name, "edition": a.edition, "tz": a.tz, "country": a.country,
            "subdiv": a.subdiv, "refund": a.refund, "contacts": sorted(c.address for c in a.contacts),
        }
    if args.json:
        emit_json(data)
    else:
        for k, v in data.items():
            print(f"{k}: {v}")
    return 0
