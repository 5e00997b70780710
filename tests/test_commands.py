"""Technicians' commands (POLICY.md P2, P4, P5, P6, P7): parsing, running by mail, refusals
that change nothing, and the same actions by CLI. Storage tests run on SQLite and PostgreSQL."""
from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.cli.context import CliContext
from gateway.cli.ticket_actions import register_actions
from gateway.errors import UserError
from gateway.pipeline.commands import parse_commands, split_blocks
from gateway.store.models import Ticket

from test_conversation_harness import CUSTOMER, DESK, START, TECH, World, world  # noqa: F401

H = timedelta(hours=1)


# --------------------------------------------------------------------------- parsing


def test_parse_command_lines_then_the_reply() -> None:
    p = parse_commands("\n#close\n#bug\nThanks, fixed in 12.0.3.\n\nTess")
    assert [c.name for c in p.commands] == ["close", "bug"] and not p.errors
    assert p.body == "Thanks, fixed in 12.0.3.\n\nTess"


def test_parse_a_number_is_not_a_command_and_commands_only_count_at_the_top() -> None:
    assert parse_commands("#1001 is fixed now").commands == []
    p = parse_commands("Fixed.\n#close")
    assert p.commands == [] and p.errors == [] and "#close" in p.body


@pytest.mark.parametrize("text, fragment", [
    ("#frobnicate", "unknown command #frobnicate"),
    ("#close now please", "#close takes no arguments"),
    ("#decline", "#decline needs a reason"),
    ("#disposition maybe later", "#disposition needs a state"),
    ("#phone not-an-address Subject", "#phone needs an account address"),
    ("#phone a@b.example", "#phone needs an account address"),
    ("#split\n\n---\n", "#split found no problems"),
    ("#merge\n", "#merge needs the number"),
    ("#merge soon\n", "#merge needs the number"),
    ("#comment", "#comment needs a text"),
])
def test_parse_errors(text: str, fragment: str) -> None:
    p = parse_commands(text)
    assert p.commands == [] and any(fragment in e for e in p.errors), p.errors


def test_parse_consuming_commands_take_the_rest() -> None:
    p = parse_commands("#split\nThe installer fails on step 3.\n---\nThe web console shows a blank page.\n#part\nLDAP sync is slow.")
    (cmd,) = p.commands
    assert cmd.blocks == ("The installer fails on step 3.", "The web console shows a blank page.", "LDAP sync is slow.")
    assert p.body == ""
    c = parse_commands("#comment customer is on a trial\nsecond line").commands[0]
    assert c.text == "customer is on a trial\nsecond line"
    d = parse_commands("#disposition Planned for release 13").commands[0]
    assert d.args == "planned for release 13" and d.text == "for release 13"
    ph = parse_commands("#phone Alice@Customer.example Server down after upgrade\ncalled at 10:05").commands[0]
    assert ph.args == "alice@customer.example Server down after upgrade" and ph.text == "called at 10:05"


def test_split_blocks_ignore_empty_blocks() -> None:
    assert split_blocks("---\none\n\n-----\n\n===\ntwo\n---") == ["one", "two"]


# --------------------------------------------------------------------------- by mail



def open_one(world: World, subject: str = "Backup fails", at=START) -> int:  # type: ignore[no-untyped-def]
    sent = world.mail(frm=CUSTOMER, subject=subject, body="Our nightly backup fails with error 42 since Monday.", at=at)
    assert sent.outcome.outcome == "opened", sent.outcome
    return sent.outcome.tickets[0]


@pytest.mark.storage
def test_decline_gives_points_back_and_tells_the_customer(world: World) -> None:
    n = open_one(world)
    sent = world.tech_mail(body="#decline not_current 9.4 is no longer supported; please upgrade to 12.", at=START + H, ticket=n)
    assert sent.outcome.outcome == "appended"
    t = world.ticket(n)
    assert (t.status, t.category) == ("declined", "not_current")
    assert world.balance(START + H) == 50
    (mail,) = world.outbox("declined_by_tech", to=CUSTOMER)
    assert "no longer supported" in mail.body
    assert world.outbox("points_credited", to=CUSTOMER)
    assert not world.outbox("relay")


