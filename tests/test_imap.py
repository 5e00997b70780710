"""IMAP intake against a real Dovecot, in process: the reader task with a real pipeline.

Each test reads its own mailbox (its own Dovecot user) into a fresh SQLite or PostgreSQL
database, and waits on observable state (folders, rows, status) with deadlines.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dovecot import Dovecot, _start, database_url, dovecot, dovecot_basic, new_user, wait_until  # noqa: F401  (fixtures)
from gateway.clock import SystemClock
from gateway.config import ImapConfig, load_config
from gateway.desk import build_desk
from gateway.ingest.imap import Timing, lease_name, reader_task
from gateway.pipeline.runner import Pipeline
from gateway.rulebook.numbers import load_numbers
from gateway.status import StatusBoard
from gateway.store import leases
from gateway.store.accounts import add_account
from gateway.store.db import Database
from gateway.store.ledger import purchase
from gateway.store.models import ComponentStatus, ImapState, Inbound, Ticket

pytestmark = [pytest.mark.dovecot, pytest.mark.storage]

CUSTOMER = "alice@customer.example"
FAST = Timing(lease_ttl=3, lease_renew=1, idle_check=0.5, poll=0.5, backoff_first=0.2, backoff_max=1, auth_retry=1, connect_timeout=5, read_timeout=10)
# Tuesday 3 March 2026, 11:30 in Berlin (+01:00): inside business hours, points valid.
AT = datetime(2026, 3, 3, 11, 30, tzinfo=timezone(timedelta(hours=1)))


def message(n: int, *, subject: str | None = None, size: int = 0, sender: str = CUSTOMER) -> bytes:
    body = f"The PDF export fails with error {4000 + n} since this morning. Please help.\r\n"
    if size:
        body += ("x" * 76 + "\r\n") * (size // 78 + 1)
    return (
        f"From: Alice <{sender}>\r\nTo: support@example.com\r\nSubject: {subject or f'Export fails ({n})'}\r\n"
        f"Message-ID: <imap-test-{n}-{id(body)}@customer.example>\r\nDate: Tue, 3 Mar 2026 10:30:00 +0000\r\n\r\n{body}"
    ).encode()


@pytest.fixture
def db(database_url: str, tmp_path: Path) -> Iterator[Database]:  # noqa: F811
    handle = Database(database_url)

    def setup(s):  # type: ignore[no-untyped-def]
        account = add_account(s, CUSTOMER, name="Alice", edition="standard", tz="Europe/Berlin", country="DE", subdiv=None, refund="points", at=datetime(2026, 1, 1, tzinfo=timezone.utc))
        purchase(s, account, 1000, datetime(2026, 1, 1, tzinfo=timezone.utc), years=1)

    handle.write(setup)
    yield handle
    handle.dispose()


@pytest.fixture
def pipeline(db: Database, tmp_path: Path) -> Pipeline:
    cfg = tmp_path / "gateway.toml"
    cfg.write_text(f'[database]\nurl = "{db.url}"\n[desk]\naddress = "support@example.com"\ntechnicians = ["tech@example.com"]\n[outbound]\nmaildir = "{tmp_path / "out"}"\n')
    config = load_config(cfg)
    return Pipeline(db, build_desk(config, load_numbers(config.rules_dir)), SystemClock())


def mailbox(server: Dovecot, user: str, **changes: object) -> ImapConfig:
    base = ImapConfig(
        name=f"test {user}", host=server.host, port=server.port, tls="none", user=user, password="secret",
        folder="INBOX", processed_folder="Processed", quarantine_folder="Quarantine", idle_renew_seconds=30, resync_seconds=30,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


class Reader:
    """The reader task on its own event loop in a thread, as the daemon would run it."""

    def __init__(self, db: Database, box: ImapConfig, max_bytes: int = 1_000_000, holder: str = "test-holder", timing: Timing = FAST) -> None:
        self.clock = SystemClock()
        self.task = reader_task(db, self.clock, StatusBoard(db, self.clock), box, max_bytes, holder=holder, timing=timing)
        self.wakes = 0
        self.loop = asyncio.new_event_loop()
        self.ended = threading.Event()
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.thread.start()

    def _main(self) -> None:
        async def main() -> None:
            self.stopping = asyncio.Event()
            await self.task(self.stopping, self._wake)

        try:
            self.loop.run_until_complete(main())
        finally:
            self.loop.close()
            self.ended.set()

    def _wake(self) -> None:
        self.wakes += 1

    def stop(self, within: float = 10) -> None:
        if not self.ended.is_set():
            self.loop.call_soon_threadsafe(self.stopping.set)
        assert self.ended.wait(within), "reader did not stop promptly"


@pytest.fixture
def readers() -> Iterator[list[Reader]]:
    running: list[Reader] = []
    yield running
    for r in running:
        r.stop()


def inbound_rows(db: Database) -> list[Inbound]:
    with db.session() as s:
        return list(s.scalars(select(Inbound).order_by(Inbound.id)))


def status_of(db: Database, name: str) -> ComponentStatus | None:
    with db.session() as s:
        return s.scalar(select(ComponentStatus).where(ComponentStatus.name == name))


def test_seen_and_unseen_messages_are_stored_once_moved_and_open_tickets(dovecot: Dovecot, db: Database, pipeline: Pipeline, readers: list[Reader]) -> None:  # noqa: F811
    user = new_user()
    raws = [message(1), message(2), message(3)]
    dovecot.append(user, raws[0], at=AT)
    dovecot.append(user, raws[1], flags=(b"\\Seen",), at=AT + timedelta(minutes=1))
    dovecot.append(user, raws[2], flags=(b"\\Flagged",), at=AT + timedelta(minutes=2))
    box = mailbox(dovecot, user)
    readers.append(r := Reader(db, box))
    wait_until(lambda: len(dovecot.uids(user, "Processed")) == 3, 20, "three messages in Processed")
    assert dovecot.uids(user, "INBOX") == []
    rows = inbound_rows(db)
    assert [row.raw for row in rows] == raws
    # INTERNALDATE, as aware UTC, is the logged time.
    assert [row.received_at for row in rows] == [(AT + timedelta(minutes=i)).astimezone(timezone.utc) for i in range(3)]
    assert {row.source for row in rows} == {f"imap:{box.name}"}
    # BODY.PEEK[] leaves \Seen as it was.
    flags = {raw: f for raw, f in dovecot.messages(user, "Processed")}
    assert b"\\Seen" not in flags[raws[0]] and b"\\Seen" in flags[raws[1]] and b"\\Seen" not in flags[raws[2]]
    assert r.wakes >= 1
    outcomes = [o.outcome for _, o in pipeline.process_pending()]
    assert outcomes == ["opened"] * 3
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 3
    wait_until(lambda: (st := status_of(db, box.name)) is not None and st.state == "healthy" and st.last_success is not None, 10, "healthy status")
    # New mail while the reader idles is picked up through the IDLE hint.
    dovecot.append(user, message(4), at=AT)
    wait_until(lambda: len(dovecot.uids(user, "Processed")) == 4, 15, "the fourth message")
    assert len(inbound_rows(db)) == 4


def test_oversized_message_is_quarantined_with_its_reason_and_blocks_nothing(dovecot: Dovecot, db: Database, readers: list[Reader]) -> None:  # noqa: F811
    user = new_user()
    big, small = message(10, size=6000), message(11)
    dovecot.append(user, big, at=AT)
    dovecot.append(user, small, at=AT)
    readers.append(Reader(db, mailbox(dovecot, user), max_bytes=3000))
    wait_until(lambda: len(dovecot.uids(user, "Processed")) == 1 and len(dovecot.uids(user, "Quarantine")) == 1, 20, "one processed, one quarantined")
    assert [raw for raw, _ in dovecot.messages(user, "Quarantine")] == [big]
    rows = inbound_rows(db)
    assert len(rows) == 2
    quarantined = next(r for r in rows if r.status == "quarantined")
    assert quarantined.outcome == "quarantined"
    assert f"too large: {len(big)} bytes, the limit is 3000" == quarantined.reason
    assert quarantined.raw.startswith(b"From: Alice") and len(quarantined.raw) < 1000  # headers only
    assert quarantined.message_id and quarantined.message_id.startswith("<imap-test-10-")
    assert next(r for r in rows if r.status == "new").raw == small


def test_uidvalidity_change_rereads_the_folder_and_dedup_skips_copies(dovecot: Dovecot, db: Database, readers: list[Reader], caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    user = new_user()
    a, b = message(20), message(21)
    dovecot.append(user, a, folder="Support", at=AT)
    box = mailbox(dovecot, user, folder="Support")
    r = Reader(db, box)
    wait_until(lambda: len(dovecot.uids(user, "Processed")) == 1, 20, "the first message processed")
    r.stop()
    with db.session() as s:
        first = s.get(ImapState, box.name)
        assert first is not None and first.uidvalidity is not None
        before = first.uidvalidity
    # Recreate the folder: a new UIDVALIDITY, and the old message is back in it.
    with dovecot.client(user) as c:
        c.delete_folder("Support")
        c.create_folder("Support")
    dovecot.append(user, a, folder="Support", at=AT)
    dovecot.append(user, b, folder="Support", at=AT)
    caplog.set_level(logging.WARNING, logger="gateway.ingest.imap")
    readers.append(Reader(db, box))
    wait_until(lambda: len(dovecot.uids(user, "Processed")) == 3, 20, "both messages of the new folder processed")
    with db.session() as s:
        state = s.get(ImapState, box.name)
        assert state is not None and state.uidvalidity != before
    assert sorted(row.raw for row in inbound_rows(db)) == sorted([a, b])
    assert any("UIDVALIDITY changed" in rec.getMessage() for rec in caplog.records)


def test_dovecot_restart_while_connected_reconnects_and_loses_nothing(db: Database, readers: list[Reader]) -> None:
    gen = _start("")
    server = next(gen)
    try:
        user = new_user()
        box = mailbox(server, user)
        readers.append(r := Reader(db, box))
        server.append(user, message(30), at=AT)
        wait_until(lambda: len(server.uids(user, "Processed")) == 1, 20, "the first message")
        server.restart()
        server.append(user, message(31), at=AT)
        wait_until(lambda: len(server.uids(user, "Processed")) == 2, 30, "the message sent after the restart")
        assert len(inbound_rows(db)) == 2
        st = status_of(db, box.name)
        assert st is not None and st.last_error is not None  # the disconnect was recorded
        wait_until(lambda: (s := status_of(db, box.name)) is not None and s.state == "healthy", 10, "healthy again")
        r.stop()
    finally:
        for _ in gen:
            pass


def test_refused_login_shows_auth_failed_and_keeps_the_password_out(dovecot: Dovecot, db: Database, readers: list[Reader], caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    caplog.set_level(logging.INFO, logger="gateway.ingest.imap")
    box = mailbox(dovecot, new_user(), password="wrong-pass-XYZ")
    readers.append(Reader(db, box))
    st = wait_until(lambda: (s := status_of(db, box.name)) is not None and s.state == "auth-failed" and s, 30, "auth-failed status")
    assert "refused" in (st.last_error or "")
    assert "AUTHENTICATION FAILED" in caplog.text
    assert "wrong-pass-XYZ" not in caplog.text and "wrong-pass-XYZ" not in (st.last_error or "")


@pytest.mark.parametrize("tls", ["starttls", "tls"])
def test_tls_failure_stops_the_mailbox_without_sending_the_password(dovecot: Dovecot, db: Database, readers: list[Reader], tls: str) -> None:  # noqa: F811
    user = new_user()
    dovecot.append(user, message(40), at=AT)
    login = f"Login: user=<{user}>"
    wait_until(lambda: dovecot.log_text().count(login) == 1, 10, "the APPEND login in the Dovecot log")
    box = mailbox(dovecot, user, tls=tls)
    readers.append(r := Reader(db, box))
    assert r.ended.wait(30), "a TLS failure must end the reader, not retry in clear"
    assert dovecot.log_text().count(login) == 1  # the reader never logged in
    st = status_of(db, box.name)
    assert st is not None and st.state == "tls-failed"
    assert dovecot.uids(user, "INBOX") != [] and inbound_rows(db) == []
    assert leases.holder_of(db, lease_name(box), datetime.now(timezone.utc)) is None


def test_server_without_idle_move_or_uidplus(dovecot_basic: Dovecot, db: Database, readers: list[Reader]) -> None:  # noqa: F811
    server = dovecot_basic
    user = new_user()
    server.append(user, message(50), at=AT)
    server.append(user, message(51), flags=(b"\\Seen",), at=AT)
    readers.append(Reader(db, mailbox(server, user, resync_seconds=2)))
    wait_until(lambda: len(server.uids(user, "Processed")) == 2, 20, "two messages moved by COPY and EXPUNGE")
    assert server.uids(user, "INBOX") == []
    # Later mail arrives through polling and the periodic re-sync.
    server.append(user, message(52), at=AT)
    wait_until(lambda: len(server.uids(user, "Processed")) == 3, 20, "the polled message")
    assert len(inbound_rows(db)) == 3
    assert all(b"\\Deleted" not in f for _, f in server.messages(user, "Processed"))


def test_two_readers_share_one_mailbox_without_duplicates_and_take_over(dovecot: Dovecot, db: Database, readers: list[Reader]) -> None:  # noqa: F811
    user = new_user()
    box = mailbox(dovecot, user)
    raws = [message(60 + i) for i in range(15)]
    for raw in raws:
        dovecot.append(user, raw, at=AT)
    readers.append(first := Reader(db, box, holder="proc-1"))
    readers.append(second := Reader(db, box, holder="proc-2"))
    wait_until(lambda: len(dovecot.uids(user, "Processed")) == 15, 30, "all fifteen processed")
    assert sorted(row.raw for row in inbound_rows(db)) == sorted(raws)
    assert len(dovecot.messages(user, "Processed")) == 15  # moved once each, never copied twice
    now = datetime.now(timezone.utc)
    owner = leases.holder_of(db, lease_name(box), now)
    assert owner in ("proc-1", "proc-2")
    # The holder goes away; the other takes the mailbox over and reads new mail.
    (first if owner == "proc-1" else second).stop()
    dovecot.append(user, message(99), at=AT)
    wait_until(lambda: len(dovecot.uids(user, "Processed")) == 16, 30, "the other reader to take over")
    other = "proc-2" if owner == "proc-1" else "proc-1"
    assert leases.holder_of(db, lease_name(box), datetime.now(timezone.utc)) == other
