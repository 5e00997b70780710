"""Technicians' actions on tickets: ``#command`` lines by mail, and the same actions by CLI.

Place in the flow: the technician stage (``technician.py``) parses the command lines at the
top of an authenticated technician's message with :func:`parse_commands` and runs them
with :func:`execute`; ``gateway/cli/ticket_actions.py`` calls the action functions below
directly. One implementation serves both faces (POLICY.md P1, P4, P5, P6, P7).

Every action runs inside the caller's transaction and raises :class:`UserError` when it
cannot be carried out; the caller runs a message's commands in a savepoint, so one refusal
undoes the others and "changes nothing". Each action records a ``TicketEvent`` and queues
its mail in the same transaction; the event's id makes the mail's de-duplication key, so
the mail goes once per action whether it came by mail or by CLI.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.desk import Desk
from gateway.errors import UserError
from gateway.pipeline.credit import credit_ticket_and_notify
from gateway.pipeline.notify import notify
from gateway.pipeline.tickets import find_ticket, open_ticket, status_change
from gateway.policy.ledger import InsufficientPoints
from gateway.policy.rules_engine import channel_allowed, channel_refusal
from gateway.store import ledger
from gateway.store.accounts import by_address
from gateway.store.models import Account, Ticket, TicketEvent

COMMANDS = ("close", "bug", "decline", "comment", "disposition", "not-same", "split", "merge", "phone")
DISPOSITIONS = ("accepted", "declined", "planned")
REOPEN_NOTE = "reopened by customer reply"

# A command line: "#" and a word at the very start of the line. "#1001" is not one.
_COMMAND_RE = re.compile(r"^#([A-Za-z][A-Za-z_-]*)(?:[ \t]+(.*))?$")
_BLOCK_SEP_RE = re.compile(r"^\s*(?:-{3,}|={3,}|#part\b.*)\s*$", re.IGNORECASE)
_ADDRESS_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


# --------------------------------------------------------------------------- parsing (pure)


@dataclass(frozen=True)
class Command:
    name: str
    args: str = ""
    line: int = 0  # 1-based line of the command in the text
    text: str = ""  # split blocks' source, the comment, the phone notes: what follows the line
    blocks: tuple[str, ...] = ()


@dataclass
class Parsed:
    commands: list[Command] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    body: str = ""  # what is left to relay to the customer (empty when a command consumed it)


def starts_with_command(text: str, *, known_only: bool) -> bool:
    """Does the first non-blank line look like a command (a known one, if ``known_only``)?"""
    for line in text.splitlines():
        if line.strip():
            m = _COMMAND_RE.match(line.strip())
            return bool(m) and (not known_only or m.group(1).lower() in COMMANDS)
    return False


def parse_commands(text: str) -> Parsed:
    """Read the command lines at the top of ``text`` (the message's new text).

    Command lines come first, one per line; the first other line ends them and starts the
    reply that is relayed. ``#comment``, ``#split`` and ``#phone`` take the rest of the
    message (the comment, the subordinate problems, the call notes), so nothing is relayed.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    out = Parsed()
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    while i < len(lines):
        stripped = lines[i].strip()
        m = _COMMAND_RE.match(stripped)
        if not m:
            break
        name, args, lineno = m.group(1).lower(), (m.group(2) or "").strip(), i + 1
        i += 1
        if name not in COMMANDS:
            out.errors.append(f"line {lineno}: unknown command #{name} (known: {', '.join('#' + c for c in COMMANDS)})")
            continue
        if name in ("comment", "split", "phone"):
            rest = "\n".join(lines[i:]).strip()
            i = len(lines)
            cmd = _parse_consuming(name, args, lineno, rest, out.errors)
        else:
            cmd = _parse_line(name, args, lineno, out.errors)
        if cmd is not None:
            out.commands.append(cmd)
    out.body = "\n".join(lines[i:]).strip()
    return out


def _parse_line(name: str, args: str, lineno: int, errors: list[str]) -> Command | None:
    if name in ("close", "bug", "not-same"):
        if args:
            errors.append(f"line {lineno}: #{name} takes no arguments (got {args!r})")
            return None
        return Command(name, "", lineno)
    if name == "merge":
        number = args.lstrip("#")
        if not number.isdigit():
            errors.append(f"line {lineno}: #merge needs the number of the ticket this one continues in, e.g. #merge 1001")
            return None
        return Command(name, number, lineno)
    if name == "decline":
        if not args:
            errors.append(f"line {lineno}: #decline needs a reason, e.g. #decline not a current release")
            return None
        return Command(name, args, lineno)
    # disposition
    state, _, rest = args.partition(" ")
    if state.lower() not in DISPOSITIONS:
        errors.append(f"line {lineno}: #disposition needs a state ({', '.join(DISPOSITIONS)}) and a text, e.g. #disposition planned for release 12")
        return None
    return Command(name, f"{state.lower()} {rest.strip()}".strip(), lineno, text=rest.strip())


def _parse_consuming(name: str, args: str, lineno: int, rest: str, errors: list[str]) -> Command | None:
    if name == "comment":
        text = "\n".join(p for p in (args, rest) if p)
        if not text:
            errors.append(f"line {lineno}: #comment needs a text")
            return None
        return Command(name, args, lineno, text=text)
    if name == "split":
        if args:
            errors.append(f"line {lineno}: #split takes no arguments; put each problem below it, blocks separated by a line of ---")
            return None
        blocks = split_blocks(rest)
        if not blocks:
            errors.append(f"line {lineno}: #split found no problems below it; separate them by a line of ---")
            return None
        return Command(name, "", lineno, text=rest, blocks=tuple(blocks))
    # phone
    address, _, subject = args.partition(" ")
    if not _ADDRESS_RE.match(address) or not subject.strip():
        errors.append(f"line {lineno}: #phone needs an account address and a subject, e.g. #phone admin@customer.example Mail store does not start")
        return None
    return Command(name, f"{address.lower()} {subject.strip()}", lineno, text=rest)


def split_blocks(text: str) -> list[str]:
    """The subordinate problems below ``#split``: blocks separated by ``---`` or ``#part`` lines."""
    blocks: list[list[str]] = [[]]
    for line in text.split("\n"):
        if _BLOCK_SEP_RE.match(line):
            blocks.append([])
        else:
            blocks[-1].append(line)
    return [b for b in ("\n".join(lines).strip() for lines in blocks) if b]


# --------------------------------------------------------------------------- actions


def _event(s: Session, ticket: Ticket, at: datetime, kind: str, *, actor: str, note: str | None = None, new_status: str | None = None) -> TicketEvent:
    if new_status is not None:
        status_change(s, ticket, new_status, at, actor=actor, note=note, kind=kind)
    else:
        s.add(TicketEvent(ticket_id=ticket.id, at=at, kind=kind, old_status=ticket.status, new_status=ticket.status, actor=actor, note=note))
    s.flush()
    event = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id.desc()).limit(1)).one()
    return event


