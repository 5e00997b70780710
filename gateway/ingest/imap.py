"""Intake from an IMAP mailbox: one reader task per ``[[imap]]`` table (issue 7).

Sits beside the SMTP/LMTP listener at the start of the flow: it stores raw messages
(through :mod:`gateway.ingest.imap_sync`, which calls ``store_raw``), moves them out of
the folder, and wakes the pipeline worker. It never decides policy.

The task keeps a lease (:mod:`gateway.store.leases`) so one process at a time reads a
mailbox, connects with TLS unless the config says ``tls = "none"`` (loopback only),
re-syncs with ``UID SEARCH ALL`` every ``resync_seconds`` and whenever IDLE (RFC 2177)
hints at new mail, and renews IDLE within ``idle_renew_seconds`` (the RFC asks for less
than 29 minutes; NAT boxes want much less). Every blocking call runs in a thread.

Failures: a dropped connection, a timeout or a restarting server reconnects with capped
exponential backoff; a refused login shows ``auth-failed`` in ``ticket-gateway status``
and is retried slowly; a TLS failure stops this mailbox (never a plain-text downgrade).
"""
from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from imapclient.exceptions import IMAPClientError

from gateway.clock import Clock
from gateway.config import ImapConfig
from gateway.ingest.imap_sync import AuthFailed, Connection, ConnectionLost, SyncReport, Timing, TlsFailed, note_uidvalidity, sync_folder
from gateway.status import HOLDER, StatusBoard
from gateway.store import leases
from gateway.store.db import Database

log = logging.getLogger("gateway.ingest.imap")

KIND = "mailbox"

ReaderTask = Callable[[asyncio.Event, Callable[[], None]], Awaitable[None]]

__all__ = ["MailboxReader", "ReaderTask", "Timing", "reader_task", "lease_name"]


class LeaseLost(Exception):
    """Another process holds the mailbox now; stop reading it."""


def lease_name(mailbox: ImapConfig) -> str:
    return f"imap {mailbox.name}"


def reader_task(
    db: Database,
    clock: Clock,
    status: StatusBoard,
    mailbox: ImapConfig,
    max_bytes: int,
    *,
    holder: str = HOLDER,
    timing: Timing = Timing(),
    ssl_context: ssl.SSLContext | None = None,
) -> ReaderTask:
    """The daemon's entry point: an async callable ``task(stopping, wake_worker)``."""
    return MailboxReader(db, clock, status, mailbox, max_bytes, holder=holder, timing=timing, ssl_context=ssl_context).run


