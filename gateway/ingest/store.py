"""Durable storage of a raw message before anyone is told it arrived.

The de-duplication key is the Message-ID plus a hash of the content without the trace
headers a relay adds (Received, Delivered-To, Return-Path, Authentication-Results...), so
the same message delivered twice, or once by SMTP and once by IMAP, is processed once.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.pipeline.parse import message_ids
from gateway.store.db import Database
from gateway.store.models import Inbound

TRACE_HEADERS = {
    "received", "return-path", "delivered-to", "x-original-to", "envelope-to", "authentication-results",
    "arc-seal", "arc-message-signature", "arc-authentication-results", "x-envelope-from", "x-envelope-to",
    "x-spam-status", "x-spam-score", "x-spam-level", "x-spam-flag", "x-spam-checker-version", "x-virus-scanned",
    "x-rspamd-server", "x-rspamd-queue-id", "dkim-filter", "x-uid", "status", "x-keywords", "x-mozilla-status",
}


@dataclass(frozen=True)
class Stored:
    inbound_id: int
    duplicate: bool


def dedup_key(raw: bytes) -> tuple[str, str | None]:
    text = raw.replace(b"\r\n", b"\n")
    head, _, body = text.partition(b"\n\n")
    kept: list[bytes] = []
    skipping = False
    msgid: str | None = None
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower().decode("ascii", "replace")
        skipping = name in TRACE_HEADERS
        if not skipping:
            kept.append(line)
        if name == "message-id" and msgid is None:
            ids = message_ids(line.split(b":", 1)[1].decode("ascii", "replace") if b":" in line else "")
            msgid = ids[0] if ids else None
    digest = hashlib.sha256()
    digest.update((msgid or "").encode())
    digest.update(b"\0")
    digest.update(b"\n".join(kept))
    digest.update(b"\n\n")
    digest.update(re.sub(rb"[ \t]+\n", b"\n", body).rstrip())
    return digest.hexdigest(), msgid


def store_raw(db: Database, raw: bytes, *, received_at: datetime, source: str, envelope_from: str | None = None, recipients: list[str] | None = None) -> Stored:
    """Commit ``raw`` durably (status ``new``); a duplicate returns the first copy's id."""
    key, msgid = dedup_key(raw)

    def existing(s):  # type: ignore[no-untyped-def]
        return s.scalar(select(Inbound.id).where(Inbound.dedup_key == key))

    with db.session() as s:
        found = existing(s)
    if found is not None:
        return Stored(found, True)

    def insert(s):  # type: ignore[no-untyped-def]
        row = Inbound(
            received_at=received_at.replace(microsecond=0),
            source=source,
            envelope_from=envelope_from,
            recipients=list(recipients or []),
            raw=raw,
            size=len(raw),
            message_id=msgid[:998] if msgid else None,
            dedup_key=key,
            status="new",
            attempts=0,
        )
        s.add(row)
        s.flush()
        return row.id

    try:
        return Stored(db.write(insert), False)
    except IntegrityError:
        # Another process stored the same message a moment ago.
        with db.session() as s:
            found = existing(s)
        if found is None:
            raise
        return Stored(found, True)
