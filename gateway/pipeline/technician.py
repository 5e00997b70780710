"""Stage helper: a technician's message, on a ticket or not (POLICY.md P7, P8).

Called by ``conversation.py`` for mail from a listed technician. Command lines at the top
of the message (``commands.py``) act on the ticket, and only when the sender is
authenticated by the site's own MTA (``trust.py``). The rest of the message is relayed
to the customer from the desk address, quoted history trimmed, thread headers kept; the
first relayed reply sets ``first_response_at``.

Decided: where ``[trust] authserv_ids`` is configured, a technician's reply that is not
authenticated is not relayed either (a forged From would otherwise speak to the customer
in the desk's name); where none is configured nothing can be authenticated, commands are
always refused and plain replies are relayed as before. A refusal changes nothing, is not
recorded on the ticket, and answers the technician's address with the reason (rate-limited).
"""
from __future__ import annotations

import logging

from gateway.desk import Desk
from gateway.errors import UserError
from gateway.pipeline import trust
from gateway.pipeline.commands import Command, execute, parse_commands
from gateway.pipeline.notify import notify
from gateway.pipeline.outcome import Outcome
from gateway.pipeline.work import Work
from gateway.policy.newtext import new_text
from gateway.store.models import Account, Ticket, TicketMessage

log = logging.getLogger("gateway.pipeline.technician")


def recipients(desk: Desk) -> list[str]:
    """Who gets technician notices: the queue address, else every technician."""
    return [desk.config.queue_address] if desk.config.queue_address else list(desk.config.technicians)


def sender_verdict(w: Work) -> trust.Verdict:
    """Is the From address authenticated by the site's own MTA?"""
    return trust.verdict(w.msg.header_all("Authentication-Results"), w.msg.from_addr, w.desk.config.authserv_ids)


def refuse(w: Work, ticket: Ticket | None, problems: list[str], *, outcome: str = "rejected") -> Outcome:
    """Change nothing, relay nothing; tell the sender why (at most a few times an hour)."""
    notify(
        w.s, w.desk, "command_error", to=w.msg.from_addr, at=w.logged_at, dedup_key=f"command-error:{w.inbound.id}",
        limited=True, in_reply_to=w.msg.message_id, number=ticket.number if ticket else None, subject=w.msg.subject, problems=problems,
    )
    w.decision["refused"] = problems
    log.info("%s: technician mail refused: %s", w.log_id, "; ".join(problems))
    return Outcome(outcome, [], reason="refused: " + "; ".join(problems))


def record(w: Work, ticket: Ticket, kind: str) -> None:
    w.s.add(TicketMessage(ticket_id=ticket.id, at=w.logged_at, direction="in", kind=kind, sender=w.msg.from_addr, message_id=w.msg.message_id, subject=w.msg.subject, inbound_id=w.inbound.id))


def relay(w: Work, ticket: Ticket, body: str) -> str:
    """Send the technician's words to the customer; the first relayed reply is the first response."""
    account = w.s.get(Account, ticket.account_id)
    assert account is not None
    notify(
        w.s, w.desk, "relay", to=account.primary_address, at=w.logged_at, dedup_key=f"relay:{w.inbound.id}", ticket=ticket,
        automatic=False, kind="technician", body=body, technician=w.msg.from_name or w.msg.from_addr,
    )
    if ticket.first_response_at is None:
        ticket.first_response_at = w.logged_at
    return account.primary_address


def run(w: Work, ticket: Ticket | None) -> Outcome:
    text = new_text(w.msg.text_plain, w.msg.text_html)
    parsed = parse_commands(text)
    verdict = sender_verdict(w)
    w.decision["trust"] = {"authenticated": verdict.authenticated, "reason": verdict.reason}
    if parsed.commands or parsed.errors:
        return _run_commands(w, ticket, parsed.commands, parsed.errors, parsed.body, verdict)
    if ticket is None:
        return refuse(w, None, ["this message names no ticket: reply to a ticket's message, or use #phone to log a phone incident"])
    if verdict.configured and not verdict.authenticated:
        return refuse(w, ticket, [f"your reply was not relayed to the customer: the sender could not be authenticated ({verdict.reason})"])
    record(w, ticket, "technician")
    if not parsed.body:
        return Outcome("appended", [ticket.number], reason="technician message with no new text: nothing relayed")
    to = relay(w, ticket, parsed.body)
    return Outcome("appended", [ticket.number], reason=f"technician reply relayed to {to}")


def _run_commands(w: Work, ticket: Ticket | None, commands: list[Command], errors: list[str], body: str, verdict: trust.Verdict) -> Outcome:
    if not verdict.authenticated:
        return refuse(w, ticket, [f"commands need an authenticated sender: {verdict.reason}. Nothing was changed."])
    if errors:
        return refuse(w, ticket, errors + ["Nothing was changed."])
    try:
        with w.s.begin_nested():
            done = execute(w.s, w.desk, ticket, commands, w.logged_at, actor=w.msg.from_addr)
    except UserError as exc:
        return refuse(w, ticket, [str(exc)])
    w.decision["commands"] = done.done
    numbers = ([ticket.number] if ticket else []) + done.opened
    reason = "commands: " + ", ".join(done.done)
    if ticket is not None:
        record(w, ticket, "command")
        if body and not done.internal:
            to = relay(w, ticket, body)
            reason += f"; reply relayed to {to}"
    return Outcome("opened" if done.opened else "appended", numbers, reason=reason)