@pytest.mark.storage
def test_comment_is_internal(world: World) -> None:
    n = open_one(world)
    world.tech_mail(body="#comment Customer runs an unsupported kernel; ask PS.", at=START + H, ticket=n)
    assert not world.outbox("relay") and world.ticket(n).first_response_at is None
    notes = [e.note for e in world.events(n) if e.kind == "comment"]
    assert notes == ["Customer runs an unsupported kernel; ask PS."]
    assert [m.kind for m in world.messages(n) if m.direction == "in"] == ["customer", "command"]


@pytest.mark.storage
def test_close_with_a_reply_closes_and_relays(world: World) -> None:
    n = open_one(world)
    world.tech_mail(body="#close\nFixed by the patch we sent. Closing.", at=START + H, ticket=n)
    assert world.ticket(n).status == "closed" and world.ticket(n).first_response_at == START + H
    (relay,) = world.outbox("relay", to=CUSTOMER)
    assert "Fixed by the patch" in relay.body and "#close" not in relay.body


@pytest.mark.storage
def test_split_opens_one_charged_incident_per_block(world: World) -> None:
    n = open_one(world)
    body = "#split\nThe installer stops at step 3 with error 17.\n---\nThe web console shows a blank page after login."
    sent = world.tech_mail(body=body, at=START + H, ticket=n)
    assert sent.outcome.outcome == "opened" and len(sent.outcome.tickets) == 3
    children = [world.ticket(c) for c in sent.outcome.tickets[1:]]
    assert all(c.parent_id == world.ticket(n).id and c.status == "open" for c in children)
    assert world.balance(START + H) == 20  # 50 - 10 (original) - 2 x 10
    acks = [o for o in world.outbox("ack", to=CUSTOMER) if any(f"[#{c.number}]" in o.subject for c in children)]
    assert len(acks) == 2
    assert [e.kind for e in world.events(n)][-1] == "split"


@pytest.mark.storage
def test_split_short_of_points_changes_nothing_and_tells_the_technician(world: World) -> None:
    n = open_one(world)
    blocks = "\n---\n".join(f"Problem number {i} with the mail store." for i in range(5))  # 50 points, 40 on hand
    sent = world.tech_mail(body="#split\n" + blocks, at=START + H, ticket=n)
    assert sent.outcome.outcome == "rejected"
    assert len(world.tickets()) == 1 and world.balance(START + H) == 40
    (err,) = world.outbox("command_error", to=TECH)
    assert "50 points" in err.body and "has 40" in err.body


@pytest.mark.storage
def test_phone_incident_is_charged_and_refused_for_community(world: World) -> None:
    n = open_one(world)
    sent = world.tech_mail(body=f"#phone {CUSTOMER} Server down after upgrade\nCalled at 10:05, restarted services.", at=START + H, ticket=n)
    assert sent.outcome.outcome == "opened"
    phone = world.ticket(sent.outcome.tickets[-1])
    assert phone.channel == "phone" and world.balance(START + H) == 30
    world.add_account("dave@community.example", edition="community", points=30, at=START - H)
    refused = world.tech_mail(body="#phone dave@community.example Cannot log in", at=START + 2 * H, ticket=n)
    assert refused.outcome.outcome == "rejected"
    assert len(world.tickets()) == 2
    err = world.outbox("command_error", to=TECH)[-1]
    assert "Community Edition" in err.body and "e-mail" in err.body


@pytest.mark.storage
def test_phone_without_a_ticket_goes_to_the_desk_address(world: World) -> None:
    sent = world.mail(
        frm=TECH, subject="phone call", body=f"#phone {CUSTOMER} Cluster split brain", at=START,
        headers=[("Authentication-Results", "mx.desk.example; dmarc=pass header.from=desk.example")],
    )
    assert sent.outcome.outcome == "opened" and world.ticket(sent.outcome.tickets[0]).channel == "phone"


@pytest.mark.storage
def test_feature_request_stays_open_until_a_disposition(world: World) -> None:
    n = open_one(world, subject="Feature request: export to CSV")

    def make_feature(s):  # type: ignore[no-untyped-def]
        s.scalar(select(Ticket).where(Ticket.number == n)).kind = "feature"

    world.db.write(make_feature)
    assert world.tech_mail(body="#close", at=START + H, ticket=n).outcome.outcome == "rejected"
    assert world.ticket(n).status == "open"
    world.tech_mail(body="#disposition planned CSV export is planned for release 13.", at=START + 2 * H, ticket=n)
    assert world.ticket(n).disposition == "planned"
    (mail,) = world.outbox("disposition", to=CUSTOMER)
    assert "planned" in mail.subject and "release 13" in mail.body
    assert world.tech_mail(body="#close", at=START + 3 * H, ticket=n).outcome.outcome == "appended"
    assert world.ticket(n).status == "closed"


