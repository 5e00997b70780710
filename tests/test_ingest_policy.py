"""Policy decisions through `ingest`, as an admin or an MTA pipe drives it (issues 3, 4, 6).

Balance by mail, expiry warnings, declined and not-current requests (no charge), feature
requests, combined requests split or rejected, and a rules folder edited on the spot.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gateway.store.db import Database
from tests.conftest import ROOT, add_account, config_mapping, run_cli, write_config

AT = "2026-12-02T10:00:00Z"  # a Wednesday, business hours in Berlin


@pytest.fixture
def cfg(db: Database, db_url: str, tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    add_account(db, "acme@customer.example", 40, at="2026-11-01T00:00:00Z")
    return write_config(tmp_path / "gateway.toml", config_mapping(db_url, tmp_path, desk={"rules_dir": str(rules)}))


def ingest(cfg: Path, subject: str, body: str, n: int, sender: str = "acme@customer.example", at: str = AT) -> dict:
    raw = f"From: {sender}\nTo: support@example.com\nSubject: {subject}\nMessage-ID: <pol-{n}@customer.example>\n\n{body}\n".encode()
    return json.loads(run_cli(cfg, "ingest", "-", "--received-at", at, "--json", input=raw).stdout)


def balance(cfg: Path) -> int:
    return json.loads(run_cli(cfg, "points", "balance", "acme@customer.example", "--at", "2026-12-03T00:00:00Z", "--json").stdout)["balance"]


def outbox(cfg: Path) -> list[dict]:
    return json.loads(run_cli(cfg, "outbox", "list", "--json").stdout)


def test_declined_and_not_current_requests_cost_nothing(cfg: Path) -> None:
    out = ingest(cfg, "Sizing", "How should we size our servers for 5,000 users?", 1)
    assert out["outcome"] == "declined" and out["category"] == "capacity_planning" and out["tickets"] == []
    out = ingest(cfg, "Relay", "What is the right Postfix relay config for our Exchange server? What do you recommend?", 2)
    assert out["outcome"] == "declined" and out["category"] == "non_vendor_software"
    out = ingest(cfg, "Old release", "Our Scalix 11.4.6 server crashes on start.", 3)
    assert out["outcome"] == "rejected" and out["category"] == "not_current"
    assert balance(cfg) == 40
    replies = {o["event"]: o for o in outbox(cfg)}
    assert "Professional Services" in replies["declined"]["body"]
    assert "12." in replies["not_current"]["body"]  # the current releases are listed
    # In scope, even though it mentions a server: opens and records the decision.
    out = ingest(cfg, "Crash", "Scalix server crashes on start after upgrade.", 4)
    assert out["outcome"] == "opened"
    show = json.loads(run_cli(cfg, "ticket", "show", str(out["tickets"][0]), "--json").stdout)
    assert show["explanation"]["scope"]["action"] == "accept"
    assert balance(cfg) == 30


def test_feature_request_opens_a_feature_ticket(cfg: Path) -> None:
    out = ingest(cfg, "Idea", "Feature request: it would be great if Scalix Web Access could show calendars side by side.", 5)
    assert out["outcome"] == "opened"
    show = json.loads(run_cli(cfg, "ticket", "show", str(out["tickets"][0]), "--json").stdout)
    assert show["kind"] == "feature" and show["points_charged"] == 10


def test_a_rule_edited_in_the_rules_folder_takes_effect(cfg: Path, tmp_path: Path) -> None:
    scope = tmp_path / "rules" / "scope.toml"
    text = scope.read_text()
    # Decline everything about mobile devices as non-vendor software, first of all rules.
    rule = '[[rule]]\nid = "test-decline-mobile"\ndescription = "test rule"\naction = "decline"\ncategory = "non_vendor_software"\nwhen.text_matches = "(?i)blackberry"\n\n'
    first = text.index("\n[[rule]]\n") + 1
    scope.write_text(text[:first] + rule + text[first:])
    check = run_cli(cfg, "rules", "check", check=False)
    if check.returncode != 0:
        pytest.fail(f"the test's rule does not fit the shipped format: {check.stderr.decode()}")
    out = ingest(cfg, "Phones", "Our BlackBerry devices stopped syncing mail.", 6)
    assert out["outcome"] == "declined"
    assert "test-decline-mobile" in json.dumps(out)
    # A broken rule file is refused with its file and rule named.
    scope.write_text(text[:first] + rule.replace("(?i)blackberry", "(unclosed") + text[first:])
    bad = run_cli(cfg, "rules", "check", check=False)
    assert bad.returncode == 78
    assert "scope.toml" in bad.stderr.decode() and "test-decline-mobile" in bad.stderr.decode()


def test_combined_request_is_split_and_charged_per_issue(cfg: Path) -> None:
    body = "Hello,\n\n1. IMAP sync fails on the Scalix server since the upgrade, clients show error 500.\n2. How do I set up LDAP authentication for Scalix Web Access?\n\nThanks"
    out = ingest(cfg, "Two things", body, 7)
    assert out["outcome"] == "opened" and len(out["tickets"]) == 2
    assert balance(cfg) == 20
    acks = [o for o in outbox(cfg) if o["event"] == "ack"]
    assert len(acks) == 2 and all("issue" in a["body"] and "of 2" in a["body"] for a in acks)
    assert all("not a separate issue, reply" in a["body"] for a in acks)  # the way back from a wrong cut (#merge)
    techs = [o for o in outbox(cfg) if o["event"] == "tech_new"]
    assert len(techs) == 2 and all("of 2 that the gateway found" in t["body"] and "#merge" in t["body"] for t in techs)
    # A reply quoting the numbered list is a free reply, never split.
    reply = "Any news?\n\nOn Wed, 2 Dec 2026 at 11:00, Acme wrote:\n> 1. IMAP sync fails\n> 2. How do I set up LDAP?\n"
    raw = f"From: acme@customer.example\nTo: support@example.com\nSubject: Re: [#{out['tickets'][0]}] Two things\nIn-Reply-To: <pol-7@customer.example>\nMessage-ID: <pol-8@customer.example>\n\n{reply}\n".encode()
    again = json.loads(run_cli(cfg, "ingest", "-", "--received-at", "2026-12-02T12:00:00Z", "--json", input=raw).stdout)
    assert again["outcome"] == "appended"
    assert balance(cfg) == 20


def test_a_message_kept_whole_shows_the_technician_where_another_issue_may_begin(cfg: Path) -> None:
    body = (
        "Since this morning no mail reaches the shared sales mailbox; senders get no bounce either.\n\n"
        "Also, the queue on the relay looks full of deferred messages."
    )
    out = ingest(cfg, "Sales mailbox", body, 11)
    assert out["outcome"] == "opened" and len(out["tickets"]) == 1 and balance(cfg) == 30
    (tech,) = [o for o in outbox(cfg) if o["event"] == "tech_new"]
    assert "saw signs of another" in tech["body"] and '"Also, the queue on the relay' in tech["body"] and "#split" in tech["body"]
    shown = json.loads(run_cli(cfg, "ticket", "show", str(out["tickets"][0]), "--json").stdout)
    assert shown["explanation"]["split_hints"][0]["signals"] == ["marker.also", "topic.shift"]


def test_split_the_balance_cannot_cover_opens_nothing(cfg: Path) -> None:
    run_cli(cfg, "points", "adjust", "acme@customer.example", "-25", "--reason", "test", "--at", "2026-12-01T00:00:00Z")
    body = "Hello,\n\n1. IMAP sync fails on the Scalix server since the upgrade, clients show error 500.\n2. How do I set up LDAP authentication for Scalix Web Access?\n\nThanks"
    out = ingest(cfg, "Two more", body, 9)
    assert out["outcome"] == "held" and out["tickets"] == []
    assert "20 points needed, 15 on hand" in out["reason"]
    [notice] = [o for o in outbox(cfg) if o["event"] == "insufficient_points"]
    assert "takes 20 points" in notice["body"] and "1. " in notice["body"] and "2. " in notice["body"]


def test_combined_reject_mode(cfg: Path, tmp_path: Path) -> None:
    policy = tmp_path / "rules" / "policy.toml"
    policy.write_text(policy.read_text().replace('combined = "split"', 'combined = "reject"'))
    body = "Hello,\n\n1. IMAP sync fails on the Scalix server since the upgrade, clients show error 500.\n2. How do I set up LDAP authentication for Scalix Web Access?\n\nThanks"
    out = ingest(cfg, "Two more", body, 10)
    assert out["outcome"] == "rejected" and out["tickets"] == []
    [reply] = [o for o in outbox(cfg) if o["event"] == "combined_rejected"]
    assert "--- Issue 1 ---" in reply["body"] and "--- Issue 2 ---" in reply["body"]
    assert balance(cfg) == 40


def test_balance_by_mail_and_expiry_warning_once_per_lot(cfg: Path) -> None:
    out = ingest(cfg, "Re: balance", "", 11)
    assert out["outcome"] == "answered" and out["tickets"] == []
    [reply] = [o for o in outbox(cfg) if o["event"] == "balance"]
    assert "your balance is 40 points" in reply["body"]
    # The lot expires 2027-11-01; warned 30 days before, once.
    for now in ("2027-10-01T00:00:00Z", "2027-10-02T00:00:01Z", "2027-10-05T00:00:00Z"):
        run_cli(cfg, "tick", "--now", now)
    warnings = [o for o in outbox(cfg) if o["event"] == "expiry_warning"]
    assert len(warnings) == 1 and "40 support points expire on 2027-11-01" in warnings[0]["subject"]


def test_attachments_go_with_every_ticket_of_a_split(cfg: Path) -> None:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "acme@customer.example"
    msg["To"] = "support@example.com"
    msg["Subject"] = "Two things, logs attached"
    msg["Message-ID"] = "<pol-att@customer.example>"
    msg.set_content("Hello,\n\n1. IMAP sync fails on the Scalix server since the upgrade, clients show error 500.\n2. How do I set up LDAP authentication for Scalix Web Access?\n\nThanks")
    msg.add_attachment(b"log line\n", maintype="text", subtype="plain", filename="server.log")
    out = json.loads(run_cli(cfg, "ingest", "-", "--received-at", AT, "--json", input=msg.as_bytes()).stdout)
    assert out["outcome"] == "opened" and len(out["tickets"]) == 2
    for number in out["tickets"]:
        show = json.loads(run_cli(cfg, "ticket", "show", str(number), "--json").stdout)
        [first] = [m for m in show["messages"] if m["direction"] == "in"]
        assert [a["filename"] for a in first["attachments"]] == ["server.log"]
