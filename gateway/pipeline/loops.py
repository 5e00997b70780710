"""Pipeline stage: mail that must never get an automatic answer (POLICY.md P8).

RFC 3834 section 2: no automatic reply to mail marked Auto-Submitted (other than "no"),
to bulk, junk or list mail, to a null or MAILER-DAEMON sender, nor to our own messages.
"""
from __future__ import annotations

from gateway.outbound.compose import MARKER_HEADER
from gateway.pipeline.parse import ParsedMessage

_DAEMONS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "donotreply")


def automatic_reason(msg: ParsedMessage, envelope_from: str | None, desk_address: str) -> str | None:
    """Why ``msg`` must not be answered automatically, or None when it may be."""
    auto = (msg.header("Auto-Submitted") or "no").strip().lower()
    if auto.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto}"
    precedence = (msg.header("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    if msg.header("List-Id") or msg.header("List-Unsubscribe"):
        return "mailing-list mail (List-Id)"
    if msg.header("X-Autoreply") or msg.header("X-Autorespond") or (msg.header("X-Auto-Response-Suppress") or "").lower() in ("all", "oof"):
        return "auto-responder headers"
    if envelope_from is not None and envelope_from.strip("<>") == "":
        return "null envelope sender"
    if not msg.from_addr:
        return "no sender address"
    local = msg.from_addr.split("@", 1)[0]
    if local in _DAEMONS or (envelope_from or "").lower().startswith("mailer-daemon"):
        return f"automatic sender {msg.from_addr}"
    if msg.header(MARKER_HEADER) is not None or msg.from_addr == desk_address:
        return "the desk's own message"
    ctype = (msg.header("Content-Type") or "").lower()
    if "multipart/report" in ctype:
        return "delivery or read report"
    return None
