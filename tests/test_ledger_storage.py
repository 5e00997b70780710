"""The ledger in storage, through the CLI an admin uses (P1), on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.store.db import Database
from tests.conftest import config_mapping, run_cli, write_config


@pytest.fixture
def cfg(db: Database, db_url: str, tmp_path: Path) -> Path:
    path = write_config(tmp_path / "gateway.toml", config_mapping(db_url, tmp_path))
    run_cli(path, "account", "add", "acme@customer.example", "--name", "Acme", "--edition", "standard", "--tz", "Europe/Berlin", "--country", "DE")
    run_cli(path, "account", "add", "cardco@customer.example", "--name", "CardCo", "--edition", "enterprise", "--tz", "UTC", "--country", "GB", "--refund", "card")
    return path


def ingest(cfg: Path, sender: str, subject: str, at: str, body: str = "The Scalix server does not start after the upgrade.") -> dict:
    raw = f"From: {sender}\nTo: support@example.com\nSubject: {subject}\nMessage-ID: <{abs(hash((subject, at)))}@customer.example>\n\n{body}\n".encode()
    return json.loads(run_cli(cfg, "ingest", "-", "--received-at", at, "--json", input=raw).stdout)


def bal(cfg: Path, who: str, at: str) -> int:
    return json.loads(run_cli(cfg, "points", "balance", who, "--at", at, "--json").stdout)["balance"]


def test_expiry_multilot_debit_bug_credit_after_expiry(cfg: Path) -> None:
    run_cli(cfg, "points", "buy", "acme@customer.example", "4", "--at", "2026-01-10T12:00:00Z")
    run_cli(cfg, "points", "buy", "acme@customer.example", "20", "--at", "2026-06-01T12:00:00Z")
    assert bal(cfg, "acme@customer.example", "2026-07-01T00:00:00Z") == 24
    # One ticket takes 4 from the lot that expires first and 6 from the next.
    out = ingest(cfg, "acme@customer.example", "Server down", "2026-12-01T10:00:00Z")
    assert out["outcome"] == "opened"
    [number] = out["tickets"]
    statement = json.loads(run_cli(cfg, "points", "statement", "acme@customer.example", "--json").stdout)
    debit = [e for e in statement["entries"] if e["kind"] == "debit"][0]
    assert sorted(p["points"] for p in debit["lots"]) == [-6, -4]
    assert bal(cfg, "acme@customer.example", "2026-12-01T10:00:01Z") == 14
    # The first lot (now empty) expires across the year boundary; an unspent lot of
    # another account expires too, and timed work records that as a ledger entry.
    run_cli(cfg, "points", "buy", "cardco@customer.example", "7", "--at", "2026-01-10T12:00:00Z")
    assert bal(cfg, "cardco@customer.example", "2027-01-10T11:59:59Z") == 7
    run_cli(cfg, "tick", "--now", "2027-01-10T12:00:00Z")
    assert bal(cfg, "acme@customer.example", "2027-01-10T12:00:00Z") == 14
    assert bal(cfg, "cardco@customer.example", "2027-01-10T12:00:00Z") == 0
    card = json.loads(run_cli(cfg, "points", "statement", "cardco@customer.example", "--json").stdout)["entries"]
    assert [(e["kind"], e["points"], e["at"]) for e in card] == [("purchase", 7, "2026-01-10T12:00:00Z"), ("expiry", -7, "2027-01-10T12:00:00Z")]
    # Bug credit after that lot expired: 6 go back to their lot, 4 come back as a new lot.
    run_cli(cfg, "points", "credit", str(number), "--reason", "bug", "--at", "2027-02-01T00:00:00Z")
    assert bal(cfg, "acme@customer.example", "2027-02-01T00:00:00Z") == 24
    lots = json.loads(run_cli(cfg, "points", "balance", "acme@customer.example", "--at", "2027-02-01T00:00:00Z", "--json").stdout)["lots"]
    assert sorted((l["source"], l["remaining"]) for l in lots) == [("credit", 4), ("purchase", 20)]
    [new_lot] = [l for l in lots if l["source"] == "credit"]
    assert new_lot["expires_at"] == "2028-02-01T00:00:00Z"
    # The credit is made once, however often it is asked for.
    run_cli(cfg, "points", "credit", str(number), "--reason", "bug", "--at", "2027-02-02T00:00:00Z")
    assert bal(cfg, "acme@customer.example", "2027-02-02T00:00:00Z") == 24
    assert run_cli(cfg, "points", "verify").returncode == 0
    kinds = [e["kind"] for e in json.loads(run_cli(cfg, "points", "statement", "acme@customer.example", "--json").stdout)["entries"]]
    assert kinds == ["purchase", "purchase", "debit", "credit"]


def test_card_refund_account_gets_a_refund_request_not_points(cfg: Path) -> None:
    run_cli(cfg, "points", "buy", "cardco@customer.example", "10", "--at", "2026-03-01T00:00:00Z")
    [number] = ingest(cfg, "cardco@customer.example", "Mail stuck", "2026-03-02T10:00:00Z")["tickets"]
    run_cli(cfg, "points", "credit", str(number), "--reason", "bug", "--at", "2026-03-03T00:00:00Z")
    assert bal(cfg, "cardco@customer.example", "2026-03-03T00:00:01Z") == 0
    statement = json.loads(run_cli(cfg, "points", "statement", "cardco@customer.example", "--json").stdout)
    [refund] = [e for e in statement["entries"] if e["kind"] == "refund_request"]
    assert refund["refund_points"] == 10 and refund["points"] == 0
    outbox = json.loads(run_cli(cfg, "outbox", "list", "--json").stdout)
    assert [o["to"] for o in outbox if o["event"] == "refund_request"] == ["billing@example.com"]


def test_held_request_opens_when_points_arrive_and_lapses_otherwise(cfg: Path) -> None:
    out = ingest(cfg, "acme@customer.example", "No points yet", "2026-05-04T08:00:00Z")
    assert out["outcome"] == "held"
    run_cli(cfg, "points", "buy", "acme@customer.example", "10", "--at", "2026-05-06T10:00:00Z")
    [t] = json.loads(run_cli(cfg, "ticket", "list", "--json").stdout)
    assert t["opened_at"] == "2026-05-06T10:00:00Z" and t["logged_at"] == "2026-05-04T08:00:00Z"
    # The SLA clock runs from the opening at 12:00 CEST: four business hours later is 16:00 CEST.
    assert t["first_response_due"] == "2026-05-06T14:00:00Z"
    second = ingest(cfg, "acme@customer.example", "Another", "2026-05-07T08:00:00Z")
    assert second["outcome"] == "held"
    report = json.loads(run_cli(cfg, "tick", "--now", "2026-05-22T00:00:00Z", "--json").stdout)
    assert report["lapsed_holds"] == 1
    assert any(o["event"] == "hold_lapsed" for o in json.loads(run_cli(cfg, "outbox", "list", "--json").stdout))


def test_adjust_import_and_verify(cfg: Path, tmp_path: Path) -> None:
    csv_path = tmp_path / "billing.csv"
    csv_path.write_text(
        "email,points,purchased_at,reference\n"
        "acme@customer.example,30,2026-02-01T00:00:00Z,INV-1\n"
        "nobody@nowhere.example,10,2026-02-01T00:00:00Z,INV-2\n"
        "acme@customer.example,notanumber,2026-02-01T00:00:00Z,INV-3\n"
        "acme@customer.example,20,2026-03-01T00:00:00Z,INV-4\n"
    )
    first = run_cli(cfg, "points", "import", str(csv_path), check=False)
    assert first.returncode == 1
    assert f"{csv_path}:3:" in first.stderr.decode() and f"{csv_path}:4:" in first.stderr.decode()
    assert bal(cfg, "acme@customer.example", "2026-03-02T00:00:00Z") == 50
    run_cli(cfg, "points", "import", str(csv_path), check=False)  # idempotent on reference
    assert bal(cfg, "acme@customer.example", "2026-03-02T00:00:00Z") == 50
    run_cli(cfg, "points", "adjust", "acme@customer.example", "-5", "--reason", "goodwill reversal", "--by", "ops@example.com", "--at", "2026-03-03T00:00:00Z")
    statement = json.loads(run_cli(cfg, "points", "statement", "acme@customer.example", "--json").stdout)
    adj = statement["entries"][-1]
    assert adj["kind"] == "adjustment" and adj["points"] == -5 and adj["actor"] == "ops@example.com" and adj["reason"] == "goodwill reversal"
    assert run_cli(cfg, "points", "verify").returncode == 0


def test_verify_detects_a_tampered_lot(cfg: Path, db: Database) -> None:
    from sqlalchemy import update

    from gateway.store.models import Lot

    run_cli(cfg, "points", "buy", "acme@customer.example", "10", "--at", "2026-02-01T00:00:00Z")
    db.write(lambda s: s.execute(update(Lot).values(remaining=99)))
    proc = run_cli(cfg, "points", "verify", check=False, child=True)
    assert proc.returncode == 1 and b"ledger says 10" in proc.stdout