def _account(s: Session, ticket: Ticket) -> Account:
    account = s.get(Account, ticket.account_id)
    assert account is not None
    return account


def close_ticket(s: Session, desk: Desk, ticket: Ticket, at: datetime, *, actor: str) -> None:
    """Close an open ticket; the first closure starts the reopen window, later ones do not."""
    if ticket.status != "open":
        raise UserError(f"ticket #{ticket.number} is {ticket.status}, not open")
    if ticket.kind == "feature" and not ticket.disposition:
        raise UserError(f"ticket #{ticket.number} is a feature request: record a disposition (#disposition accepted|declined|planned TEXT) before closing it")
    event = _event(s, ticket, at, "status", actor=actor, note="closed", new_status="closed")
    ticket.closed_at = at
    if ticket.first_closed_at is None:
        ticket.first_closed_at = at
    account = _account(s, ticket)
    until = ticket.first_closed_at + timedelta(days=desk.numbers.reopen_window_days)
    notify(s, desk, "ticket_closed", to=account.primary_address, at=at, dedup_key=f"closed:{ticket.number}:{event.id}", ticket=ticket, account=account, reopen_until=until)


def mark_bug(s: Session, desk: Desk, ticket: Ticket, at: datetime, *, actor: str) -> int:
    """A product failure: the ticket's points go back (or a card refund is requested)."""
    result = credit_ticket_and_notify(s, desk, ticket, at, reason="bug", actor=actor)
    if not result.points:
        raise UserError(f"ticket #{ticket.number} has no points left to credit back (already credited?)")
    _event(s, ticket, at, "bug", actor=actor, note=f"product failure: {result.points} points " + ("refund requested" if result.refund_requested else "credited back"))
    return result.points


def decline_ticket(s: Session, desk: Desk, ticket: Ticket, at: datetime, *, actor: str, reason: str, category: str | None = None) -> int:
    """Decline an open ticket (out of scope, release not current): points back, customer told."""
    if ticket.status != "open":
        raise UserError(f"ticket #{ticket.number} is {ticket.status}; only an open ticket can be declined")
    if not reason.strip() and not category:
        raise UserError("a decline needs a reason or a category")
    if category:
        ticket.category = category
    event = _event(s, ticket, at, "status", actor=actor, note=f"declined: {reason}".strip(), new_status="declined")
    ticket.closed_at = at
    account = _account(s, ticket)
    notify(s, desk, "declined_by_tech", to=account.primary_address, at=at, dedup_key=f"declined:{ticket.number}:{event.id}", ticket=ticket, account=account, reason=reason, category=category)
    result = credit_ticket_and_notify(s, desk, ticket, at, reason="decline", actor=actor)
    return result.points