class MailboxReader:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        status: StatusBoard,
        mailbox: ImapConfig,
        max_bytes: int,
        *,
        holder: str = HOLDER,
        timing: Timing = Timing(),
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.status = status
        self.mailbox = mailbox
        self.max_bytes = max_bytes
        self.holder = holder
        self.timing = timing
        self.ssl_context = ssl_context
        self.lease = lease_name(mailbox)
        self._renewed_at = float("-inf")
        self._backoff = timing.backoff_first

    # -- the lease --------------------------------------------------------------------
    def _take_lease(self) -> bool:
        ok = leases.acquire(self.db, self.lease, self.holder, self.clock.now(), timedelta(seconds=self.timing.lease_ttl))
        if ok:
            self._renewed_at = time.monotonic()
        return ok

    def _keep_lease(self) -> None:
        """Renew when due; raise LeaseLost if another process took the mailbox meanwhile."""
        if time.monotonic() - self._renewed_at < self.timing.lease_renew:
            return
        if not self._take_lease():
            raise LeaseLost(f"{self.mailbox.name}: lease taken over by another process")

    # -- the task ---------------------------------------------------------------------
    async def run(self, stopping: asyncio.Event, wake: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()

        def wake_threadsafe() -> None:
            loop.call_soon_threadsafe(wake)

        name = self.mailbox.name
        waiting_logged = False
        try:
            while not stopping.is_set():
                try:
                    have = await asyncio.to_thread(self._take_lease)
                except Exception as exc:
                    log.warning("%s: cannot take the lease (database): %s", name, exc)
                    await _sleep(stopping, self._next_backoff())
                    continue
                if not have:
                    if not waiting_logged:
                        log.info("%s: read by another process; standing by", name)
                        waiting_logged = True
                    await _sleep(stopping, self.timing.lease_renew)
                    continue
                waiting_logged = False
                try:
                    await self._read(stopping, wake_threadsafe)
                except LeaseLost as exc:
                    log.warning("%s", exc)
                except AuthFailed as exc:
                    log.error("%s: AUTHENTICATION FAILED: %s; retrying in %.0f s", name, exc, self.timing.auth_retry)
                    await self._report_error(str(exc), "auth-failed")
                    await _sleep(stopping, self.timing.auth_retry)
                except TlsFailed as exc:
                    log.critical("%s: TLS FAILED, no longer reading this mailbox (fix and restart): %s", name, exc)
                    await self._report_error(str(exc), "tls-failed")
                    return
                except Exception as exc:
                    delay = self._next_backoff()
                    if isinstance(exc, (OSError, ConnectionLost)) or _is_imap_error(exc):
                        log.warning("%s: %s: %s; reconnecting in %.0f s", name, type(exc).__name__, exc, delay)
                    else:
                        log.exception("%s: reader failed; reconnecting in %.0f s", name, delay)
                    await self._report_error(f"{type(exc).__name__}: {exc}", "failing")
                    await _sleep(stopping, delay)
        finally:
            try:
                await asyncio.to_thread(leases.release, self.db, self.lease, self.holder)
            except Exception as exc:
                log.warning("%s: could not release the lease: %s", name, exc)

    def _next_backoff(self) -> float:
        delay = self._backoff
        self._backoff = min(self._backoff * 2, self.timing.backoff_max)
        return delay

    async def _report_error(self, message: str, state: str) -> None:
        try:
            await asyncio.to_thread(self.status.error, self.mailbox.name, KIND, message, state)
        except Exception as exc:
            log.warning("%s: cannot record status: %s", self.mailbox.name, exc)

    async def _read(self, stopping: asyncio.Event, wake: Callable[[], None]) -> None:
        """Connect, then sync and wait for mail until stopped or the connection fails."""
        conn = Connection(self.mailbox, self.timing, self.ssl_context)
        try:
            await asyncio.to_thread(conn.open)
            log.info("%s: connected to %s:%d (%s)", self.mailbox.name, self.mailbox.host, self.mailbox.port, self.mailbox.tls)
            while not stopping.is_set():
                report = await asyncio.to_thread(self._sync, conn, stopping, wake)
                self._backoff = self.timing.backoff_first
                if report.seen:
                    log.info("%s: pass done: %d seen, %d stored, %d duplicates, %d quarantined", self.mailbox.name, report.seen, report.stored, report.duplicates, report.quarantined)
                await asyncio.to_thread(self.status.ok, self.mailbox.name, KIND)
                if stopping.is_set():
                    break
                await self._wait_for_mail(conn, stopping)
        finally:
            await asyncio.to_thread(conn.close)

    def _sync(self, conn: Connection, stopping: asyncio.Event, wake: Callable[[], None]) -> SyncReport:
        self._keep_lease()
        uidvalidity = conn.select()
        previous = note_uidvalidity(self.db, self.mailbox.name, uidvalidity, self.clock.now())
        if previous is not None:
            log.warning(
                "%s: UIDVALIDITY changed from %d to %d (folder recreated or restored); reading every message again, de-duplication drops those already stored",
                self.mailbox.name, previous, uidvalidity,
            )
        return sync_folder(conn, self.db, self.clock, self.max_bytes, tick=self._keep_lease, wake=wake, should_stop=stopping.is_set)

    async def _wait_for_mail(self, conn: Connection, stopping: asyncio.Event) -> None:
        """Wait until a hint of new mail, the re-sync interval, or the stop; keep the lease."""
        resync_at = time.monotonic() + self.mailbox.resync_seconds
        if not conn.has("IDLE"):
            while not stopping.is_set() and time.monotonic() < resync_at:
                await _sleep(stopping, min(self.timing.poll, max(0.0, resync_at - time.monotonic())))
                await asyncio.to_thread(self._keep_lease)
                if not stopping.is_set() and await asyncio.to_thread(conn.poll):
                    return
            return
        renew_at = time.monotonic() + self.mailbox.idle_renew_seconds
        await asyncio.to_thread(conn.idle_start)
        hint = False
        while not stopping.is_set() and not hint and time.monotonic() < resync_at:
            if time.monotonic() >= renew_at:
                # Leave and re-enter IDLE well within the server's inactivity timeout.
                hint = await asyncio.to_thread(conn.idle_end)
                if hint:
                    return
                await asyncio.to_thread(conn.idle_start)
                renew_at = time.monotonic() + self.mailbox.idle_renew_seconds
            hint = await asyncio.to_thread(conn.idle_wait, self.timing.idle_check)
            await asyncio.to_thread(self._keep_lease)
        await asyncio.to_thread(conn.idle_end)


def _is_imap_error(exc: BaseException) -> bool:
    return isinstance(exc, IMAPClientError)


async def _sleep(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep, but return at once when the daemon stops."""
    if seconds <= 0 or stopping.is_set():
        return
    try:
        await asyncio.wait_for(stopping.wait(), seconds)
    except TimeoutError:
        pass
