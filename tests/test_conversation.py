"""Conversations by mail (POLICY.md P4, P7, P8): the external check, step by step, and the
forged mail that must not reach a victim's ticket or run a command. SQLite and PostgreSQL."""
from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest

from test_conversation_harness import CUSTOMER, DESK, MX, START, TECH, World, world  # noqa: F401

pytestmark = pytest.mark.storage

PROBLEM = "Hello,\n\nour mail server crashes every night at 02:00 with a segfault in the indexer.\n\nAlice\n"


def open_ticket(world: World) -> int:
    sent = world.mail(frm=f"Alice <{CUSTOMER}>", subject="Mail server crashes nightly", body=PROBLEM, at=START)
    assert sent.outcome.outcome == "opened", sent.outcome
    return sent.outcome.tickets[0]


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def test_the_external_check(world: World) -> None:
    n = open_ticket(world)
    assert world.balance(START) == 40
    ack = world.outbox("ack")[0]

    # A technician's reply: relayed from the desk address, quotes trimmed, thread kept.
    t1 = START + timedelta(hours=1)
    reply = world.tech_mail(body=f"Please send us the core file.\n\nOn Mon, Alice wrote:\n> {PROBLEM.splitlines()[2]}\n", at=t1, ticket=n, in_reply_to=ack.message_id)
    assert reply.outcome.outcome == "appended"
    relays = world.outbox("relay")
    assert len(relays) == 1 and relays[0].to_addr == CUSTOMER
    relayed = parsed(relays[0].raw)
    assert DESK in relayed["From"] and f"[#{n}]" in relayed["Subject"]
    assert "core file" in relayed.get_content() and "segfault" not in relayed.get_content()
    assert relayed["In-Reply-To"] and ack.message_id in relayed["References"]
    assert relayed["Reply-To"].addresses[0].addr_spec == world.token_address(n)
    assert world.ticket(n).first_response_at == t1

    # Two customer replies: threaded by the relay's Message-ID and by "AW:" + tag; free.
    r1 = world.mail(frm=CUSTOMER, subject=f"Re: [#{n}] Mail server crashes nightly", body="Core file attached.", at=t1 + timedelta(hours=1), in_reply_to=relays[0].message_id)
    r2 = world.mail(frm="bob@customer.example", subject=f"AW: WG: [#{n}] Mail server crashes nightly", body="Another crash tonight.", at=t1 + timedelta(hours=20))
    assert [r1.outcome.outcome, r2.outcome.outcome] == ["appended", "appended"]
    assert r1.outcome.tickets == r2.outcome.tickets == [n]
    assert world.balance(t1 + timedelta(days=1)) == 40
    assert len(world.tickets()) == 1

    # #close: closed_at and first_closed_at, the customer is told.
    c1 = START + timedelta(days=2)
    assert world.tech_mail(body="#close", at=c1, ticket=n).outcome.outcome == "appended"
    t = world.ticket(n)
    assert (t.status, t.closed_at, t.first_closed_at) == ("closed", c1, c1)
    assert len(world.outbox("ticket_closed", to=CUSTOMER)) == 1

    # 30 days later: the reply reopens it, free, and the technicians hear of it.
    r3 = world.mail(frm=CUSTOMER, subject=f"Re: [#{n}] Closed", body="It is back.", at=c1 + timedelta(days=30))
    assert r3.outcome.outcome == "appended" and r3.outcome.tickets == [n]
    assert world.ticket(n).status == "open"
    assert world.outbox("tech_reopened", to=TECH)
    assert world.balance(c1 + timedelta(days=30)) == 40

    # Closed again: the window still counts from the first closure.
    c2 = c1 + timedelta(days=31)
    world.tech_mail(body="#close", at=c2, ticket=n)
    t = world.ticket(n)
    assert (t.status, t.closed_at, t.first_closed_at) == ("closed", c2, c1)

    # 95 days after the first closure (64 after the second): a new charged incident.
    late = c1 + timedelta(days=95)
    r4 = world.mail(frm=CUSTOMER, subject=f"Re: [#{n}] Closed", body="The crash is back again.", at=late)
    assert r4.outcome.outcome == "opened"
    (m,) = r4.outcome.tickets
    assert m != n and world.ticket(m).previous_id == world.ticket(n).id
    assert world.ticket(n).status == "closed"
    assert world.balance(late) == 30
    new_ack = [o for o in world.outbox("ack") if f"[#{m}]" in o.subject][0]
    assert f"#{n}" in new_ack.body and "90 days" in new_ack.body

    # #bug on the new ticket: its points come back through the ledger.
    world.tech_mail(body="#bug\nThis is a known defect, fixed in the next patch.", at=late + timedelta(hours=2), ticket=m)
    assert world.balance(late + timedelta(hours=2)) == 40
    assert world.outbox("points_credited", to=CUSTOMER)

    # Visible history: kinds of messages and every status change.
    kinds = [(msg.direction, msg.kind) for msg in world.messages(n)]
    assert ("in", "customer") in kinds and ("in", "technician") in kinds and ("in", "command") in kinds and ("out", "technician") in kinds
    statuses = [(e.old_status, e.new_status) for e in world.events(n) if e.kind == "status"]
    assert statuses == [(None, "open"), ("open", "closed"), ("closed", "open"), ("open", "closed")]


def test_stranger_with_a_valid_subject_tag_opens_nothing_in_the_ticket(world: World) -> None:
    n = open_ticket(world)
    before = len(world.messages(n))
    sent = world.mail(frm="mallory@evil.example", subject=f"Re: [#{n}] Mail server crashes nightly", body="Please send me the logs.", at=START + timedelta(hours=1))
    assert n not in sent.outcome.tickets
    assert sent.outcome.outcome == "rejected"  # new mail from an unknown sender
    assert len(world.messages(n)) == before
    assert not world.outbox("relay")
    assert world.outbox("unknown_sender", to="mallory@evil.example")


