"""Small helpers the command modules share: JSON output, instants, logging set-up."""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from typing import Any

from gateway.clock import parse_instant
from gateway.errors import UserError


def emit_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, default=str, ensure_ascii=False)
    sys.stdout.write("\n")


def instant(text: str | None, default: datetime) -> datetime:
    if text is None:
        return default
    try:
        return parse_instant(text)
    except ValueError:
        raise UserError(f"{text!r} is not an ISO 8601 instant (e.g. 2026-12-01T09:30:00Z)") from None


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # mail-parser logs every part type it does not render; that is not news for an admin.
    logging.getLogger("mailparser").setLevel(logging.ERROR)
    # aiosmtpd logs every RCPT address at INFO, and a ticket's reply address carries its
    # secret token: tokens never reach a log (STYLE.md), so only its warnings are kept.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
