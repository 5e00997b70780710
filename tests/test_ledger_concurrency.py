"""Two gateway processes, one database, one account: no point is spent twice (P1, issue 3).

40 distinct messages of an account holding 50 points reach two ``serve`` processes at
once over SMTP. Exactly five tickets open, the balance ends at 0 and the ledger verifies.
"""
from __future__ import annotations

import smtplib
import threading
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import func, select

from gateway.store import accounts, ledger
from gateway.store.db import Database
from gateway.store.models import Inbound, Ticket
from tests.conftest import add_account, config_mapping, free_port, run_cli, write_config
from tests.daemon import start_serve, support_message, wait_for


def test_two_processes_never_overspend(db: Database, db_url: str, tmp_path: Path) -> None:
    add_account(db, "busy@customer.example", 50)
    ports = [free_port(), free_port()]
    servers = []
    for i, port in enumerate(ports):
        cfg = write_config(tmp_path / f"gateway{i}.toml", config_mapping(db_url, tmp_path, listen={"smtp": f"127.0.0.1:{port}"}))
        servers.append(start_serve(cfg, port))
    try:
        def send(port: int, start: int) -> None:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
                for n in range(start, 40, 2):
                    smtp.send_message(support_message("busy@customer.example", f"Problem number {n}", f"<busy-{n}@customer.example>", f"The Scalix server fails with error {n} when starting."))

        threads = [threading.Thread(target=send, args=(port, i)) for i, port in enumerate(ports)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)

        def all_processed() -> bool:
            with db.session() as s:
                return s.scalar(select(func.count()).select_from(Inbound).where(Inbound.status != "new")) == 40

        wait_for(all_processed, "40 messages processed", deadline=120, served=servers[0])
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(Ticket)) == 5
            account = accounts.require(s, "busy@customer.example")
            assert ledger.balance_now(s, account.id, datetime.now(timezone.utc)) == 0
            assert ledger.verify(s) == []
            outcomes = dict(s.execute(select(Inbound.outcome, func.count()).group_by(Inbound.outcome)).all())
        assert outcomes == {"opened": 5, "held": 35}
        assert run_cli(servers[0].config_path, "points", "verify").returncode == 0
    finally:
        for srv in servers:
            assert srv.stop() == 0, srv.log.read_text()