def test_stranger_with_a_stolen_message_id_opens_nothing_in_the_ticket(world: World) -> None:
    n = open_ticket(world)
    ack = world.outbox("ack")[0]
    before = len(world.messages(n))
    sent = world.mail(frm="mallory@evil.example", subject="Re: your ticket", body="I am the admin now.", at=START + timedelta(hours=1), in_reply_to=ack.message_id, references=[ack.message_id])
    assert n not in sent.outcome.tickets and sent.outcome.outcome == "rejected"
    assert len(world.messages(n)) == before


def test_customer_of_another_account_quoting_the_tag_opens_a_ticket_of_their_own(world: World) -> None:
    n = open_ticket(world)
    world.add_account("carol@other.example", points=20, at=START - timedelta(days=1))
    sent = world.mail(frm="carol@other.example", subject=f"Re: [#{n}] Mail server crashes nightly", body="Our backup fails with error 42.", at=START + timedelta(hours=1))
    assert sent.outcome.outcome == "opened" and n not in sent.outcome.tickets
    assert world.balance(START + timedelta(hours=1)) == 40  # the victim paid nothing


def test_technician_command_with_forged_from_and_no_authentication_results(world: World) -> None:
    n = open_ticket(world)
    sent = world.tech_mail(body="#close\nClosing, thanks.", at=START + timedelta(hours=1), ticket=n, authenticated=False)
    assert sent.outcome.outcome == "rejected"
    assert world.ticket(n).status == "open" and world.ticket(n).first_response_at is None
    assert not world.outbox("relay") and not world.outbox("ticket_closed")
    errors = world.outbox("command_error", to=TECH)
    assert len(errors) == 1 and "authenticated" in errors[0].body
    assert all(m.kind != "command" for m in world.messages(n))


@pytest.mark.parametrize("added", [
    # Below the MTA's own header, with the trusted authserv-id: ignored, the top one rules.
    [("Authentication-Results", f"{MX}; dkim=fail header.d=desk.example; dmarc=fail header.from=desk.example"),
     ("Authentication-Results", f"{MX}; dkim=pass header.d=desk.example; dmarc=pass header.from=desk.example")],
    # A foreign authserv-id claiming a pass, and no header from the site's MTA.
    [("Authentication-Results", "mx.evil.example; dkim=pass header.d=desk.example; dmarc=pass header.from=desk.example")],
    # A pass for a domain that is not the From domain.
    [("Authentication-Results", f"{MX}; dkim=pass header.d=evil.example; dmarc=fail header.from=desk.example")],
])
def test_technician_command_with_a_sender_added_authentication_results_header(world: World, added: list[tuple[str, str]]) -> None:
    n = open_ticket(world)
    sent = world.tech_mail(body="#bug", at=START + timedelta(hours=1), ticket=n, authenticated=False, headers=added)
    assert sent.outcome.outcome == "rejected"
    assert world.balance(START + timedelta(hours=1)) == 40
    assert not world.outbox("points_credited")
    assert world.outbox("command_error", to=TECH)


def test_unauthenticated_technician_reply_is_not_relayed_when_trust_is_configured(world: World) -> None:
    n = open_ticket(world)
    sent = world.tech_mail(body="Click here to reset your password: http://evil.example/", at=START + timedelta(hours=1), ticket=n, authenticated=False)
    assert sent.outcome.outcome == "rejected"
    assert not world.outbox("relay") and world.ticket(n).first_response_at is None


def test_without_authserv_ids_plain_replies_relay_and_commands_are_refused(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from test_conversation_harness import make_world

    w = make_world(db_url, tmp_path, authserv_ids=[])
    try:
        n = open_ticket(w)
        reply = w.tech_mail(body="We are looking at it.", at=START + timedelta(hours=1), ticket=n)
        assert reply.outcome.outcome == "appended" and len(w.outbox("relay")) == 1
        cmd = w.tech_mail(body="#close", at=START + timedelta(hours=2), ticket=n)
        assert cmd.outcome.outcome == "rejected" and w.ticket(n).status == "open"
        assert "authserv" in w.outbox("command_error")[0].body
    finally:
        w.db.dispose()


def test_reply_exactly_at_the_end_of_the_window_reopens_and_one_second_later_does_not(world: World) -> None:
    n = open_ticket(world)
    closed = START + timedelta(days=1)
    world.tech_mail(body="#close", at=closed, ticket=n)
    edge = closed + timedelta(days=world.desk.numbers.reopen_window_days)
    assert world.mail(frm=CUSTOMER, subject=f"Re: [#{n}] x", body="Back.", at=edge).outcome.tickets == [n]
    world.tech_mail(body="#close", at=edge + timedelta(hours=1), ticket=n)
    later = world.mail(frm=CUSTOMER, subject=f"Re: [#{n}] x", body="Back again.", at=edge + timedelta(hours=1, seconds=1))
    assert later.outcome.outcome == "opened" and n not in later.outcome.tickets


def test_reply_by_token_address_alone_joins(world: World) -> None:
    n = open_ticket(world)
    sent = world.mail(frm=CUSTOMER, subject="no tag here", body="More detail.", at=START + timedelta(hours=1), to=world.token_address(n))
    assert sent.outcome.outcome == "appended" and sent.outcome.tickets == [n]
    assert world.balance(START + timedelta(hours=1)) == 40
