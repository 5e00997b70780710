"""Compose an outgoing message: headers that thread, loop-safety markers, fixed identity.

Every automatic message carries ``Auto-Submitted: auto-replied`` (RFC 3834 section 5) and
our own marker header, so our mail never answers our mail. Message-ID and Date are fixed
when the message is queued, so a retry sends the same bytes.
"""
from __future__ import annotations

import email.utils
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP

MARKER_HEADER = "X-Ticket-Gateway"


@dataclass(frozen=True)
class Composed:
    message_id: str
    to: str
    subject: str
    headers: dict[str, str]
    body: str
    raw: bytes


def new_message_id(domain: str, ticket_number: int | None) -> str:
    tag = f"t{ticket_number}." if ticket_number is not None else ""
    return f"<{tag}{secrets.token_hex(12)}@{domain}>"


def compose(
    *,
    from_name: str,
    from_addr: str,
    to: str,
    subject: str,
    body: str,
    at: datetime,
    domain: str,
    ticket_number: int | None = None,
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    automatic: bool = True,
    extra: dict[str, str] | None = None,
) -> Composed:
    msg = EmailMessage(policy=SMTP)
    message_id = new_message_id(domain, ticket_number)
    msg["From"] = Address(display_name=from_name, addr_spec=from_addr)
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(at)
    msg["Message-ID"] = message_id
    if reply_to:
        msg["Reply-To"] = Address(display_name=from_name, addr_spec=reply_to)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    refs = [r for r in (references or []) if r]
    if refs:
        msg["References"] = " ".join(dict.fromkeys(refs))
    if automatic:
        msg["Auto-Submitted"] = "auto-replied"
    msg[MARKER_HEADER] = "1"
    for key, value in (extra or {}).items():
        msg[key] = value
    msg.set_content(body)
    headers = {k: str(v) for k, v in msg.items()}
    return Composed(message_id, to, subject, headers, body, msg.as_bytes())
