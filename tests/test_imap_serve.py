"""The real daemon (``python -m gateway.cli serve``) reading a real Dovecot: crashes, two
processes on one database, and one message arriving by SMTP and by IMAP.

Each test runs ``serve`` as a subprocess with an ``[[imap]]`` table, on SQLite and on
PostgreSQL, and waits on folders and rows with deadlines.
"""
from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dovecot import Dovecot, database_url, dovecot, free_port, new_user, wait_until  # noqa: F401  (fixtures)
from gateway.store.db import Database
from gateway.store.models import Inbound, Ticket

pytestmark = [pytest.mark.dovecot, pytest.mark.storage]

ROOT = Path(__file__).resolve().parent.parent
CUSTOMER = "carol@customer.example"
AT = datetime(2026, 3, 3, 11, 30, tzinfo=timezone(timedelta(hours=1)))


def message(tag: str, n: int) -> bytes:
    return (
        f"From: Carol <{CUSTOMER}>\r\nTo: support@example.com\r\nSubject: Import crashes ({tag} {n})\r\n"
        f"Message-ID: <serve-{tag}-{n}@customer.example>\r\nDate: Tue, 3 Mar 2026 10:30:00 +0000\r\n\r\n"
        f"The CSV import crashes with error {n} when the file has more than {n + 10} rows.\r\n"
    ).encode()


class Gateway:
    """A config file, the CLI, and ``serve`` processes started from it."""

    def __init__(self, tmp: Path, url: str, server: Dovecot, user: str, smtp_port: int | None = None) -> None:
        self.tmp = tmp
        self.config = tmp / "gateway.toml"
        listen = f'[listen]\nsmtp = "127.0.0.1:{smtp_port}"\n' if smtp_port else ""
        self.config.write_text(
            f'[database]\nurl = "{url}"\n[desk]\naddress = "support@example.com"\ntechnicians = ["tech@example.com"]\n'
            f'{listen}[outbound]\nmaildir = "{tmp / "out"}"\n'
            f'[[imap]]\nname = "support"\nhost = "{server.host}"\nport = {server.port}\ntls = "none"\nuser = "{user}"\npassword = "secret"\n'
            'idle_renew_seconds = 60\nresync_seconds = 5\n'
        )
        self.procs: list[subprocess.Popen[bytes]] = []
        self.db = Database(url)

    def cli(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "gateway.cli", "--config", str(self.config), *args], check=True, cwd=ROOT, capture_output=True, timeout=60)

    def serve(self) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"serve-{len(self.procs)}.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "--config", str(self.config), "serve"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.tmp.glob("serve-*.log")))

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.db.dispose()

    def count(self, model: type, *where: object) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def gateway_factory(tmp_path: Path, database_url: str, dovecot: Dovecot) -> Iterator:  # noqa: F811
    made: list[Gateway] = []

    def make(user: str, smtp_port: int | None = None) -> Gateway:
        gw = Gateway(tmp_path, database_url, dovecot, user, smtp_port)
        gw.cli("account", "add", CUSTOMER, "--name", "Carol", "--edition", "standard", "--tz", "Europe/Berlin", "--country", "DE")
        gw.cli("points", "buy", CUSTOMER, "5000", "--at", "2026-01-01T00:00:00Z")
        made.append(gw)
        return gw

    yield make
    for gw in made:
        gw.close()


def append_many(server: Dovecot, user: str, raws: list[bytes]) -> None:
    with server.client(user) as c:
        for raw in raws:
            c.append("INBOX", raw, msg_time=AT)


def assert_each_once(gw: Gateway, raws: list[bytes], server: Dovecot, user: str) -> None:
    with gw.db.session() as s:
        rows = list(s.scalars(select(Inbound)))
        assert sorted(r.raw for r in rows) == sorted(raws)  # nothing lost, nothing twice
        assert all(r.status == "done" and r.outcome == "opened" for r in rows), {(r.status, r.outcome, r.reason) for r in rows}
        tickets_per_inbound = [len(r.tickets or []) for r in rows]
        assert tickets_per_inbound == [1] * len(raws)
        assert s.scalar(select(func.count()).select_from(Ticket)) == len(raws)
    assert len(server.uids(user, "Processed")) == len(raws)
    assert server.uids(user, "INBOX") == []


def test_kill_9_mid_batch_then_restart_loses_and_duplicates_nothing(gateway_factory, dovecot: Dovecot) -> None:  # noqa: F811
    user = new_user()
    gw = gateway_factory(user)
    raws = [message("kill", n) for n in range(120)]
    append_many(dovecot, user, raws)
    first = gw.serve()
    wait_until(lambda: gw.count(Inbound) >= 10, 60, "the first messages stored")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    # Killed after storing some messages and before moving all of them out: the
    # stored-but-not-moved ones are fetched again after the restart.
    assert gw.count(Inbound) >= 10 and len(dovecot.uids(user, "INBOX")) > 0, "the kill must land mid-batch"
    gw.serve()
    # The new process waits for the dead one's lease to expire (30 s), then finishes.
    wait_until(lambda: gw.count(Inbound, Inbound.status != "new") == len(raws) and not dovecot.uids(user, "INBOX"), 120, "every message stored and processed", interval=0.5)
    assert_each_once(gw, raws, dovecot, user)


def test_two_processes_on_one_database_read_one_mailbox_without_duplicates(gateway_factory, dovecot: Dovecot) -> None:  # noqa: F811
    user = new_user()
    gw = gateway_factory(user)
    gw.serve()
    gw.serve()
    # Both are up: one reads the mailbox, the other waits for the lease.
    wait_until(lambda: "connected to" in gw.logs() and "standing by" in gw.logs(), 60, "one reader and one standing by", interval=0.2)
    raws = [message("two", n) for n in range(40)]
    append_many(dovecot, user, raws)
    wait_until(lambda: gw.count(Inbound, Inbound.status != "new") == len(raws) and not dovecot.uids(user, "INBOX"), 60, "every message stored and processed", interval=0.2)
    assert_each_once(gw, raws, dovecot, user)
    assert gw.logs().count("connected to") == 1  # only one process ever read the mailbox


def test_same_message_by_smtp_and_imap_opens_one_ticket(gateway_factory, dovecot: Dovecot) -> None:  # noqa: F811
    user = new_user()
    port = free_port()
    gw = gateway_factory(user, smtp_port=port)
    gw.serve()
    raw = message("both", 1)
    dovecot.append(user, raw, at=AT)

    def smtp_sent() -> bool:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
                smtp.sendmail(CUSTOMER, ["support@example.com"], raw)
            return True
        except OSError:
            return False

    wait_until(smtp_sent, 30, "the SMTP listener to accept the message", interval=0.2)
    wait_until(lambda: len(dovecot.uids(user, "Processed")) == 1 and gw.count(Inbound, Inbound.status != "new") == 1, 30, "both copies taken in")
    assert gw.count(Inbound) == 1
    assert gw.count(Ticket) == 1
