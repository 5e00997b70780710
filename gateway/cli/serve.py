"""``ticket-gateway serve``: run the daemon (listeners, worker, sender, timed work)."""
from __future__ import annotations

import argparse
import asyncio
import logging

from gateway.cli.common import setup_logging
from gateway.cli.context import CliContext
from gateway.policy.calendar import use_bundled_tzdata

log = logging.getLogger("gateway.daemon")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="run the daemon", description="Run the gateway: SMTP/LMTP listeners, IMAP readers, pipeline, outbox sender and timed work.")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    setup_logging(args.log_level)
    use_bundled_tzdata()
    from gateway.daemon import Daemon, imap_tasks

    config = ctx.config
    if ctx.numbers.unauthenticated == "confirm" and not config.authserv_ids:
        log.warning("trust: no [trust] authserv_ids configured, so no sender can be authenticated; 'confirm' acts as 'accept'")
    daemon = Daemon(config=config, db=ctx.db, desk=ctx.desk, clock=ctx.clock)
    daemon.extra_tasks.extend(imap_tasks(daemon))
    return asyncio.run(daemon.run())
