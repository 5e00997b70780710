"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, configs, desks.

Every test that takes ``db`` (or ``db_url``) runs twice, once per engine. PostgreSQL is
the server at ``TG_TEST_PG`` (default: the CI machine's 127.0.0.1:5432, user postgres);
each test session makes its own database there and drops it at the end.
``TG_TEST_BACKENDS=sqlite`` limits a local run to SQLite.
"""
from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from gateway.config import Config, config_from_mapping
from gateway.desk import Desk, build_desk
from gateway.policy.calendar import use_bundled_tzdata
from gateway.policy.splitting import SplitRules
from gateway.rulebook.numbers import load_numbers
from gateway.rulebook.splitting import load_split_rules
from gateway.store.db import Database
from gateway.store.models import Base

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("TG_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = [b for b in os.environ.get("TG_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]

use_bundled_tzdata()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def split_rules() -> SplitRules:
    """The shipped issue-splitting rules (rules/splitting.toml)."""
    return load_split_rules(ROOT / "rules")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    name = f"tg_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    database = Database(url)
    database.migrate()
    database.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    db.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "gateway.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


def config_mapping(db_url: str, tmp_path: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "database": {"url": db_url},
        "desk": {
            "address": "support@example.com",
            "name": "Example Support",
            "technicians": ["tech@example.com"],
            "rules_dir": str(ROOT / "rules"),
            "templates_dir": str(ROOT / "templates"),
            "billing_address": "billing@example.com",
        },
        "outbound": {"maildir": str(tmp_path / "outbox")},
    }
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return raw


def write_config(path: Path, raw: dict[str, Any]) -> Path:
    """Write ``raw`` as TOML (the small subset the gateway's config uses)."""
    lines: list[str] = []
    for table, body in raw.items():
        if isinstance(body, list):
            for item in body:
                lines.append(f"[[{table}]]")
                lines.extend(f"{k} = {_toml(v)}" for k, v in item.items())
            continue
        lines.append(f"[{table}]")
        lines.extend(f"{k} = {_toml(v)}" for k, v in body.items())
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def config(db_url: str, tmp_path: Path) -> Config:
    return config_from_mapping(config_mapping(db_url, tmp_path), tmp_path / "gateway.toml")


@pytest.fixture
def desk(config: Config) -> Desk:
    return build_desk(config, load_numbers(config.rules_dir))


def run_cli(config_path: Path, *args: str, input: bytes | None = None, check: bool = True, child: bool = False) -> subprocess.CompletedProcess[bytes]:
    """Run ``ticket-gateway --config CONFIG ARGS`` and return its exit code and output.

    By default the CLI's own ``main()`` runs in this process, with stdin, stdout and stderr
    swapped for buffers (a child Python costs a second of start-up per call). ``child=True``
    runs it as a separate process, as an admin or an MTA pipe would.
    """
    argv = ["--config", str(config_path), *args]
    if child:
        proc = subprocess.run([sys.executable, "-m", "gateway.cli", *argv], input=input, capture_output=True, cwd=ROOT, timeout=120)
    else:
        proc = _run_in_process(argv, input)
    if check and proc.returncode != 0:
        raise AssertionError(f"ticket-gateway {' '.join(args)} exited {proc.returncode}:\n{proc.stdout.decode()}\n{proc.stderr.decode()}")
    return proc


def _run_in_process(argv: list[str], input: bytes | None) -> subprocess.CompletedProcess[bytes]:
    from gateway.cli import main

    out, err = io.BytesIO(), io.BytesIO()
    stdin = io.TextIOWrapper(io.BytesIO(input or b""), encoding="utf-8")
    stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: --help, usage errors
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def add_account(db: Database, address: str, points: int = 0, *, edition: str = "standard", tz: str = "Europe/Berlin", country: str | None = "DE", subdiv: str | None = None, refund: str = "points", at: str | None = None) -> None:
    """Register an account with one lot, in-process (the CLI path has tests of its own).

    Without ``at`` the lot is bought a day before the wall clock, for tests that talk to a
    running daemon (which stamps arrivals with the real time).
    """
    from datetime import datetime, timedelta, timezone

    from gateway.clock import parse_instant
    from gateway.store import accounts, ledger

    when = parse_instant(at) if at else datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)

    def work(s):  # type: ignore[no-untyped-def]
        account = accounts.add_account(s, address, name=address.split("@")[0].title(), edition=edition, tz=tz, country=country, subdiv=subdiv, refund=refund, at=when)
        if points:
            ledger.purchase(s, account, points, when, years=1)

    db.write(work)
