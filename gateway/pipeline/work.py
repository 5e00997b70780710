"""The state one message carries through the stages of the chain."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.desk import Desk
from gateway.pipeline.parse import ParsedMessage
from gateway.store.models import Account, Inbound, Ticket


@dataclass
class Work:
    s: Session
    desk: Desk
    inbound: Inbound
    msg: ParsedMessage
    logged_at: datetime
    opened_at: datetime | None = None  # later than logged_at only for a held request released by a purchase
    account: Account | None = None
    ticket: Ticket | None = None  # the ticket this message joins, if any
    previous: Ticket | None = None  # a closed ticket too old to reopen, referenced by the new one
    new_text: str = ""
    issues: list[str] = field(default_factory=list)
    decision: dict[str, Any] = field(default_factory=dict)

    @property
    def log_id(self) -> str:
        return f"inbound {self.inbound.id} {self.msg.message_id or '(no Message-ID)'}"
