"""Storage models (SQLAlchemy 2). Alembic migrations in ``migrations/`` create them.

Every part of the flow writes here: intake stores raw messages (``inbound``), the pipeline
opens tickets and writes the ledger, outbound reads the ``outbox``. Instants are stored as
naive UTC and read back as aware UTC (:class:`UTCDateTime`), on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,

)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in Python, naive UTC in the database (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to storage; pass an aware UTC instant")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    primary_address: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    edition: Mapped[str] = mapped_column(String(20))
    tz: Mapped[str] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    subdiv: Mapped[str | None] = mapped_column(String(10))
    refund: Mapped[str] = mapped_column(String(10), default="points")
    created_at: Mapped[datetime]
    contacts: Mapped[list[Contact]] = relationship(back_populates="account", cascade="all, delete-orphan")


class Contact(Base):
    """Every address that speaks for an account, the primary one included."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    account: Mapped[Account] = relationship(back_populates="contacts")


class Lot(Base):
    """Points bought (or credited back) at one instant, valid until ``expires_at``.

    ``remaining`` is a cache of the lot's ledger parts; ``points verify`` recomputes it.
    """

    __tablename__ = "lots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    points: Mapped[int]
    remaining: Mapped[int]
    purchased_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(20))  # purchase, credit, adjustment
    reference: Mapped[str | None] = mapped_column(String(200), unique=True)
    expiry_recorded: Mapped[bool] = mapped_column(Boolean, default=False)
    warning_sent: Mapped[bool] = mapped_column(Boolean, default=False)


class LedgerEntry(Base):
    """Append-only: purchase, debit, credit, refund_request, expiry, adjustment."""

    __tablename__ = "ledger_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))
    points: Mapped[int]  # signed change of the balance
    refund_points: Mapped[int | None]  # refund_request only: points to refund by card
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(320))
    parts: Mapped[list[LedgerPart]] = relationship(cascade="all, delete-orphan", order_by="LedgerPart.id")


class LedgerPart(Base):
    """How one entry touched one lot (signed points)."""

    __tablename__ = "ledger_parts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    points: Mapped[int]


class Inbound(Base):
    """A raw message as it arrived, stored before the sender is told 250."""

    __tablename__ = "inbound"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime]  # the logged time: every decision uses it
    source: Mapped[str] = mapped_column(String(100))
    envelope_from: Mapped[str | None] = mapped_column(String(320))
    recipients: Mapped[list[Any]]
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int]
    message_id: Mapped[str | None] = mapped_column(String(998))
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # new, done, held, quarantined
    outcome: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    tickets: Mapped[list[Any] | None]
    decision: Mapped[dict[str, Any] | None]
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # open, closed, declined, merged
    kind: Mapped[str] = mapped_column(String(20), default="incident")  # incident, feature
    channel: Mapped[str] = mapped_column(String(20), default="email")
    subject: Mapped[str] = mapped_column(Text)
    points_charged: Mapped[int]
    logged_at: Mapped[datetime]
    opened_at: Mapped[datetime]
    first_response_due: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    sla_warned: Mapped[bool] = mapped_column(Boolean, default=False)
    sla_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    first_closed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))  # status "merged": where it continues
    product: Mapped[str | None] = mapped_column(String(100))
    release: Mapped[str | None] = mapped_column(String(50))
    category: Mapped[str | None] = mapped_column(String(50))
    disposition: Mapped[str | None] = mapped_column(String(50))
    explanation: Mapped[dict[str, Any] | None]


class TicketEvent(Base):
    """Status changes and other facts about a ticket, in order."""

    __tablename__ = "ticket_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(30))  # status, split, disposition, ...
    old_status: Mapped[str | None] = mapped_column(String(20))
    new_status: Mapped[str | None] = mapped_column(String(20))
    actor: Mapped[str | None] = mapped_column(String(320))
    note: Mapped[str | None] = mapped_column(Text)


class TicketMessage(Base):
    """A message in a ticket's conversation, in or out."""

    __tablename__ = "ticket_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime]
    direction: Mapped[str] = mapped_column(String(3))  # in, out
    kind: Mapped[str] = mapped_column(String(20))  # customer, technician, command, automatic
    sender: Mapped[str] = mapped_column(String(320))
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    subject: Mapped[str | None] = mapped_column(Text)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound.id"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))


class Hold(Base):
    """A request waiting for points (P1, decided: held for pending_hold_days)."""

    __tablename__ = "holds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound.id"), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    logged_at: Mapped[datetime]
    hold_until: Mapped[datetime]
    points_needed: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))  # held, confirm, opened, lapsed
    resolved_at: Mapped[datetime | None]
    # P8 "confirm": the secret of the confirmation address support+c<token>@domain.
    token: Mapped[str | None] = mapped_column(String(64), unique=True)


class Outbox(Base):
    """Mail to send, written in the transaction that caused it; fixed Message-ID and bytes."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    event: Mapped[str] = mapped_column(String(50))
    to_addr: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]]
    body: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(200))  # host:pid of the sender trying it


class AutoReply(Base):
    """One row per automatic reply, for the per-sender hourly limit (P8)."""

    __tablename__ = "auto_replies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime]
    __table_args__ = (Index("ix_auto_replies_recipient_at", "recipient", "at"),)


class ComponentStatus(Base):
    """Health of each listener and mailbox, for ``ticket-gateway status``."""

    __tablename__ = "component_status"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    last_success: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    holder: Mapped[str | None] = mapped_column(String(200))


class Lease(Base):
    """Who reads a mailbox now; taken over when the holder stops renewing it."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


class Counter(Base):
    """Named counters (ticket numbers), incremented under a row lock."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class ImapState(Base):
    """Per-mailbox IMAP bookkeeping (UIDVALIDITY seen last)."""

    __tablename__ = "imap_state"
    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


__all__ = [
    "Base",
    "Account",
    "Contact",
    "Lot",
    "LedgerEntry",
    "LedgerPart",
    "Inbound",
    "Ticket",
    "TicketEvent",
    "TicketMessage",
    "Hold",
    "Outbox",
    "AutoReply",
    "ComponentStatus",
    "Lease",
    "ImapState",
    "Counter",
]
