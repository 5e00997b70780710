"""The SMTP and LMTP listener (aiosmtpd): recipients checked at RCPT, raw bytes stored.

RCPT accepts only the desk address and its ``+token`` addresses with a valid ticket
token; other domains are refused (550, no relaying). The size limit is announced in EHLO
and enforced (552). DATA is answered 250 only after the raw message is committed; LMTP
answers once per accepted recipient (RFC 2033 section 4.2). Internal failures answer 451,
never 5xx, so the sending MTA keeps the message and retries.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from gateway.clock import Clock
from gateway.ingest.store import store_raw
from gateway.pipeline.thread import address_token_known, token_from
from gateway.store.db import Database

log = logging.getLogger("gateway.ingest")


class IntakeHandler:
    def __init__(self, db: Database, clock: Clock, desk_address: str, wake: Callable[[], None], source: str) -> None:
        self.db = db
        self.clock = clock
        self.desk_address = desk_address.lower()
        self.domain = self.desk_address.rpartition("@")[2]
        self.wake = wake
        self.source = source

    def _token_ok(self, token: str) -> bool:
        with self.db.session() as s:
            return address_token_known(s, token)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]) -> str:
        addr = address.strip().lower()
        domain = addr.rpartition("@")[2]
        if domain != self.domain:
            return "550 5.7.1 Relaying denied: this host accepts mail for the support desk only"
        if addr != self.desk_address:
            token = token_from(addr, self.desk_address)
            if token is None:
                return "550 5.1.1 No such recipient"
            try:
                ok = await asyncio.to_thread(self._token_ok, token)
            except Exception:
                log.exception("RCPT check failed")
                return "451 4.3.0 Temporary failure, try again later"
            if not ok:
                return "550 5.1.1 No such recipient"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        received_at = self.clock.now()
        try:
            stored = await asyncio.to_thread(
                store_raw, self.db, raw, received_at=received_at, source=self.source,
                envelope_from=envelope.mail_from, recipients=list(envelope.rcpt_tos),
            )
        except Exception:
            log.exception("storing a message failed; answering 451")
            return self._reply(server, envelope, "451 4.3.0 Temporary failure, try again later")
        log.info("inbound %d stored from %s (%d bytes)%s", stored.inbound_id, envelope.mail_from, len(raw), " duplicate" if stored.duplicate else "")
        self.wake()
        return self._reply(server, envelope, f"250 2.0.0 OK stored as {stored.inbound_id}")

    @staticmethod
    def _reply(server: SMTP, envelope: Envelope, line: str) -> str:
        # LMTP: one reply per recipient. The message is stored once for all of them.
        if isinstance(server, LMTP):
            return "\r\n".join(line for _ in envelope.rcpt_tos)
        return line

    async def handle_exception(self, error: Exception) -> str:
        log.exception("SMTP session error", exc_info=error)
        return "451 4.3.0 Temporary failure, try again later"


def make_factory(protocol: str, handler: IntakeHandler, *, data_size_limit: int, hostname: str | None = None) -> Callable[[], Any]:
    cls = LMTP if protocol == "lmtp" else SMTP

    def factory() -> SMTP:
        return cls(handler, data_size_limit=data_size_limit, enable_SMTPUTF8=True, decode_data=False, hostname=hostname, ident="ticket-gateway")

    return factory
