"""Outbound over SMTP to a real relay (an aiosmtpd server on a free port): 4xx retries with
backoff, 5xx is recorded as failed, a retry sends the same bytes and Message-ID."""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from gateway.clock import FrozenClock
from gateway.outbound.compose import compose
from gateway.outbound.outbox import enqueue
from gateway.outbound.sender import OutboxSender
from gateway.outbound.transports import MaildirTransport, SmtpRelayTransport
from gateway.store.db import Database
from gateway.store.models import Outbox
from tests.conftest import free_port

AT = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


class Relay:
    """Answers DATA from a script of replies, then 250; keeps what it accepted."""

    def __init__(self) -> None:
        self.script: list[str] = []
        self.accepted: list[bytes] = []
        self.seen: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.seen.append(envelope.original_content)
        if self.script:
            return self.script.pop(0)
        self.accepted.append(envelope.original_content)
        return "250 OK"


@pytest.fixture
def relay() -> Iterator[tuple[Relay, int]]:
    handler = Relay()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def queue(db: Database, key: str, to: str = "alice@customer.example") -> None:
    mail = compose(from_name="Desk", from_addr="support@example.com", to=to, subject=f"hello {key}", body="text", at=AT, domain="example.com")
    db.write(lambda s: enqueue(s, mail, event="test", dedup_key=key, at=AT))


def rows(db: Database) -> list[Outbox]:
    with db.session() as s:
        return list(s.scalars(select(Outbox).order_by(Outbox.id)))


def test_temporary_failure_is_retried_with_the_same_bytes(db: Database, relay: tuple[Relay, int]) -> None:
    handler, port = relay
    handler.script = ["451 4.3.0 try later"]
    queue(db, "a")
    clock = FrozenClock(AT)
    sender = OutboxSender(db, SmtpRelayTransport(f"smtp://127.0.0.1:{port}"), clock, "support@example.com")
    assert asyncio.run(sender.flush()) == {"sent": 0, "retry": 1, "failed": 0}
    [row] = rows(db)
    assert row.status == "pending" and "451" in (row.last_error or "")
    # Not due again until the backoff has passed.
    assert asyncio.run(sender.flush(now=AT + timedelta(seconds=30))) == {"sent": 0, "retry": 0, "failed": 0}
    clock.advance(timedelta(minutes=2))
    assert asyncio.run(sender.flush()) == {"sent": 1, "retry": 0, "failed": 0}
    assert handler.seen[0] == handler.accepted[0]  # byte-identical retry
    assert rows(db)[0].status == "sent"


def test_permanent_failure_is_recorded_not_retried(db: Database, relay: tuple[Relay, int]) -> None:
    handler, port = relay
    handler.script = ["550 5.1.1 no such user"]
    queue(db, "b")
    sender = OutboxSender(db, SmtpRelayTransport(f"smtp://127.0.0.1:{port}"), FrozenClock(AT), "support@example.com")
    assert asyncio.run(sender.flush()) == {"sent": 0, "retry": 0, "failed": 1}
    [row] = rows(db)
    assert row.status == "failed" and "550" in (row.last_error or "")
    assert asyncio.run(sender.flush(now=AT + timedelta(days=1))) == {"sent": 0, "retry": 0, "failed": 0}


def test_relay_down_is_a_temporary_failure(db: Database) -> None:
    queue(db, "c")
    sender = OutboxSender(db, SmtpRelayTransport(f"smtp://127.0.0.1:{free_port()}"), FrozenClock(AT), "support@example.com")
    assert asyncio.run(sender.flush()) == {"sent": 0, "retry": 1, "failed": 0}


def test_maildir_delivery_is_idempotent_per_row(db: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    queue(db, "d")
    transport = MaildirTransport(tmp_path / "box")
    [row] = rows(db)
    key = f"outbox-{row.id}-{row.message_id}"
    # A crash after delivery and before the outbox row was updated: the retry finds the file.
    asyncio.run(transport.send(key, "support@example.com", row.to_addr, row.raw))
    sender = OutboxSender(db, transport, FrozenClock(AT), "support@example.com")
    assert asyncio.run(sender.flush())["sent"] == 1
    assert len(list((tmp_path / "box" / "new").iterdir())) == 1
