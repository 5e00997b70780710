"""The command-line face: ``ticket-gateway <command>``.

One module per command group registers its sub-commands; this module only builds the
parser, loads the configuration lazily and maps the package's errors to exit codes
(sysexits). Only the faces (this package and ``daemon.py``) wire the parts together.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from gateway.cli.context import CliContext
from gateway.errors import ConfigError, RetryLater, UserError

# Command groups, in the order --help lists them. Each module has
# ``register(subparsers) -> None`` and sets ``handler(args, ctx) -> int`` on its parsers.
COMMAND_MODULES: tuple[str, ...] = (
    "gateway.cli.serve",
    "gateway.cli.ingest",
    "gateway.cli.accounts",
    "gateway.cli.points",
    "gateway.cli.tickets",
    "gateway.cli.outbox",
    "gateway.cli.inbound",
    "gateway.cli.tick",
    "gateway.cli.explain",
    "gateway.cli.sla",
    "gateway.cli.split",
    "gateway.cli.rules",
    "gateway.cli.status",
)

EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_SOFTWARE = 70
EX_TEMPFAIL = 75
EX_CONFIG = 78


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ticket-gateway",
        description="Turn a support mailbox into prepaid per-incident support tickets.",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=os.environ.get("TICKET_GATEWAY_CONFIG"),
        help="configuration file (TOML); default $TICKET_GATEWAY_CONFIG, else ./gateway.toml",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    ctx = CliContext(config_path=args.config)
    try:
        return int(args.handler(args, ctx) or 0)
    except ConfigError as exc:
        print(f"ticket-gateway: configuration error: {exc}", file=sys.stderr)
        return EX_CONFIG
    except UserError as exc:
        print(f"ticket-gateway: {exc}", file=sys.stderr)
        return EX_DATAERR
    except RetryLater as exc:
        print(f"ticket-gateway: temporary failure, try again: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    finally:
        ctx.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
