"""Pytest fixtures: a private, real Dovecot for the IMAP intake tests (no mocked IMAP).

Each instance runs from a temporary folder on a free loopback port with the config of
``/work/shared/dovecot/private.conf``: any user name logs in with the password ``secret``,
so every test reads its own mailbox by using its own user name. Tests import the fixtures
from here (``from dovecot import dovecot, dovecot_basic``). Without the ``dovecot`` binary
they skip; with it, a failure to start is an error, never a skip.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from imapclient import IMAPClient

PASSWORD = "secret"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {dir}/run
instance_name = test{port}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{dir}/mail/%u
first_valid_uid = 100
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={dir}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
log_path = {dir}/dovecot.log
{extra}
"""

# A server with none of the extensions the reader prefers: no IDLE, no MOVE, no UIDPLUS.
BASIC_CAPABILITIES = 'imap_capability = "IMAP4rev1 LITERAL+ SASL-IR"'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns a true value or ``timeout`` passes (then fail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class Dovecot:
    """One private Dovecot process: start, stop, restart, and an IMAP client for tests."""

    def __init__(self, binary: str, root: Path, extra: str = "") -> None:
        self.binary = binary
        self.root = root
        self.host = "127.0.0.1"
        self.port = free_port()
        self.conf = root / "dovecot.conf"
        root.chmod(0o755)  # the mail user (nobody) must be able to enter it
        (root / "run").mkdir(exist_ok=True)
        (root / "mail").mkdir(exist_ok=True)
        shutil.chown(root / "mail", "nobody", "nogroup")
        self.conf.write_text(CONFIG.format(dir=root, port=self.port, password=PASSWORD, extra=extra))

    def _listening(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                return sock.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def start(self) -> None:
        # The daemon keeps inherited pipes open, so send its output to a file, not a pipe.
        with open(self.root / "start.log", "ab") as out:
            subprocess.run([self.binary, "-c", str(self.conf)], check=True, stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=30)
        wait_until(self._listening, 20, f"dovecot on port {self.port}")

    def stop(self) -> None:
        with open(self.root / "start.log", "ab") as out:
            subprocess.run([self.binary, "-c", str(self.conf), "stop"], stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=30)
        wait_until(lambda: not self._listening(), 20, "dovecot to stop")
        # The master exits after its children; wait for its pid file to go.
        wait_until(lambda: not (self.root / "run" / "master.pid").exists(), 20, "dovecot master to exit")
        # Here the master leaves its imap processes running (a real restart drops them), so
        # end this instance's leftovers by pid, as a restarting server would.
        for pid in self._instance_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_until(lambda: not self._instance_pids(), 20, "dovecot processes to exit")

    def _instance_pids(self) -> list[int]:
        prefix = f"dovecot-test{self.port}/".encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmd = (entry / "cmdline").read_bytes()
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if cmd.startswith(prefix) and state != "Z":
                pids.append(int(entry.name))
        return pids

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_text(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- helpers for tests ------------------------------------------------------------
    def client(self, user: str) -> IMAPClient:
        c = IMAPClient(self.host, self.port, ssl=False, timeout=30)
        c.login(user, PASSWORD)
        return c

    def append(self, user: str, raw: bytes, *, folder: str = "INBOX", flags: tuple[bytes, ...] = (), at: datetime | None = None) -> None:
        with self.client(user) as c:
            if not c.folder_exists(folder):
                c.create_folder(folder)
            c.append(folder, raw, flags=flags, msg_time=at)

    def uids(self, user: str, folder: str) -> list[int]:
        with self.client(user) as c:
            if not c.folder_exists(folder):
                return []
            c.select_folder(folder, readonly=True)
            return sorted(c.search(["ALL"]))

    def messages(self, user: str, folder: str) -> list[tuple[bytes, tuple[bytes, ...]]]:
        """(raw, flags) of every message in ``folder``."""
        with self.client(user) as c:
            if not c.folder_exists(folder):
                return []
            c.select_folder(folder, readonly=True)
            uids = c.search(["ALL"])
            data = c.fetch(uids, ["BODY.PEEK[]", "FLAGS"]) if uids else {}
            return [(data[u][b"BODY[]"], tuple(data[u][b"FLAGS"])) for u in sorted(data)]


def new_user() -> str:
    return "u" + uuid.uuid4().hex[:12]


def _start(extra: str) -> Iterator[Dovecot]:
    binary = shutil.which("dovecot") or next((p for p in ("/usr/sbin/dovecot",) if os.path.exists(p)), None)
    if binary is None:
        pytest.skip("dovecot is not installed (apt-get install -y dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="tg-dovecot-"))
    server = Dovecot(binary, root, extra)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A full-featured Dovecot (IDLE, MOVE, UIDPLUS), shared by the session."""
    yield from _start("")


@pytest.fixture(scope="session")
def dovecot_basic() -> Iterator[Dovecot]:
    """A Dovecot that advertises no IDLE, MOVE or UIDPLUS, for the fallback paths."""
    yield from _start(BASIC_CAPABILITIES)


# -- databases for the IMAP tests: SQLite and PostgreSQL ------------------------------
PG_ADMIN = os.environ.get("TG_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_admin(sql: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test: a SQLite file, or a new PostgreSQL database."""
    from gateway.store.db import Database

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gateway.db'}"
        Database(url).migrate()
        yield url
        return
    name = "tg_imap_" + uuid.uuid4().hex[:12]
    try:
        _pg_admin(f"CREATE DATABASE {name}")
    except Exception as exc:  # no server: the SQLite half still runs
        pytest.skip(f"PostgreSQL at {PG_ADMIN} unavailable: {exc}")
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    db = Database(url)
    db.migrate()
    db.dispose()
    try:
        yield url
    finally:
        _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