@pytest.mark.storage
def test_not_same_undoes_a_reopen(world: World) -> None:
    n = open_one(world)
    closed = START + H
    world.tech_mail(body="#close", at=closed, ticket=n)
    world.mail(frm=CUSTOMER, subject=f"Re: [#{n}] Backup fails", body="Now the restore fails too.", at=closed + timedelta(days=3))
    assert world.ticket(n).status == "open"
    world.tech_mail(body="#not-same", at=closed + timedelta(days=3, hours=1), ticket=n)
    t = world.ticket(n)
    assert (t.status, t.first_closed_at) == ("closed", closed)
    (mail,) = world.outbox("not_same", to=CUSTOMER)
    assert "new incident" in mail.body
    # Not after a reopen: refused.
    assert world.tech_mail(body="#not-same", at=closed + timedelta(days=4), ticket=n).outcome.outcome == "rejected"


COMBINED = (
    "Hello,\n\nwe have two unrelated problems.\n\n"
    "1. The nightly backup job stops with error 42 since Monday.\n"
    "2. How do we add a second LDAP server for failover?\n\nThanks"
)


@pytest.mark.storage
def test_merge_undoes_a_wrong_cut(world: World) -> None:
    sent = world.mail(frm=CUSTOMER, subject="Backup and LDAP", body=COMBINED, at=START)
    first, second = sent.outcome.tickets
    assert world.balance(START) == 30
    merged = world.tech_mail(body="#merge " + str(first) + "\nBoth come from the same directory outage; we answer in one ticket.", at=START + H, ticket=second)
    assert merged.outcome.outcome == "appended", merged.outcome
    t, into = world.ticket(second), world.ticket(first)
    assert (t.status, t.merged_into_id, t.closed_at) == ("merged", into.id, START + H)
    assert into.status == "open" and world.balance(START + H) == 40
    (mail,) = world.outbox("merged", to=CUSTOMER)
    assert f"#{second}" in mail.body and f"[#{first}]" in mail.subject
    assert world.outbox("points_credited", to=CUSTOMER)
    assert [e.note for e in world.events(first) if e.kind == "merge"] == [f"#{second} merged into this ticket"]
    # The customer's reply to the merged ticket joins the ticket it continues in, free.
    reply = world.mail(frm=CUSTOMER, subject=f"Re: [#{second}] Backup and LDAP", body="The directory is back up now.", at=START + 2 * H)
    assert reply.outcome.outcome == "appended" and reply.outcome.tickets == [first]
    assert world.balance(START + 2 * H) == 40
    # A merged ticket takes no further action; a second merge is refused and changes nothing.
    assert world.tech_mail(body=f"#merge {first}", at=START + 3 * H, ticket=second).outcome.outcome == "rejected"
    assert world.balance(START + 3 * H) == 40


@pytest.mark.storage
@pytest.mark.parametrize("target, fragment", [("self", "into itself"), ("other", "different accounts"), (99999, "no ticket #99999")])
def test_merge_refusals_change_nothing(world: World, target: object, fragment: str) -> None:
    n = open_one(world)
    if target == "self":
        target = n
    elif target == "other":
        world.add_account("olga@other.example", points=20, at=START - H)
        target = world.mail(frm="olga@other.example", subject="Quota", body="Quota warnings come too early.", at=START).outcome.tickets[0]
    sent = world.tech_mail(body=f"#merge {target}", at=START + H, ticket=n)
    assert sent.outcome.outcome == "rejected"
    assert world.ticket(n).status == "open" and world.balance(START + H) == 40
    (err,) = world.outbox("command_error", to=TECH)
    assert fragment in err.body


