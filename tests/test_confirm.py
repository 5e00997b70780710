"""P8 sender trust for spending points: confirm (default), reject, accept."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from gateway.store.db import Database
from tests.conftest import ROOT, add_account, config_mapping, run_cli, write_config

AT = "2026-12-02T10:00:00Z"
TRUSTED = "Authentication-Results: mx.example.com; dkim=pass header.d=customer.example; dmarc=pass header.from=customer.example\n"


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    copy = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", copy)
    return copy


def make_cfg(db_url: str, tmp_path: Path, rules: Path) -> Path:
    return write_config(tmp_path / "gateway.toml", config_mapping(db_url, tmp_path, desk={"rules_dir": str(rules)}, trust={"authserv_ids": ["mx.example.com"]}))


def ingest(cfg: Path, n: int, headers: str = "", to: str = "support@example.com", at: str = AT, sender: str = "acme@customer.example") -> dict:
    raw = f"{headers}From: {sender}\nTo: {to}\nSubject: Server down {n}\nMessage-ID: <conf-{n}@customer.example>\n\nThe Scalix server does not start.\n".encode()
    return json.loads(run_cli(cfg, "ingest", "-", "--received-at", at, "--recipient", to, "--json", input=raw).stdout)


def balance(cfg: Path) -> int:
    return json.loads(run_cli(cfg, "points", "balance", "acme@customer.example", "--at", "2026-12-03T00:00:00Z", "--json").stdout)["balance"]


def test_unauthenticated_request_waits_for_a_confirmation_reply(db: Database, db_url: str, tmp_path: Path, rules: Path) -> None:
    add_account(db, "acme@customer.example", 30, at="2026-11-01T00:00:00Z")
    cfg = make_cfg(db_url, tmp_path, rules)
    out = ingest(cfg, 1)
    assert out["outcome"] == "held" and "confirmation sent to acme@customer.example" in out["reason"]
    assert balance(cfg) == 30
    [ask] = [o for o in json.loads(run_cli(cfg, "outbox", "list", "--json").stdout) if o["event"] == "confirm_request"]
    assert ask["to"] == "acme@customer.example"
    token_address = re.search(r"support\+c[0-9a-f]{32}@example\.com", ask["headers"]["Reply-To"]).group(0)
    # A guessed confirmation address confirms nothing: it is new, unauthenticated mail.
    guessed = ingest(cfg, 2, to="support+c" + "0" * 32 + "@example.com", at="2026-12-02T10:30:00Z")
    assert guessed["outcome"] == "held" and balance(cfg) == 30
    # The reply to the real one opens the request, charged once.
    reply = ingest(cfg, 3, to=token_address, at="2026-12-02T11:00:00Z")
    assert reply["outcome"] == "opened" and len(reply["tickets"]) == 1
    assert balance(cfg) == 20
    again = ingest(cfg, 4, to=token_address, at="2026-12-02T11:05:00Z")
    assert again["outcome"] == "ignored"
    show = json.loads(run_cli(cfg, "ticket", "show", str(reply["tickets"][0]), "--json").stdout)
    assert show["logged_at"] == "2026-12-02T10:00:00Z" and show["opened_at"] == "2026-12-02T11:00:00Z"


def test_authenticated_sender_opens_at_once(db: Database, db_url: str, tmp_path: Path, rules: Path) -> None:
    add_account(db, "acme@customer.example", 30, at="2026-11-01T00:00:00Z")
    cfg = make_cfg(db_url, tmp_path, rules)
    out = ingest(cfg, 5, headers=TRUSTED)
    assert out["outcome"] == "opened"
    # The same verdict from a host we do not trust counts for nothing.
    forged = ingest(cfg, 6, headers=TRUSTED.replace("mx.example.com", "mx.attacker.example"))
    assert forged["outcome"] == "held"


def test_reject_mode_opens_nothing(db: Database, db_url: str, tmp_path: Path, rules: Path) -> None:
    add_account(db, "acme@customer.example", 30, at="2026-11-01T00:00:00Z")
    policy = rules / "policy.toml"
    policy.write_text(policy.read_text().replace('unauthenticated = "confirm"', 'unauthenticated = "reject"'))
    cfg = make_cfg(db_url, tmp_path, rules)
    out = ingest(cfg, 7)
    assert out["outcome"] == "rejected" and out["tickets"] == []
    assert balance(cfg) == 30