def add_comment(s: Session, ticket: Ticket, at: datetime, *, actor: str, text: str) -> None:
    """An internal note: kept in the history, never mailed to the customer."""
    _event(s, ticket, at, "comment", actor=actor, note=text)


def record_disposition(s: Session, desk: Desk, ticket: Ticket, at: datetime, *, actor: str, state: str, text: str) -> None:
    """Record a feature request's disposition and mail it to the customer (P5)."""
    state = state.lower()
    if state not in DISPOSITIONS:
        raise UserError(f"unknown disposition {state!r}: use one of {', '.join(DISPOSITIONS)}")
    if ticket.kind != "feature":
        raise UserError(f"ticket #{ticket.number} is not a feature request (kind {ticket.kind}); a disposition applies to feature requests")
    ticket.disposition = state
    event = _event(s, ticket, at, "disposition", actor=actor, note=f"{state}: {text}".strip().rstrip(":"))
    account = _account(s, ticket)
    notify(s, desk, "disposition", to=account.primary_address, at=at, dedup_key=f"disposition:{ticket.number}:{event.id}", ticket=ticket, account=account, state=state, text=text)


def last_status_event(s: Session, ticket: Ticket) -> TicketEvent | None:
    return s.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.new_status != TicketEvent.old_status).order_by(TicketEvent.id.desc()).limit(1)
    ).first()


def not_same(s: Session, desk: Desk, ticket: Ticket, at: datetime, *, actor: str) -> None:
    """Undo a customer's reopen: close again and tell the customer to open a new incident (P4)."""
    last = last_status_event(s, ticket)
    if ticket.status != "open" or last is None or last.old_status != "closed" or last.note != REOPEN_NOTE:
        raise UserError(f"ticket #{ticket.number} was not reopened by the customer; #not-same undoes a reopen")
    event = _event(s, ticket, at, "status", actor=actor, note="not the same problem: closed again", new_status="closed")
    ticket.closed_at = at
    account = _account(s, ticket)
    notify(s, desk, "not_same", to=account.primary_address, at=at, dedup_key=f"not-same:{ticket.number}:{event.id}", ticket=ticket, account=account)


def merge_ticket(s: Session, desk: Desk, ticket: Ticket, into_number: int, at: datetime, *, actor: str) -> int:
    """Undo a cut that should not have been made (P2): ``ticket`` is the same issue as
    ``#into_number``. It is merged into that ticket, its points go back, the customer is
    told, and later replies to it go to the ticket it continues in."""
    into = find_ticket(s, into_number)
    if into is None:
        raise UserError(f"no ticket #{into_number} to merge #{ticket.number} into")
    if into.id == ticket.id:
        raise UserError(f"ticket #{ticket.number} cannot be merged into itself")
    if ticket.status != "open" or into.status != "open":
        raise UserError(f"only open tickets merge: #{ticket.number} is {ticket.status}, #{into.number} is {into.status}")
    if into.account_id != ticket.account_id:
        raise UserError(f"tickets #{ticket.number} and #{into.number} belong to different accounts; only one account's tickets merge")
    event = _event(s, ticket, at, "status", actor=actor, note=f"merged into #{into.number}", new_status="merged")
    ticket.merged_into_id, ticket.closed_at = into.id, at
    _event(s, into, at, "merge", actor=actor, note=f"#{ticket.number} merged into this ticket")
    account = _account(s, ticket)
    notify(s, desk, "merged", to=account.primary_address, at=at, dedup_key=f"merged:{ticket.number}:{event.id}", ticket=ticket, into=into, account=account)
    return credit_ticket_and_notify(s, desk, ticket, at, reason="merge", actor=actor).points


def split_ticket(s: Session, desk: Desk, ticket: Ticket, parts: list[str], at: datetime, *, actor: str) -> list[Ticket]:
    """One new incident per subordinate problem, each charged; all or none (P2)."""
    parts = [p.strip() for p in parts if p.strip()]
    if not parts:
        raise UserError("a split needs at least one subordinate problem")
    if ticket.status != "open":
        raise UserError(f"ticket #{ticket.number} is {ticket.status}; only an open ticket can be split")
    account = _account(s, ticket)
    ledger.lock_account(s, account.id)
    need = desk.numbers.points_per_incident * len(parts)
    have = ledger.balance_now(s, account.id, at)
    if have < need:
        raise UserError(f"splitting #{ticket.number} into {len(parts)} incidents takes {need} points; {account.primary_address} has {have}. Nothing was changed.")
    opened = []
    for i, text in enumerate(parts, start=1):
        first_line = text.splitlines()[0][:120]
        child = open_ticket(
            s, desk, account, subject=f"{first_line} (part {i} of {len(parts)} of #{ticket.number})", logged_at=at, opened_at=at,
            inbound=None, customer=account.primary_address, text=text, channel=ticket.channel, parent=ticket,
            product=ticket.product, release=ticket.release, ack_context=_ack_context(desk, parts),
        )
        opened.append(child)
    _event(s, ticket, at, "split", actor=actor, note="split into " + ", ".join(f"#{t.number}" for t in opened))
    return opened