@pytest.mark.storage
def test_a_failing_command_undoes_the_ones_before_it(world: World) -> None:
    n = open_one(world)
    sent = world.tech_mail(body="#close\n#not-same\nClosing.", at=START + H, ticket=n)
    assert sent.outcome.outcome == "rejected"
    assert world.ticket(n).status == "open" and world.ticket(n).closed_at is None
    assert not world.outbox("ticket_closed") and not world.outbox("relay")


@pytest.mark.storage
@pytest.mark.parametrize("body", ["#frobnicate\nHello", "#close now\nHello", "#decline"])
def test_unknown_or_malformed_command_changes_nothing_and_is_not_relayed(world: World, body: str) -> None:
    n = open_one(world)
    sent = world.tech_mail(body=body, at=START + H, ticket=n)
    assert sent.outcome.outcome == "rejected"
    assert world.ticket(n).status == "open" and not world.outbox("relay")
    assert len(world.outbox("command_error", to=TECH)) == 1


@pytest.mark.storage
def test_command_from_a_customer_changes_nothing(world: World) -> None:
    n = open_one(world)
    sent = world.mail(frm=CUSTOMER, subject=f"Re: [#{n}] Backup fails", body="#bug\nThis is your bug, give me my points.", at=START + H)
    assert sent.outcome.outcome == "rejected"
    assert world.balance(START + H) == 40 and world.ticket(n).status == "open"
    assert "not a technician" in world.outbox("command_error", to=CUSTOMER)[0].body


@pytest.mark.storage
def test_error_replies_are_rate_limited(world: World) -> None:
    n = open_one(world)
    for i in range(8):
        world.tech_mail(body=f"#oops{'x' * i}", at=START + H + timedelta(minutes=i), ticket=n)
    assert len(world.outbox("command_error", to=TECH)) == world.desk.numbers.auto_replies_per_sender_per_hour


# --------------------------------------------------------------------------- by CLI


def cli(world: World, tmp_path: Path, *argv: str) -> int:
    cfg = tmp_path / "cli.toml"
    cfg.write_text(
        f'[database]\nurl = "{world.db.url}"\n[desk]\naddress = "{DESK}"\ntechnicians = ["{TECH}"]\n'
        f'[outbound]\nmaildir = "{tmp_path / "out"}"\n'
    )
    parser = argparse.ArgumentParser()
    register_actions(parser.add_subparsers(dest="action", required=True))
    args = parser.parse_args(list(argv))
    ctx = CliContext(str(cfg))
    try:
        return int(args.handler(args, ctx))
    finally:
        ctx.close()


@pytest.mark.storage
def test_cli_actions_share_the_mail_implementation(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n = open_one(world)
    at = (START + H).isoformat()
    assert cli(world, tmp_path, "split", str(n), "--part", "Install fails at step 3.", "--part", "Console is blank.", "--at", at, "--json") == 0
    assert len(world.tickets()) == 3 and world.balance(START + H) == 20
    assert cli(world, tmp_path, "decline", str(n), "--category", "performance_tuning", "--reason", "Tuning is a PS engagement.", "--at", at) == 0
    assert world.ticket(n).status == "declined" and world.balance(START + H) == 30
    child = world.tickets()[1].number
    assert cli(world, tmp_path, "close", str(child), "--at", at) == 0
    assert world.ticket(child).status == "closed" and world.ticket(child).first_closed_at == START + H
    with pytest.raises(UserError, match="is closed"):
        cli(world, tmp_path, "close", str(child), "--at", at)
    assert cli(world, tmp_path, "open", "--channel", "phone", "--account", CUSTOMER, "--subject", "Phone: server down", "--at", at) == 0
    assert world.tickets()[-1].channel == "phone" and world.balance(START + H) == 20
    world.add_account("erin@community.example", edition="community", points=20, at=START - H)
    with pytest.raises(UserError, match="Community Edition"):
        cli(world, tmp_path, "open", "--channel", "phone", "--account", "erin@community.example", "--subject", "x", "--at", at)
    with pytest.raises(UserError, match="not a feature request"):
        cli(world, tmp_path, "disposition", str(child), "accepted", "Will do.", "--at", at)
    other, phone = world.tickets()[2].number, world.tickets()[3].number
    assert cli(world, tmp_path, "merge", str(other), "--into", str(phone), "--at", at, "--json") == 0
    assert world.ticket(other).status == "merged" and world.balance(START + H) == 30
    assert "split" in capsys.readouterr().out
