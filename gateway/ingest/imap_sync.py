"""The blocking half of IMAP intake: one connection, and one pass over the folder.

``gateway.ingest.imap`` runs these calls in a thread (``asyncio.to_thread``) so the event
loop never waits on the network. A pass (:func:`sync_folder`) lists every UID in the
folder, reads size and INTERNALDATE first, fetches the body with ``BODY.PEEK[]`` (so the
\\Seen flag never changes, RFC 3501 section 6.4.5), stores it durably with
:func:`gateway.ingest.store.store_raw`, and only then moves it to the processed folder.
A crash between the commit and the move fetches the message again; content de-duplication
makes the second store a no-op, so every message is stored exactly once.

Mail over the size limit, and mail the store cannot take, goes to the quarantine folder
with a quarantined ``inbound`` row that records the reason, so it never blocks the mail
behind it.
"""
from __future__ import annotations

import hashlib
import logging
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.parser import BytesHeaderParser
from email.policy import compat32

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import IMAPClientError, LoginError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from gateway.clock import Clock
from gateway.config import ImapConfig
from gateway.errors import RetryLater
from gateway.ingest.store import store_raw
from gateway.store.db import Database
from gateway.store.models import ImapState, Inbound

log = logging.getLogger("gateway.ingest.imap")

DELETED = b"\\Deleted"
# A header block longer than this is cut in a quarantine stub; the reason says why.
STUB_HEADER_BYTES = 65536


class AuthFailed(Exception):
    """The server refused the user name or password; retry slowly, tell the admin."""


class TlsFailed(Exception):
    """TLS could not be set up; fatal for this mailbox, never a plain-text downgrade."""


class ConnectionLost(Exception):
    """The server said BYE or closed the connection; reconnect with backoff."""


@dataclass(frozen=True)
class Timing:
    """How long the reader waits for what. Tests shorten these; production keeps the defaults."""

    lease_ttl: float = 30.0
    lease_renew: float = 10.0
    idle_check: float = 2.0
    poll: float = 10.0  # without IDLE: NOOP this often for new-mail hints
    backoff_first: float = 1.0
    backoff_max: float = 60.0
    auth_retry: float = 300.0
    connect_timeout: float = 15.0
    read_timeout: float = 60.0
    batch: int = 50


@dataclass
class SyncReport:
    seen: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0


