"""The daemon face: listeners, the pipeline worker, the outbox sender and the timed work.

``ticket-gateway serve`` runs :func:`serve`. Intake wakes the worker after each stored
message; the worker wakes the sender after each processed one; the timed work runs every
minute. SIGTERM stops accepting, lets in-flight work finish and exits 0 within seconds.
With ``NOTIFY_SOCKET`` set (systemd ``Type=notify``) it reports READY and STOPPING.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gateway.clock import Clock
from gateway.config import Config
from gateway.desk import Desk
from gateway.errors import RetryLater
from gateway.ingest.listener import IntakeHandler, make_factory
from gateway.outbound.sender import OutboxSender
from gateway.outbound.transports import MaildirTransport, SmtpRelayTransport, Transport
from gateway.pipeline.runner import Pipeline
from gateway.status import StatusBoard
from gateway.store.db import Database
from gateway.timed import run_timed_work

log = logging.getLogger("gateway.daemon")

WORKER_POLL_SECONDS = 5.0
SENDER_POLL_SECONDS = 5.0
TICK_SECONDS = 60.0


def sd_notify(state: str) -> None:
    """Tell systemd about our state (sd_notify(3)); a no-op outside systemd."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    if path.startswith("@"):
        path = "\0" + path[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(path)
        sock.sendall(state.encode())


def make_transport(config: Config) -> Transport:
    if config.outbound_relay:
        return SmtpRelayTransport(config.outbound_relay)
    assert config.outbound_maildir is not None
    return MaildirTransport(config.outbound_maildir)


@dataclass
class Daemon:
    config: Config
    db: Database
    desk: Desk
    clock: Clock
    extra_tasks: list[Callable[[asyncio.Event, Callable[[], None]], Awaitable[None]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pipeline = Pipeline(self.db, self.desk, self.clock)
        self.sender = OutboxSender(self.db, make_transport(self.config), self.clock, self.config.desk_address)
        self.status = StatusBoard(self.db, self.clock)
        self.stopping = asyncio.Event()
        self.work_ready = asyncio.Event()
        self.mail_ready = asyncio.Event()

    def wake_worker(self) -> None:
        self.work_ready.set()

    async def _listen(self) -> list[asyncio.base_events.Server]:
        loop = asyncio.get_running_loop()
        servers = []
        limit = self.desk.numbers.max_message_bytes
        for proto, where in (("smtp", self.config.listen_smtp), ("lmtp", self.config.listen_lmtp)):
            if where is None:
                continue
            handler = IntakeHandler(self.db, self.clock, self.config.desk_address, lambda: loop.call_soon_threadsafe(self.wake_worker), source=proto)
            server = await loop.create_server(make_factory(proto, handler, data_size_limit=limit), host=where.host, port=where.port)
            bound = server.sockets[0].getsockname()
            log.info("listening for %s on %s:%d", proto.upper(), bound[0], bound[1])
            self.status.ok(f"listener {proto} {bound[0]}:{bound[1]}", "listener")
            servers.append(server)
        return servers

    async def _worker(self) -> None:
        while not self.stopping.is_set():
            try:
                done = await asyncio.to_thread(self.pipeline.process_pending, 50, self.stopping.is_set)
            except RetryLater as exc:
                log.warning("pipeline: temporary failure, retrying: %s", exc)
                done = []
            except Exception:
                log.exception("pipeline pass failed")
                done = []
            if done:
                self.mail_ready.set()
                if len(done) == 50:
                    continue
            await _wait(self.work_ready, self.stopping, WORKER_POLL_SECONDS)

    async def _sender(self) -> None:
        try:
            await asyncio.to_thread(self.sender.recover)
        except Exception:
            log.exception("outbox recovery failed")
        while not self.stopping.is_set():
            try:
                await self.sender.flush()
            except Exception:
                log.exception("outbox pass failed")
            await _wait(self.mail_ready, self.stopping, SENDER_POLL_SECONDS)

    async def _ticker(self) -> None:
        while not self.stopping.is_set():
            try:
                report = await asyncio.to_thread(run_timed_work, self.db, self.desk, self.clock.now())
                if any(report.values()):
                    log.info("timed work: %s", report)
                    self.mail_ready.set()
            except Exception:
                log.exception("timed work failed")
            try:
                await asyncio.wait_for(self.stopping.wait(), TICK_SECONDS)
            except TimeoutError:
                pass

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        servers = await self._listen()
        tasks = [asyncio.create_task(c) for c in (self._worker(), self._sender(), self._ticker())]
        tasks += [asyncio.create_task(t(self.stopping, self.wake_worker)) for t in self.extra_tasks]
        sd_notify("READY=1\nSTATUS=accepting mail")
        log.info("ticket-gateway ready")
        await self.stopping.wait()
        log.info("stopping: no new connections; finishing in-flight work")
        sd_notify("STOPPING=1")
        for server in servers:
            server.close()
        self.work_ready.set()
        self.mail_ready.set()
        done, pending = await asyncio.wait(tasks, timeout=8)
        for task in pending:
            task.cancel()
        for server in servers:
            try:
                await asyncio.wait_for(server.wait_closed(), 1)
            except TimeoutError:
                pass
        log.info("stopped")
        return 0


async def _wait(event: asyncio.Event, stopping: asyncio.Event, timeout: float) -> None:
    if stopping.is_set():
        return
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        pass
    event.clear()


def imap_tasks(daemon: Daemon) -> list[Callable[[asyncio.Event, Callable[[], None]], Awaitable[None]]]:
    """One reader task per configured ``[[imap]]`` mailbox."""
    if not daemon.config.imap:
        return []
    from gateway.ingest.imap import reader_task

    return [reader_task(daemon.db, daemon.clock, daemon.status, mailbox, daemon.desk.numbers.max_message_bytes) for mailbox in daemon.config.imap]
