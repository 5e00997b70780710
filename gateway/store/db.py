"""The database handle: engine, sessions, migrations, and write transactions.

SQLite (the embedded default) runs in WAL mode with synchronous=FULL, so a commit is on
disk before intake answers 250, and every write transaction starts with BEGIN IMMEDIATE
so two processes never interleave their read-then-write of one account. On PostgreSQL the
repositories lock the rows they change (SELECT ... FOR UPDATE).
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gateway.errors import RetryLater

log = logging.getLogger("gateway.store")
T = TypeVar("T")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite and url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, object] = {"echo": echo, "future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _sqlite_setup(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent)."""
        if self.current_revision() == head_revision():
            return  # every CLI call gets here; importing Alembic's machinery costs ~0.3 s
        from alembic import command
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection_url"] = self.url
        with self.engine.begin() as conn:
            if not self.is_sqlite:
                # Two processes starting at once must not both create the schema.
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7262001)")
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session; nothing it changes is kept."""
        with self.sessions() as s:
            yield s

    def write(self, work: Callable[[Session], T], *, attempts: int = 8) -> T:
        """Run ``work`` in one transaction and commit; retry on lock and serialization conflicts.

        The commit is the acknowledgement: either everything ``work`` did is stored, or
        nothing is. A conflict that persists becomes RetryLater (SMTP 451, EX_TEMPFAIL).
        """
        delay = 0.02
        for attempt in range(1, attempts + 1):
            try:
                with self.sessions.begin() as s:
                    return work(s)
            except (OperationalError, DBAPIError) as exc:
                if not _transient(exc) or attempt == attempts:
                    if _transient(exc) or isinstance(exc, OperationalError):
                        raise RetryLater(f"database busy: {exc.orig}") from exc
                    raise
                log.debug("transaction conflict, retry %d: %s", attempt, exc.orig)
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()


def head_revision() -> str:
    """The newest revision in ``migrations/versions`` (the one no other revision revises)."""
    revisions: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text()
        rev = re.search(r"^revision = ['\"]([^'\"]+)['\"]", source, re.M)
        down = re.search(r"^down_revision = (?:['\"]([^'\"]+)['\"]|None)", source, re.M)
        if rev:
            revisions[rev.group(1)] = down.group(1) if down else None
    heads = set(revisions) - {d for d in revisions.values() if d}
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def _transient(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    code = getattr(exc.orig, "sqlstate", None) or getattr(getattr(exc.orig, "diag", None), "sqlstate", None)
    return (
        code in ("40001", "40P01", "55P03")
        or "database is locked" in text
        or "deadlock" in text
        or "could not serialize" in text
        or "connection" in text and isinstance(exc, OperationalError)
    )