def _transient(exc: BaseException) -> bool:
    """A failure of the database or the connection, not of this one message."""
    return isinstance(exc, (RetryLater, OperationalError, OSError, IMAPClientError)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


class Connection:
    """One logged-in IMAP connection with the folder selected (imapclient, UIDs always)."""

    def __init__(self, mailbox: ImapConfig, timing: Timing, ssl_context: ssl.SSLContext | None = None) -> None:
        self.mailbox = mailbox
        self.timing = timing
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.client: IMAPClient | None = None
        self.idling = False

    # -- connecting -------------------------------------------------------------------
    def open(self) -> None:
        m = self.mailbox
        timeout = SocketTimeout(connect=self.timing.connect_timeout, read=self.timing.read_timeout)
        try:
            client = IMAPClient(m.host, m.port, use_uid=True, ssl=m.tls == "tls", ssl_context=self.ssl_context, timeout=timeout)
        except ssl.SSLError as exc:
            raise _tls_or_transient(exc, f"TLS handshake with {m.host}:{m.port} failed") from exc
        self.client = client
        # Aware datetimes as the server sent them; we convert to UTC ourselves.
        client.normalise_times = False
        if m.tls == "starttls":
            if not client.has_capability("STARTTLS"):
                raise TlsFailed(f"{m.host}:{m.port} does not offer STARTTLS; refusing to log in without TLS")
            try:
                client.starttls(self.ssl_context)
            except ssl.SSLError as exc:
                raise _tls_or_transient(exc, f"STARTTLS with {m.host}:{m.port} failed") from exc
        try:
            client.login(m.user, m.password)
        except LoginError as exc:
            # The server's text, never the password.
            raise AuthFailed(f"login as {m.user} at {m.host}:{m.port} refused: {_text(exc)}") from None
        self._ensure_folder(m.processed_folder)
        self._ensure_folder(m.quarantine_folder)

    def _ensure_folder(self, folder: str) -> None:
        assert self.client is not None
        if self.client.folder_exists(folder):
            return
        try:
            self.client.create_folder(folder)
            log.info("%s: created folder %s", self.mailbox.name, folder)
        except IMAPClientError:
            # Another reader may have created it a moment ago.
            if not self.client.folder_exists(folder):
                raise

    def select(self) -> int:
        """SELECT the folder read-write and return its UIDVALIDITY (RFC 3501 section 2.3.1.1)."""
        assert self.client is not None
        info = self.client.select_folder(self.mailbox.folder)
        return int(info[b"UIDVALIDITY"])

    def has(self, capability: str) -> bool:
        assert self.client is not None
        return bool(self.client.has_capability(capability))

    def close(self) -> None:
        """Log out politely if the server is there; never wait long for a dead one."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.socket().settimeout(5)
            if self.idling:
                self.idling = False
                client.idle_done()
            client.logout()
        except Exception:  # the connection is going away anyway
            try:
                client.shutdown()
            except Exception:
                pass

    # -- waiting for mail -------------------------------------------------------------
    def idle_start(self) -> None:
        assert self.client is not None
        self.client.idle()
        self.idling = True

    def idle_wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds in IDLE; True when the server hinted at new mail."""
        assert self.client is not None
        started = time.monotonic()
        responses = self.client.idle_check(timeout=timeout)
        if not responses and time.monotonic() - started < timeout / 2:
            # imapclient returns an empty list at once when the socket is at EOF.
            raise ConnectionLost("the server closed the connection")
        return _hint(responses)

    def idle_end(self) -> bool:
        assert self.client is not None
        self.idling = False
        _, responses = self.client.idle_done()
        return _hint(responses)

    def poll(self) -> bool:
        """NOOP for servers without IDLE; True when it reported new mail."""
        assert self.client is not None
        self.client.noop()
        # imapclient keeps untagged responses of NOOP in ``_imap.untagged_responses``.
        return bool(self.client._imap.untagged_responses.pop("EXISTS", None))

    # -- moving -----------------------------------------------------------------------
    def move(self, uids: Sequence[int], folder: str) -> None:
        """Move ``uids`` to ``folder``: MOVE (RFC 6851) if offered, else COPY and expunge only them."""
        if not uids:
            return
        client = self.client
        assert client is not None
        if self.has("MOVE"):
            client.move(list(uids), folder)
            return
        client.copy(list(uids), folder)
        client.add_flags(list(uids), [DELETED], silent=True)
        if self.has("UIDPLUS"):
            # UID EXPUNGE (RFC 4315 section 2.1) removes exactly these, nothing another client flagged.
            client.uid_expunge(list(uids))
            return
        # Plain EXPUNGE removes every \Deleted message in the folder. Only run it when all of
        # them are ours; otherwise they stay flagged, and the next pass stores them (a no-op)
        # and tries again, which at worst leaves a second copy in the processed folder.
        flagged = set(client.search([b"DELETED"]))
        if flagged <= set(uids):
            client.expunge()
        else:
            log.warning("%s: not expunging: %d other \\Deleted messages in %s", self.mailbox.name, len(flagged - set(uids)), self.mailbox.folder)


def _tls_or_transient(exc: ssl.SSLError, what: str) -> Exception:
    # The peer hanging up mid-handshake is a network failure (a restarting server), not a
    # TLS verdict; every other TLS error (certificate, protocol) is fatal.
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return ConnectionLost(f"{what}: {exc}")
    return TlsFailed(f"{what}: {exc}")


def _text(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


def _hint(responses: Iterable[object]) -> bool:
    hint = False
    for r in responses:
        if isinstance(r, tuple) and len(r) >= 2:
            if r[0] == b"BYE":
                raise ConnectionLost(f"server said BYE: {_text(Exception(r[1]))}")
            if r[1] in (b"EXISTS", b"RECENT"):
                hint = True
    return hint


def as_utc(value: datetime) -> datetime:
    """INTERNALDATE as aware UTC (a zone-less value is taken as UTC, which imapclient never gives here)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def message_id_of(raw: bytes) -> str:
    """The Message-ID for log lines; '-' when there is none."""
    try:
        value = BytesHeaderParser(policy=compat32).parsebytes(raw).get("Message-ID")
    except Exception:
        return "-"
    return str(value).strip() if value else "-"


# -- bookkeeping in the database ------------------------------------------------------
def note_uidvalidity(db: Database, name: str, uidvalidity: int, now: datetime) -> int | None:
    """Record the folder's UIDVALIDITY; return the previous value when it changed, else None.

    Nothing is skipped by UID, so a change needs no special handling: every message in
    the folder is read again and content de-duplication drops the ones stored before.
    """

    def work(s: Session) -> int | None:
        row = s.get(ImapState, name)
        if row is None:
            s.add(ImapState(name=name, uidvalidity=uidvalidity, updated_at=now))
            return None
        previous = row.uidvalidity
        row.uidvalidity, row.updated_at = uidvalidity, now
        return previous if previous is not None and previous != uidvalidity else None

    return db.write(work)


def record_quarantine(db: Database, *, source: str, received_at: datetime, header: bytes, size: int, reason: str, now: datetime) -> int:
    """Store a quarantined ``inbound`` row holding the message's header block and the reason.

    The key is derived from the header block, so quarantining the same message again after
    a crash (between this commit and the move) finds the first row instead of adding one.
    """
    key = hashlib.sha256(b"imap-quarantine\0" + source.encode() + b"\0" + header).hexdigest()
    msgid = message_id_of(header)

    def work(s: Session) -> int:
        found = s.scalar(select(Inbound.id).where(Inbound.dedup_key == key))
        if found is not None:
            return found
        row = Inbound(
            received_at=received_at.replace(microsecond=0),
            source=source,
            envelope_from=None,
            recipients=[],
            raw=header,
            size=size,
            message_id=None if msgid == "-" else msgid[:998],
            dedup_key=key,
            status="quarantined",
            outcome="quarantined",
            reason=reason[:2000],
            processed_at=now,
            attempts=0,
        )
        s.add(row)
        s.flush()
        return row.id

    return db.write(work)


# -- one pass over the folder ---------------------------------------------------------
def sync_folder(
    conn: Connection,
    db: Database,
    clock: Clock,
    max_bytes: int,
    *,
    tick: Callable[[], None],
    wake: Callable[[], None],
    should_stop: Callable[[], bool],
) -> SyncReport:
    """Store every message in the selected folder, then move it out; return what happened.

    ``tick`` is called between messages (it renews the lease and may raise to abandon the
    pass); ``wake`` tells the pipeline worker that stored mail is waiting.
    """
    client = conn.client
    assert client is not None
    m = conn.mailbox
    source = f"imap:{m.name}"
    report = SyncReport()
    uids = sorted(client.search(["ALL"]))
    for start in range(0, len(uids), conn.timing.batch):
        if should_stop():
            break
        tick()
        chunk = uids[start:start + conn.timing.batch]
        meta = client.fetch(chunk, ["RFC822.SIZE", "INTERNALDATE"])
        done: list[int] = []
        quarantined: list[int] = []
        try:
            for uid in chunk:
                if uid not in meta:
                    continue  # expunged by someone else since the SEARCH
                tick()
                report.seen += 1
                size = int(meta[uid][b"RFC822.SIZE"])
                received_at = as_utc(meta[uid][b"INTERNALDATE"])
                if size > max_bytes:
                    _quarantine(conn, db, clock, uid, size, received_at, f"too large: {size} bytes, the limit is {max_bytes}")
                    quarantined.append(uid)
                    continue
                body = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {}).get(b"BODY[]")
                if body is None:
                    continue
                if len(body) > max_bytes:
                    _quarantine(conn, db, clock, uid, len(body), received_at, f"too large: {len(body)} bytes, the limit is {max_bytes}")
                    quarantined.append(uid)
                    continue
                try:
                    stored = store_raw(db, body, received_at=received_at, source=source)
                except Exception as exc:
                    if _transient(exc):
                        raise
                    log.error("%s uid %d %s: cannot store, quarantining: %s", m.name, uid, message_id_of(body), exc)
                    _quarantine(conn, db, clock, uid, len(body), received_at, f"cannot store: {type(exc).__name__}: {exc}")
                    quarantined.append(uid)
                    continue
                done.append(uid)
                if stored.duplicate:
                    report.duplicates += 1
                else:
                    report.stored += 1
                log.info(
                    "inbound %d %s stored from %s uid %d (%d bytes, internaldate %s)%s",
                    stored.inbound_id, message_id_of(body), m.name, uid, len(body), received_at.isoformat(),
                    " duplicate" if stored.duplicate else "",
                )
        finally:
            # Whatever stopped the batch, what is committed leaves the folder now.
            conn.move(done, m.processed_folder)
            conn.move(quarantined, m.quarantine_folder)
            report.quarantined += len(quarantined)
            if done:
                wake()
    return report


def _quarantine(conn: Connection, db: Database, clock: Clock, uid: int, size: int, received_at: datetime, reason: str) -> None:
    client = conn.client
    assert client is not None
    section = f"BODY.PEEK[HEADER]<0.{STUB_HEADER_BYTES}>"
    data = client.fetch([uid], [section]).get(uid, {})
    header = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER]")), b"") or b""
    try:
        inbound_id = record_quarantine(db, source=f"imap:{conn.mailbox.name}", received_at=received_at, header=header, size=size, reason=reason, now=clock.now())
    except Exception as exc:
        if _transient(exc):
            raise
        # The message still leaves the folder, so it cannot block the mail behind it.
        log.error("%s uid %d %s quarantined, reason not stored (%s): %s", conn.mailbox.name, uid, message_id_of(header), exc, reason)
        return
    log.warning("inbound %d %s from %s uid %d quarantined: %s", inbound_id, message_id_of(header), conn.mailbox.name, uid, reason)
