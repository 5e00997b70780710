"""``ticket-gateway ingest``: store one message from a file or stdin and process it at once.

For an MTA pipe transport and for replays. Exit codes follow sysexits: 0 stored (whatever
the outcome), 75 temporary failure (the MTA keeps the message and retries).
"""
from __future__ import annotations

import argparse
import sys

from gateway.cli import EX_TEMPFAIL
from gateway.cli.common import emit_json, instant, setup_logging
from gateway.cli.context import CliContext
from gateway.errors import RetryLater
from gateway.ingest.store import store_raw
from gateway.pipeline.runner import Pipeline
from gateway.policy.calendar import use_bundled_tzdata


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ingest", help="take one message from a file or stdin", description="Store one message and process it at once; print the outcome.")
    p.add_argument("file", nargs="?", default="-", metavar="FILE|-", help="the RFC 5322 message (default: stdin)")
    p.add_argument("--received-at", metavar="ISO8601", help="when the message reached the mailbox (default: now); every decision uses it")
    p.add_argument("--sender", metavar="ADDR", help="envelope sender, as an MTA pipe passes it")
    p.add_argument("--recipient", metavar="ADDR", action="append", help="envelope recipient (repeatable)")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    setup_logging("WARNING")
    use_bundled_tzdata()
    raw = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()
    received_at = instant(args.received_at, ctx.clock.now())
    try:
        stored = store_raw(ctx.db, raw, received_at=received_at, source="cli", envelope_from=args.sender, recipients=args.recipient or [])
        outcome = Pipeline(ctx.db, ctx.desk, ctx.clock).process(stored.inbound_id)
    except RetryLater as exc:
        print(f"ticket-gateway: temporary failure: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    result = outcome.as_json()
    result["inbound"] = stored.inbound_id
    if stored.duplicate:
        result["duplicate"] = True
    if args.json:
        emit_json(result)
    else:
        tickets = ", ".join(f"#{n}" for n in outcome.tickets) or "-"
        print(f"{outcome.outcome} tickets={tickets}" + (f" ({outcome.reason})" if outcome.reason else ""))
    return 0
