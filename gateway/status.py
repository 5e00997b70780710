"""Health of listeners and mailboxes, kept in the database for ``ticket-gateway status``.

Every component reports success and failure here, so a mailbox failing for a week shows
up in one command instead of in nobody's log.
"""
from __future__ import annotations

import os
import socket

from sqlalchemy import select

from gateway.clock import Clock
from gateway.store.db import Database
from gateway.store.models import ComponentStatus

HOLDER = f"{socket.gethostname()}:{os.getpid()}"


class StatusBoard:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def _row(self, s, name: str, kind: str) -> ComponentStatus:  # type: ignore[no-untyped-def]
        row = s.scalar(select(ComponentStatus).where(ComponentStatus.name == name))
        if row is None:
            row = ComponentStatus(name=name, kind=kind, state="starting", updated_at=self.clock.now())
            s.add(row)
        return row

    def ok(self, name: str, kind: str, state: str = "healthy") -> None:
        def work(s):  # type: ignore[no-untyped-def]
            row = self._row(s, name, kind)
            now = self.clock.now()
            row.state, row.last_success, row.updated_at, row.holder = state, now, now, HOLDER

        self.db.write(work)

    def error(self, name: str, kind: str, message: str, state: str = "failing") -> None:
        def work(s):  # type: ignore[no-untyped-def]
            row = self._row(s, name, kind)
            now = self.clock.now()
            row.state, row.last_error, row.last_error_at, row.updated_at, row.holder = state, message[:2000], now, now, HOLDER

        self.db.write(work)
