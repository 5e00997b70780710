"""Crash safety (P8): kill -9 the daemon mid-batch, restart, and nothing is lost, nothing
is charged or acknowledged twice."""
from __future__ import annotations

import mailbox
import smtplib
import threading
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import func, select

from gateway.store import ledger
from gateway.store.db import Database
from gateway.store.models import Inbound, Outbox, Ticket
from tests.conftest import add_account, config_mapping, free_port, write_config
from tests.daemon import start_serve, support_message, wait_for

N = 30


def crash_message(n: int) -> EmailMessage:
    return support_message("crash@customer.example", f"Crash case {n}", f"<crash-{n}@customer.example>", f"The Scalix server fails with error {n}.")


def test_kill_9_mid_batch_loses_nothing_and_doubles_nothing(db: Database, db_url: str, tmp_path: Path) -> None:
    add_account(db, "crash@customer.example", 1000)
    port = free_port()
    cfg = write_config(tmp_path / "gateway.toml", config_mapping(db_url, tmp_path, listen={"smtp": f"127.0.0.1:{port}"}))
    srv = start_serve(cfg, port)
    accepted: list[int] = []

    def send() -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                for n in range(N):
                    smtp.send_message(crash_message(n))
                    accepted.append(n)
        except (smtplib.SMTPException, OSError):
            pass  # the daemon died under us: what was not accepted is the client's to resend

    sender = threading.Thread(target=send)
    sender.start()

    def some_processed() -> bool:
        with db.session() as s:
            return (s.scalar(select(func.count()).select_from(Inbound).where(Inbound.status != "new")) or 0) >= 3

    wait_for(some_processed, "a few messages processed", served=srv)
    srv.kill()
    sender.join(60)
    # The client resends whatever was not accepted (as an MTA would), to a new daemon.
    srv = start_serve(cfg, port)
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            for n in range(N):
                if n in accepted:
                    continue
                smtp.send_message(crash_message(n))

        def all_sent() -> bool:
            with db.session() as s:
                done = s.scalar(select(func.count()).select_from(Inbound).where(Inbound.status != "new")) == N
                pending = s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != "sent"))
                return done and pending == 0

        wait_for(all_sent, "every message processed and every mail sent", deadline=60, served=srv)
    finally:
        assert srv.stop() == 0, srv.log.read_text()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == N
        assert s.scalar(select(func.count()).select_from(Inbound)) == N
        account_id = s.scalar(select(Ticket.account_id))
        assert ledger.balance_at(s, account_id, s.scalar(select(func.max(Ticket.opened_at)))) == 1000 - 10 * N
        assert ledger.verify(s) == []
        acks = s.scalars(select(Outbox.message_id).where(Outbox.event == "ack")).all()
    assert len(acks) == N
    box = mailbox.Maildir(tmp_path / "outbox", create=False)
    delivered = Counter(box.get_message(k)["Message-ID"] for k in box.keys())
    assert all(count == 1 for count in delivered.values())
    assert set(acks) <= set(delivered)
