"""``ticket-gateway ticket close|bug|decline|comment|disposition|not-same|split|merge|open``.

The technicians' actions by CLI: the same functions the ``#command`` lines run by mail
(``gateway.pipeline.commands``), each in one transaction with its mail queued in the
outbox. ``gateway/cli/tickets.py`` adds these to the ``ticket`` group with
:func:`register_actions`. A refusal is a UserError (exit 65) that changes nothing.
"""
from __future__ import annotations

import argparse
import getpass
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from gateway.cli.common import emit_json, instant
from gateway.cli.context import CliContext
from gateway.errors import UserError
from gateway.pipeline import commands
from gateway.pipeline.tickets import find_ticket
from gateway.store.models import Ticket


def register_actions(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the action sub-commands to the ``ticket`` group's subparsers."""

    def action(name: str, help_text: str, handler: Callable[[argparse.Namespace, CliContext], int], *, number: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if number:
            p.add_argument("number", type=int, help="the ticket number")
        p.add_argument("--at", metavar="ISO8601", help="when the action happens (default: now)")
        p.add_argument("--actor", metavar="WHO", help="who acts, for the history (default: the login name)")
        p.add_argument("--json", action="store_true", help="print the result as JSON")
        p.set_defaults(handler=handler)
        return p

    action("close", "close an open ticket (a feature request needs a disposition first)", run_close)
    action("bug", "mark as a product failure: the ticket's points go back", run_bug)
    p = action("decline", "decline an open ticket: points back, the customer is told", run_decline)
    p.add_argument("--category", required=True, help="why, e.g. not_current or a decline category of rules/scope.toml")
    p.add_argument("--reason", default="", help="the reason the customer reads (default: the category)")
    p = action("comment", "add an internal note (never mailed to the customer)", run_comment)
    p.add_argument("text")
    p = action("disposition", "record a feature request's disposition and mail it to the customer", run_disposition)
    p.add_argument("state", choices=commands.DISPOSITIONS)
    p.add_argument("text", nargs="?", default="")
    action("not-same", "undo a customer's reopen: close again, the customer is asked for a new incident", run_not_same)
    p = action("split", "open one charged incident per subordinate problem (all or none)", run_split)
    p.add_argument("--part", action="append", required=True, metavar="TEXT", help="one subordinate problem (repeat)")
    p = action("merge", "merge a ticket into another of the same account (the same issue): its points go back", run_merge)
    p.add_argument("--into", type=int, required=True, metavar="NUMBER", help="the ticket it continues in")
    p = action("open", "log an incident for an account on another channel (phone), charged like any other", run_open, number=False)
    p.add_argument("--channel", default="phone", help="the channel (default: phone); refused where the edition does not include it")
    p.add_argument("--account", required=True, metavar="EMAIL", help="an address of the account")
    p.add_argument("--subject", required=True)
    p.add_argument("--text", default="", help="notes of the call")


def _actor(args: argparse.Namespace) -> str:
    if args.actor:
        return str(args.actor)
    try:
        return f"{getpass.getuser()} (cli)"
    except Exception:  # no login name in some containers
        return "cli"


def _on_ticket(args: argparse.Namespace, ctx: CliContext, act: Callable[[Session, Ticket, Any], dict[str, Any]]) -> int:
    at = instant(args.at, ctx.clock.now())

    def work(s: Session) -> dict[str, Any]:
        t = find_ticket(s, args.number)
        if t is None:
            raise UserError(f"no ticket #{args.number}")
        result = act(s, t, at)
        return {"ticket": t.number, "status": t.status, **result}

    result = ctx.db.write(work)
    _print(args, result)
    return 0


def _print(args: argparse.Namespace, result: dict[str, Any]) -> None:
    if args.json:
        emit_json(result)
    else:
        print(" ".join(f"{k}={v}" for k, v in result.items()))


def run_close(args: argparse.Namespace, ctx: CliContext) -> int:
    return _on_ticket(args, ctx, lambda s, t, at: commands.close_ticket(s, ctx.desk, t, at, actor=_actor(args)) or {"action": "closed"})


def run_bug(args: argparse.Namespace, ctx: CliContext) -> int:
    return _on_ticket(args, ctx, lambda s, t, at: {"action": "bug", "points": commands.mark_bug(s, ctx.desk, t, at, actor=_actor(args))})


def run_decline(args: argparse.Namespace, ctx: CliContext) -> int:
    reason = args.reason or args.category
    return _on_ticket(args, ctx, lambda s, t, at: {"action": "declined", "category": args.category, "points": commands.decline_ticket(s, ctx.desk, t, at, actor=_actor(args), reason=reason, category=args.category)})


def run_comment(args: argparse.Namespace, ctx: CliContext) -> int:
    return _on_ticket(args, ctx, lambda s, t, at: commands.add_comment(s, t, at, actor=_actor(args), text=args.text) or {"action": "comment"})


def run_disposition(args: argparse.Namespace, ctx: CliContext) -> int:
    return _on_ticket(args, ctx, lambda s, t, at: commands.record_disposition(s, ctx.desk, t, at, actor=_actor(args), state=args.state, text=args.text) or {"action": "disposition", "disposition": args.state})


def run_not_same(args: argparse.Namespace, ctx: CliContext) -> int:
    return _on_ticket(args, ctx, lambda s, t, at: commands.not_same(s, ctx.desk, t, at, actor=_actor(args)) or {"action": "closed again"})


def run_split(args: argparse.Namespace, ctx: CliContext) -> int:
    return _on_ticket(args, ctx, lambda s, t, at: {"action": "split", "opened": [c.number for c in commands.split_ticket(s, ctx.desk, t, list(args.part), at, actor=_actor(args))]})


def run_merge(args: argparse.Namespace, ctx: CliContext) -> int:
    return _on_ticket(args, ctx, lambda s, t, at: {"action": "merged", "into": args.into, "points": commands.merge_ticket(s, ctx.desk, t, args.into, at, actor=_actor(args))})


def run_open(args: argparse.Namespace, ctx: CliContext) -> int:
    at = instant(args.at, ctx.clock.now())

    def work(s: Session) -> dict[str, Any]:
        t = commands.open_incident(s, ctx.desk, args.account, at, actor=_actor(args), subject=args.subject, channel=args.channel, text=args.text)
        return {"ticket": t.number, "status": t.status, "channel": t.channel, "points": t.points_charged}

    result = ctx.db.write(work)
    _print(args, result)
    return 0