def _ack_context(desk: Desk, issues: list[str]) -> dict[str, object]:
    # What the shipped ack template reads beyond open_ticket's own context.
    return {"previous": None, "reopen_days": desk.numbers.reopen_window_days, "issues": issues}


def open_incident(s: Session, desk: Desk, account_address: str, at: datetime, *, actor: str, subject: str, channel: str = "phone", text: str = "") -> Ticket:
    """Log an incident for an account on ``channel`` (a phone call), charged like any other (P6)."""
    from gateway.rulebook.scope import load_editions

    account = by_address(s, account_address)
    if account is None:
        raise UserError(f"no account for {account_address}")
    editions = load_editions(desk.config.rules_dir)
    if not channel_allowed(editions, account.edition, channel):
        raise UserError(channel_refusal(editions, account.edition, channel))
    ledger.lock_account(s, account.id)
    try:
        ticket = open_ticket(
            s, desk, account, subject=subject, logged_at=at, opened_at=at, inbound=None,
            customer=account.primary_address, text=text, channel=channel, ack_context=_ack_context(desk, [text] if text else []),
        )
    except InsufficientPoints as exc:
        raise UserError(f"{account.primary_address} has {exc.balance} points; an incident takes {exc.needed}. Nothing was opened.") from None
    s.add(TicketEvent(ticket_id=ticket.id, at=at, kind="logged", old_status="open", new_status="open", actor=actor, note=f"{channel} incident logged by {actor}"))
    return ticket


def decline_category(desk: Desk, reason: str) -> tuple[str | None, str]:
    """``#decline performance_tuning ...``: a leading category id of rules/scope.toml (or
    ``not_current``) becomes the ticket's category; the whole text stays the reason."""
    from gateway.rulebook.scope import load_rulebook

    first = reason.split(maxsplit=1)[0].rstrip(":").lower() if reason.split() else ""
    if first == "not_current":
        return first, reason
    try:
        categories = load_rulebook(desk.config.rules_dir).categories
    except Exception:  # a broken rules folder must not stop a decline; the reason is kept
        return None, reason
    return (first if first in categories else None), reason


# --------------------------------------------------------------------------- running a message's commands


@dataclass
class Executed:
    done: list[str] = field(default_factory=list)  # one line per command, for the outcome
    opened: list[int] = field(default_factory=list)  # ticket numbers opened by #split / #phone
    internal: bool = False  # a #comment: the message is not relayed


def execute(s: Session, desk: Desk, ticket: Ticket | None, commands: list[Command], at: datetime, *, actor: str) -> Executed:
    """Run ``commands`` in order; UserError on the first refusal (the caller rolls back)."""
    out = Executed()
    for cmd in commands:
        if cmd.name == "phone":
            address, _, subject = cmd.args.partition(" ")
            t = open_incident(s, desk, address, at, actor=actor, subject=subject, channel="phone", text=cmd.text)
            out.opened.append(t.number)
            out.done.append(f"#phone: opened #{t.number} for {address}")
            continue
        if ticket is None:
            raise UserError(f"#{cmd.name} needs a ticket: reply to a ticket's message (only #phone works without one)")
        if cmd.name == "close":
            close_ticket(s, desk, ticket, at, actor=actor)
        elif cmd.name == "bug":
            mark_bug(s, desk, ticket, at, actor=actor)
        elif cmd.name == "decline":
            category, reason = decline_category(desk, cmd.args)
            decline_ticket(s, desk, ticket, at, actor=actor, reason=reason, category=category)
        elif cmd.name == "comment":
            add_comment(s, ticket, at, actor=actor, text=cmd.text)
            out.internal = True
        elif cmd.name == "disposition":
            state, _, text = cmd.args.partition(" ")
            record_disposition(s, desk, ticket, at, actor=actor, state=state, text=text)
        elif cmd.name == "not-same":
            not_same(s, desk, ticket, at, actor=actor)
        elif cmd.name == "merge":
            merge_ticket(s, desk, ticket, int(cmd.args), at, actor=actor)
        elif cmd.name == "split":
            children = split_ticket(s, desk, ticket, list(cmd.blocks), at, actor=actor)
            out.opened.extend(t.number for t in children)
        else:  # parse_commands admits only COMMANDS
            raise UserError(f"unknown command #{cmd.name}")
        out.done.append(f"#{cmd.name}")
    return out
