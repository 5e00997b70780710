"""Fixtures for the conversation and command tests: a desk on SQLite and PostgreSQL.

Messages go the real way: ``store_raw`` then ``Pipeline.process`` with an explicit
received time. The database comes from conftest's ``db_url`` (one run per engine).
"""
from __future__ import annotations

import email.utils
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.clock import FrozenClock
from gateway.config import config_from_mapping
from gateway.desk import Desk, build_desk
from gateway.ingest.store import store_raw
from gateway.pipeline.outcome import Outcome
from gateway.pipeline.runner import Pipeline
from gateway.rulebook.numbers import load_numbers
from gateway.store import ledger
from gateway.store.accounts import add_account, add_contact
from gateway.store.db import Database
from gateway.store.models import Account, Outbox, Ticket, TicketEvent, TicketMessage

DESK = "support@desk.example"
TECH = "tech@desk.example"
MX = "mx.desk.example"
CUSTOMER = "alice@customer.example"
START = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)  # a Monday


@dataclass
class Sent:
    message_id: str
    outcome: Outcome


@dataclass
class World:
    """A desk with one customer account (primary address CUSTOMER) and one technician."""

    db: Database
    desk: Desk
    clock: FrozenClock
    account_id: int
    sent: list[Sent] = field(default_factory=list)

    def mail(
        self,
        *,
        frm: str,
        subject: str,
        body: str,
        at: datetime,
        to: str = DESK,
        in_reply_to: str | None = None,
        references: list[str] | None = None,
        headers: list[tuple[str, str]] | None = None,
        rcpt: list[str] | None = None,
        authenticated: bool = True,
    ) -> Sent:
        msg = EmailMessage()
        if authenticated:
            # The site's MTA stamps every message; the sender's own domain passed DMARC.
            domain = frm.rpartition("@")[2].rstrip(">")
            msg["Authentication-Results"] = f"{MX}; dkim=pass header.d={domain}; dmarc=pass header.from={domain}"
        for key, value in headers or []:
            msg[key] = value  # above From: a header the receiving MTA or the sender added
        msg["From"] = frm
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = email.utils.format_datetime(at)
        mid = f"<{secrets.token_hex(8)}@{frm.rpartition('@')[2].rstrip('>')}>"
        msg["Message-ID"] = mid
        if in_reply_to:
            msg["In-Reply-To"] = in_reply_to
        if references:
            msg["References"] = " ".join(references)
        msg.set_content(body)
        stored = store_raw(self.db, msg.as_bytes(), received_at=at, source="test", envelope_from=frm, recipients=rcpt or [to])
        self.clock.at = at
        outcome = Pipeline(self.db, self.desk, self.clock).process(stored.inbound_id)
        sent = Sent(mid, outcome)
        self.sent.append(sent)
        return sent

    def tech_mail(self, *, body: str, at: datetime, ticket: int, authenticated: bool = True, **kw: object) -> Sent:
        headers = list(kw.pop("headers", []) or [])  # type: ignore[call-overload]
        if authenticated:
            headers.insert(0, ("Authentication-Results", f"{MX}; dkim=pass header.d=desk.example header.s=s1; spf=pass smtp.mailfrom=desk.example; dmarc=pass header.from=desk.example"))
        return self.mail(frm=f"Tess Tech <{TECH}>", subject=f"Re: [#{ticket}] ticket", body=body, at=at, headers=headers, to=self.token_address(ticket), authenticated=False, **kw)  # type: ignore[arg-type]

    def token_address(self, number: int) -> str:
        return self.desk.token_address(self.ticket(number).token)

    def ticket(self, number: int) -> Ticket:
        with self.db.session() as s:
            t = s.scalar(select(Ticket).where(Ticket.number == number))
            assert t is not None
            return t

    def tickets(self) -> list[Ticket]:
        with self.db.session() as s:
            return list(s.scalars(select(Ticket).order_by(Ticket.number)))

    def balance(self, at: datetime) -> int:
        with self.db.session() as s:
            return ledger.balance_now(s, self.account_id, at)

    def outbox(self, event: str | None = None, to: str | None = None) -> list[Outbox]:
        with self.db.session() as s:
            stmt = select(Outbox).order_by(Outbox.id)
            if event:
                stmt = stmt.where(Outbox.event == event)
            if to:
                stmt = stmt.where(Outbox.to_addr == to)
            return list(s.scalars(stmt))

    def messages(self, number: int) -> list[TicketMessage]:
        with self.db.session() as s:
            t = s.scalar(select(Ticket).where(Ticket.number == number))
            assert t is not None
            return list(s.scalars(select(TicketMessage).where(TicketMessage.ticket_id == t.id).order_by(TicketMessage.id)))

    def events(self, number: int) -> list[TicketEvent]:
        with self.db.session() as s:
            t = s.scalar(select(Ticket).where(Ticket.number == number))
            assert t is not None
            return list(s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id)))

    def add_account(self, address: str, *, edition: str = "standard", points: int = 0, at: datetime = START) -> int:
        def work(s):  # type: ignore[no-untyped-def]
            a = add_account(s, address, name=address.split("@")[0].title(), edition=edition, tz="Europe/Berlin", country="DE", subdiv=None, refund="points", at=at)
            if points:
                ledger.purchase(s, a, points, at, years=1)
            return a.id

        return self.db.write(work)


def make_world(db_url: str, tmp_path: Path, *, authserv_ids: list[str] | None = None, points: int = 50, edition: str = "standard") -> World:
    raw = {
        "database": {"url": db_url},
        "desk": {"address": DESK, "name": "Example Support", "technicians": [TECH]},
        "outbound": {"maildir": str(tmp_path / "outbox")},
        "trust": {"authserv_ids": [MX] if authserv_ids is None else authserv_ids},
    }
    config = config_from_mapping(raw, tmp_path / "gateway.toml")
    desk = build_desk(config, load_numbers(config.rules_dir))
    db = Database(config.database_url)
    db.migrate()
    clock = FrozenClock(START)
    world = World(db, desk, clock, 0)
    world.account_id = world.add_account(CUSTOMER, edition=edition, points=points, at=START.replace(day=1))

    def contact(s):  # type: ignore[no-untyped-def]
        account = s.get(Account, world.account_id)
        add_contact(s, account, "bob@customer.example")

    db.write(contact)
    return world


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    w = make_world(db_url, tmp_path)
    try:
        yield w
    finally:
        w.db.dispose()
