"""``ticket-gateway tick``: run once the timed work that ``serve`` runs every minute."""
from __future__ import annotations

import argparse

from gateway.cli.common import emit_json, instant
from gateway.cli.context import CliContext
from gateway.policy.calendar import use_bundled_tzdata
from gateway.timed import run_timed_work


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("tick", help="run the timed work once", description="Lot expiry, expiry warnings, lapsing held requests, SLA warnings and breaches.")
    p.add_argument("--now", metavar="ISO8601", help="the instant to run at (default: now)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    use_bundled_tzdata()
    report = run_timed_work(ctx.db, ctx.desk, instant(args.now, ctx.clock.now()))
    if args.json:
        emit_json(report)
    else:
        print(", ".join(f"{k} {v}" for k, v in report.items()))
    return 0
