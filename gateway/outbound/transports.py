"""Where outgoing mail goes: a local Maildir (the embedded default) or an SMTP smarthost.

Both are idempotent per outbox row: the Maildir file name is derived from the row, and the
relay gets the same bytes and Message-ID on every retry.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib


class TransientSendError(Exception):
    """Try again later (4xx, connection refused, timeout)."""


class PermanentSendError(Exception):
    """Never try again (5xx)."""


class Transport(Protocol):
    async def send(self, key: str, sender: str, recipient: str, raw: bytes) -> None: ...


class MaildirTransport:
    """Deliver into ``new/`` of a Maildir, via ``tmp/`` and an atomic rename, with fsync."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for sub in ("tmp", "new", "cur"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def _name(self, key: str) -> str:
        return f"tg-{hashlib.sha256(key.encode()).hexdigest()[:24]}.ticket-gateway"

    def delivered(self, key: str) -> bool:
        name = self._name(key)
        if (self.root / "new" / name).exists():
            return True
        return any(p.name.split(":", 1)[0] == name for p in (self.root / "cur").iterdir())

    async def send(self, key: str, sender: str, recipient: str, raw: bytes) -> None:
        if self.delivered(key):
            return  # a crash after delivery and before the outbox update: do not deliver twice
        name = self._name(key)
        tmp = self.root / "tmp" / name
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
            try:
                os.write(fd, raw)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, self.root / "new" / name)
            dfd = os.open(self.root / "new", os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError as exc:
            raise TransientSendError(f"maildir {self.root}: {exc}") from exc


class SmtpRelayTransport:
    def __init__(self, url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.use_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.use_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    async def send(self, key: str, sender: str, recipient: str, raw: bytes) -> None:
        try:
            await aiosmtplib.send(
                raw,
                sender=sender,
                recipients=[recipient],
                hostname=self.host,
                port=self.port,
                use_tls=self.use_tls,
                start_tls=None if not self.use_tls else False,
                username=self.username,
                password=self.password,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if codes and all(500 <= c < 600 for c in codes):
                raise PermanentSendError(str(exc)) from exc
            raise TransientSendError(str(exc)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentSendError(f"{exc.code} {exc.message}") from exc
            raise TransientSendError(f"{exc.code} {exc.message}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientSendError(str(exc)) from exc
