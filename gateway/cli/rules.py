"""``ticket-gateway rules ...``: check the rules folder, list products, try a message.

A face: it loads the scope data with ``gateway.rulebook.scope`` and calls the pure engine in
``gateway.policy.rules_engine``; it opens no database.
"""
from __future__ import annotations

import argparse

from gateway.desk import build_desk
from gateway.errors import ConfigError
from gateway.rulebook.splitting import load_split_rules
import json
import sys
from pathlib import Path

from gateway.cli.context import CliContext
from gateway.policy.rules_engine import MessageFacts, decision_to_dict, evaluate, explain
from gateway.rulebook.numbers import load_numbers
from gateway.rulebook.scope import check_rules_dir, load_catalogue, load_rulebook


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rules = sub.add_parser("rules", help="check and inspect the policy rules in rules/")
    rsub = rules.add_subparsers(dest="rules_command", metavar="SUBCOMMAND", required=True)

    def rules_dir_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--rules-dir", metavar="DIR", type=Path, help="rules folder (default: the configured or shipped one)")

    check = rsub.add_parser("check", help="validate every rules file; exit 78 naming file and rule on the first error")
    rules_dir_option(check)
    check.set_defaults(handler=cmd_check)

    products = rsub.add_parser("products", help="list the vendor's products with current and past releases")
    rules_dir_option(products)
    products.add_argument("--json", action="store_true", help='print [{"product": ..., "current": [...], "past": [...]}]')
    products.set_defaults(handler=cmd_products)

    try_ = rsub.add_parser("try", help="run the scope rules on a message given on the command line and explain the decision")
    rules_dir_option(try_)
    try_.add_argument("--subject", default="", help="the message subject")
    try_.add_argument("--text", default=None, help="the new text (default: read standard input)")
    try_.add_argument("--edition", default=None, help="the account's edition")
    try_.add_argument("--technician", action="store_true", help="the sender is a technician")
    try_.add_argument("--channel", default="email", help="email (default) or phone")
    try_.add_argument("--json", action="store_true", help="print the decision as JSON")
    try_.set_defaults(handler=cmd_try)


def _rules_dir(args: argparse.Namespace, ctx: CliContext) -> Path:
    return args.rules_dir if args.rules_dir is not None else ctx.rules_dir


def cmd_check(args: argparse.Namespace, ctx: CliContext) -> int:
    rules_dir = _rules_dir(args, ctx)
    lines = check_rules_dir(rules_dir)
    if (rules_dir / "policy.toml").exists():
        load_numbers(rules_dir)
        lines.insert(0, f"{rules_dir / 'policy.toml'}: ok")
    split_rules = load_split_rules(rules_dir)
    lines.append(f"{rules_dir / 'splitting.toml'}: {len(split_rules.signals)} signals")
    if ctx.config_file is not None:
        bad = build_desk(ctx.config, ctx.numbers).renderer.check()
        if bad:
            raise ConfigError(str(ctx.config.templates_dir), bad[0].split(":", 1)[0], bad[0].split(":", 1)[1].strip(), "fix the template")
        lines.append(f"{ctx.config.templates_dir}: templates ok")
    for line in lines:
        print(line)
    print("rules ok")
    return 0


def cmd_products(args: argparse.Namespace, ctx: CliContext) -> int:
    catalogue = load_catalogue(_rules_dir(args, ctx))
    if args.json:
        print(json.dumps([{"product": p.name, "current": list(p.current), "past": list(p.past)} for p in catalogue.products], indent=2))
        return 0
    for p in catalogue.products:
        aliases = f" (also: {', '.join(p.aliases)})" if p.aliases else ""
        print(f"{p.name}{aliases}")
        print(f"  current: {', '.join(p.current)}")
        print(f"  past:    {', '.join(p.past) or '-'}")
    return 0


def cmd_try(args: argparse.Namespace, ctx: CliContext) -> int:
    book = load_rulebook(_rules_dir(args, ctx))
    text = args.text if args.text is not None else sys.stdin.read()
    facts = MessageFacts(
        subject=args.subject,
        new_text=text,
        headers={},
        sender="",
        sender_is_technician=args.technician,
        edition=args.edition,
        channel=args.channel,
    )
    decision = evaluate(book, facts)
    if args.json:
        print(json.dumps(decision_to_dict(decision), indent=2))
        return 0
    for line in explain(decision, {r.id: r.note for r in book.rules}):
        print(line)
    return 0
