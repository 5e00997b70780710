"""Deadlines on tickets, stated to the customer and watched for the technicians (P3, issue 8)."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from gateway.store.db import Database
from tests.conftest import add_account, config_mapping, run_cli, write_config


@pytest.fixture
def cfg(db: Database, db_url: str, tmp_path: Path) -> Path:
    add_account(db, "bayern@customer.example", 100, tz="Europe/Berlin", country="DE", subdiv="BY", at="2026-12-01T00:00:00Z")
    add_account(db, "ny@customer.example", 100, tz="America/New_York", country="US", at="2026-12-01T00:00:00Z")
    return write_config(tmp_path / "gateway.toml", config_mapping(db_url, tmp_path, desk={"technicians": ["tech1@example.com", "tech2@example.com"]}))


def ingest(cfg: Path, sender: str, at: str, n: int) -> int:
    raw = f"From: {sender}\nTo: support@example.com\nSubject: Problem {n}\nMessage-ID: <sla-{n}@customer.example>\n\nThe Scalix server fails to start (case {n}).\n".encode()
    out = json.loads(run_cli(cfg, "ingest", "-", "--received-at", at, "--json", input=raw).stdout)
    assert out["outcome"] == "opened", out
    return out["tickets"][0]


def outbox(cfg: Path) -> list[dict]:
    return json.loads(run_cli(cfg, "outbox", "list", "--json").stdout)


def test_ack_states_local_deadline_and_the_holiday_it_arrived_on(cfg: Path) -> None:
    # 6 January is Epiphany in Bavaria: the clock starts on the 7th at 09:00 CET.
    number = ingest(cfg, "bayern@customer.example", "2027-01-06T10:00:00Z", 1)
    show = json.loads(run_cli(cfg, "ticket", "show", str(number), "--json").stdout)
    assert show["first_response_due"] == "2027-01-07T12:00:00Z"
    [ack] = [o for o in outbox(cfg) if o["event"] == "ack"]
    assert "by Thursday 7 January 2027, 13:00 CET" in ack["body"]
    assert "outside our business hours (public holiday: Epiphany)" in ack["body"]


def test_each_technician_notice_is_sent_once_per_ticket(cfg: Path) -> None:
    # Logged Monday 09:30 EST (14:30Z): due 13:30 EST (18:30Z), warned an hour before (17:30Z).
    a = ingest(cfg, "ny@customer.example", "2027-03-01T14:30:00Z", 2)
    b = ingest(cfg, "ny@customer.example", "2027-03-01T14:45:00Z", 3)
    run_cli(cfg, "ticket", "respond", str(b), "--at", "2027-03-01T15:00:00Z")
    for now in ("2027-03-01T17:00:00Z", "2027-03-01T17:29:59Z", "2027-03-01T17:30:00Z", "2027-03-01T17:31:00Z", "2027-03-01T18:40:00Z", "2027-03-02T09:00:00Z"):
        run_cli(cfg, "tick", "--now", now)
        run_cli(cfg, "tick", "--now", now)  # twice: nothing may be sent twice
    events = Counter((o["event"], o["to"], o["subject"].split("]")[0]) for o in outbox(cfg) if o["event"].startswith("tech_"))
    for tech in ("tech1@example.com", "tech2@example.com"):
        assert events[("tech_new", tech, f"[#{a}")] == 1
        assert events[("tech_sla_warning", tech, f"[#{a}")] == 1
        assert events[("tech_sla_breach", tech, f"[#{a}")] == 1
        assert events[("tech_new", tech, f"[#{b}")] == 1
        # Ticket b had its first response in time: no warning, no breach.
        assert events[("tech_sla_warning", tech, f"[#{b}")] == 0
        assert events[("tech_sla_breach", tech, f"[#{b}")] == 0
    assert all(count == 1 for count in events.values())


def test_warning_is_not_sent_before_its_time(cfg: Path) -> None:
    a = ingest(cfg, "ny@customer.example", "2027-03-01T14:30:00Z", 4)
    run_cli(cfg, "tick", "--now", "2027-03-01T17:29:59Z")
    assert not [o for o in outbox(cfg) if o["event"] == "tech_sla_warning"]
    run_cli(cfg, "tick", "--now", "2027-03-01T17:30:00Z")
    assert len([o for o in outbox(cfg) if o["event"] == "tech_sla_warning" and f"[#{a}]" in o["subject"]]) == 2
