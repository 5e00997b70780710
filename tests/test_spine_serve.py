"""The spine over real sockets: serve, send with smtplib, read the Maildir (issue 2)."""
from __future__ import annotations

import email
import mailbox
import smtplib
from pathlib import Path

import pytest
from datetime import datetime, timezone
from sqlalchemy import func, select

from gateway.cli.tickets import summary
from gateway.store import accounts, ledger
from gateway.store.db import Database
from gateway.store.models import Inbound, Outbox, Ticket
from tests.conftest import add_account, config_mapping, free_port, write_config
from tests.daemon import Served, start_serve, support_message, wait_for


@pytest.fixture
def served(db: Database, db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    smtp, lmtp = free_port(), free_port()
    cfg = write_config(tmp_path / "gateway.toml", config_mapping(db_url, tmp_path, listen={"smtp": f"127.0.0.1:{smtp}", "lmtp": f"127.0.0.1:{lmtp}"}))
    add_account(db, "alice@customer.example", 20)
    add_account(db, "poor@customer.example", 5, edition="community", tz="America/New_York", country="US")
    srv = start_serve(cfg, smtp, lmtp)
    srv.db = db
    yield srv
    code = srv.stop()
    assert code == 0, srv.log.read_text()


def outbox_json(srv: Served) -> list[dict]:
    with srv.db.session() as s:
        return [{"to": o.to_addr, "subject": o.subject, "event": o.event} for o in s.scalars(select(Outbox).order_by(Outbox.id))]


def maildir_messages(tmp_path: Path) -> list[email.message.Message]:
    box = mailbox.Maildir(tmp_path / "outbox", create=False)
    return [box.get_message(key) for key in box.keys()]


def balance(srv: Served, who: str) -> int:
    with srv.db.session() as s:
        return ledger.balance_now(s, accounts.require(s, who).id, datetime.now(timezone.utc))


def tickets(srv: Served) -> list[dict]:
    with srv.db.session() as s:
        return [summary(s, t) for t in s.scalars(select(Ticket).order_by(Ticket.number))]


def test_mail_opens_ticket_charges_and_acknowledges(served: Served, tmp_path: Path) -> None:
    msg = support_message("Alice <alice@customer.example>", "Scalix server will not start", "<m1@customer.example>", "Since the upgrade the server does not start.")
    with smtplib.SMTP("127.0.0.1", served.smtp_port) as smtp:
        refused = smtp.send_message(msg)
    assert refused == {}
    acks = wait_for(lambda: [m for m in maildir_messages(tmp_path) if m["To"] == "alice@customer.example"], "the acknowledgement in the Maildir", served=served)
    [t] = tickets(served)
    assert t["status"] == "open" and t["points_charged"] == 10 and t["account"] == "alice@customer.example"
    assert balance(served, "alice@customer.example") == 10
    [ack] = acks
    assert f"[#{t['number']}]" in ack["Subject"]
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == "<m1@customer.example>"
    body = ack.get_payload(decode=True).decode()
    assert "Points charged: 10" in body and "Balance left:   10 points" in body

    # The same message delivered again is stored once and charged once.
    with smtplib.SMTP("127.0.0.1", served.smtp_port) as smtp:
        smtp.send_message(msg)
    wait_for(lambda: len(outbox_json(served)) >= 2, "the technician notice", served=served)
    assert len(tickets(served)) == 1
    assert balance(served, "alice@customer.example") == 10


def test_lmtp_answers_once_per_recipient(served: Served) -> None:
    msg = support_message("Alice <alice@customer.example>", "Mobile sync", "<lmtp1@customer.example>", "Scalix Mobile stopped syncing.")
    with smtplib.LMTP("127.0.0.1", served.lmtp_port) as lmtp:
        lmtp.ehlo_or_helo_if_needed()
        code, _ = lmtp.docmd("MAIL FROM:<alice@customer.example>")
        assert code == 250
        assert lmtp.docmd("RCPT TO:<support@example.com>")[0] == 250
        assert lmtp.docmd("RCPT TO:<SUPPORT@example.com>")[0] == 250
        assert lmtp.docmd("RCPT TO:<someone@elsewhere.example>")[0] == 550
        assert lmtp.docmd("DATA")[0] == 354
        lmtp.send(msg.as_bytes().replace(b"\n", b"\r\n") + b"\r\n.\r\n")
        first = lmtp.getreply()
        second = lmtp.getreply()
    assert first[0] == 250 and second[0] == 250
    wait_for(lambda: tickets(served), "a ticket from LMTP", served=served)


def test_insufficient_points_opens_nothing_and_tells_the_customer(served: Served, tmp_path: Path) -> None:
    with smtplib.SMTP("127.0.0.1", served.smtp_port) as smtp:
        smtp.send_message(support_message("poor@customer.example", "Help", "<p1@customer.example>", "The server crashes on start."))
    notices = wait_for(lambda: [m for m in maildir_messages(tmp_path) if m["To"] == "poor@customer.example"], "the notice", served=served)
    assert tickets(served) == []
    assert balance(served, "poor@customer.example") == 5
    body = notices[0].get_payload(decode=True).decode()
    assert "your balance is 5 points" in body and "buy" in body.lower()


def test_unknown_sender_gets_no_ticket_and_a_limited_notice(served: Served, tmp_path: Path) -> None:
    with smtplib.SMTP("127.0.0.1", served.smtp_port) as smtp:
        for i in range(8):
            smtp.send_message(support_message("stranger@else.example", f"hello {i}", f"<s{i}@else.example>", "Please help."))
    wait_for(lambda: _stored(served) == 8, "all eight processed", served=served)
    assert tickets(served) == []
    notices = [o for o in outbox_json(served) if o["to"] == "stranger@else.example"]
    assert 1 <= len(notices) <= 5  # rules/policy.toml: auto_replies_per_sender_per_hour


def test_auto_reply_gets_no_answer(served: Served) -> None:
    with smtplib.SMTP("127.0.0.1", served.smtp_port) as smtp:
        smtp.send_message(support_message("alice@customer.example", "Out of office", "<ooo@customer.example>", "I am away.", Auto_Submitted="auto-replied"))
        smtp.send_message(support_message("alice@customer.example", "Newsletter", "<list@customer.example>", "News.", Precedence="bulk"))
    wait_for(lambda: _stored(served) == 2, "both processed", served=served)
    assert tickets(served) == []
    assert outbox_json(served) == []
    assert balance(served, "alice@customer.example") == 20


def _stored(srv: Served) -> int:
    """Messages the pipeline has finished with."""
    with srv.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Inbound).where(Inbound.status != "new")) or 0)


def test_oversized_message_is_refused_with_552(served: Served) -> None:
    big = support_message("alice@customer.example", "big", "<big@customer.example>", "x")
    big.add_attachment(b"\0" * (30 * 1024 * 1024), maintype="application", subtype="octet-stream", filename="dump.bin")
    with smtplib.SMTP("127.0.0.1", served.smtp_port) as smtp:
        with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as info:
            smtp.send_message(big)
    assert info.value.smtp_code == 552
    assert tickets(served) == []


def test_foreign_domain_is_refused_at_rcpt(served: Served) -> None:
    with smtplib.SMTP("127.0.0.1", served.smtp_port) as smtp:
        smtp.ehlo()
        smtp.mail("alice@customer.example")
        code, _ = smtp.rcpt("victim@elsewhere.example")
        assert code == 550
        code, _ = smtp.rcpt("support+0000000000000000@example.com")
        assert code == 550
        code, _ = smtp.rcpt("support@example.com")
        assert code == 250
