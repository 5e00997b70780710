"""Threadable mail over a real socket (POLICY.md P4): the listener accepts a ``+token``
address at RCPT only when the token is a ticket's, and the token never reaches a log."""
from __future__ import annotations

import asyncio
import logging
import smtplib
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest

from gateway.ingest.listener import IntakeHandler, make_factory
from gateway.pipeline.runner import Pipeline

from test_conversation_harness import CUSTOMER, DESK, START, World, world  # noqa: F401

pytestmark = pytest.mark.storage


@pytest.fixture
def smtp_port(world: World) -> Iterator[int]:  # noqa: F811
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    handler = IntakeHandler(world.db, world.clock, DESK, wake=lambda: None, source="smtp-test")
    factory = make_factory("smtp", handler, data_size_limit=world.desk.numbers.max_message_bytes, hostname="desk.example")
    server = asyncio.run_coroutine_threadsafe(loop.create_server(factory, "127.0.0.1", 0), loop).result(10)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        asyncio.run_coroutine_threadsafe(server.wait_closed(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_rcpt_accepts_only_valid_tokens_and_the_token_is_never_logged(world: World, smtp_port: int, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    caplog.set_level(logging.DEBUG)
    n = world.mail(frm=CUSTOMER, subject="Index corrupt", body="The index is corrupt after a power cut.", at=START).outcome.tickets[0]
    token = world.ticket(n).token
    assert 16 <= len(token) < 64 and str(n) not in token
    good = world.token_address(n)
    domain = DESK.rpartition("@")[2]
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
        smtp.ehlo("client.example")
        assert smtp.mail(CUSTOMER)[0] == 250
        assert smtp.rcpt(DESK)[0] == 250
        assert smtp.rcpt(good)[0] == 250
        assert smtp.rcpt(f"support+{'0' * len(token)}@{domain}")[0] == 550  # a guessed token
        assert smtp.rcpt(f"support+{n}@{domain}")[0] == 550  # the number is not the token
        assert smtp.rcpt(f"other@{domain}")[0] == 550
        assert smtp.rcpt("someone@elsewhere.example")[0] == 550  # no relaying
        smtp.rset()
        msg = EmailMessage()
        msg["From"] = CUSTOMER
        msg["To"] = good
        msg["Subject"] = "no tag at all"
        msg["Message-ID"] = "<listener-1@customer.example>"
        msg.set_content("Here are the logs you asked for.")
        refused = smtp.send_message(msg, from_addr=CUSTOMER, to_addrs=[good])
        assert refused == {}
    world.clock.at = START + timedelta(minutes=5)
    results = Pipeline(world.db, world.desk, world.clock).process_pending()
    assert [(o.outcome, o.tickets) for _, o in results] == [("appended", [n])]
    # The gateway's own log lines never carry the token. (aiosmtpd's "mail.log" logger
    # echoes RCPT lines at INFO; the daemon's logging set-up has to keep it at WARNING.)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("gateway")]
    assert ours and not any(token in line for line in ours)


def test_outgoing_mail_threads(world: World) -> None:  # noqa: F811
    n = world.mail(frm=CUSTOMER, subject="Index corrupt", body="The index is corrupt after a power cut.", at=START).outcome.tickets[0]
    ack = world.outbox("ack")[0]
    headers = {k.lower(): v for k, v in ack.headers.items()}
    assert f"[#{n}]" in ack.subject
    assert ack.message_id.endswith("@desk.example>")
    assert world.sent[0].message_id in headers["in-reply-to"] and world.sent[0].message_id in headers["references"]
    assert world.token_address(n) in headers["reply-to"]
    assert headers["auto-submitted"] == "auto-replied"
