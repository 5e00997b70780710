"""Every real-world message in ../shared/corpora ends as a decision, never a crash (P8).

Each must end as a ticket, a reply, a recognised bounce or auto-reply, or a quarantined
message with a stated reason. The senders are registered with points first, so the
messages travel the whole chain: scope rules, issue splitting, charging.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from gateway.clock import FrozenClock
from gateway.desk import Desk
from gateway.errors import Quarantine
from gateway.ingest.store import store_raw
from gateway.pipeline.parse import parse_message
from gateway.pipeline.runner import Pipeline
from gateway.store.db import Database
from tests.conftest import ROOT, add_account

CORPORA = ROOT.parent / "shared" / "corpora"
SKIP_SUFFIXES = {".yml", ".json", ".md", ".tsv"}


def corpus_files() -> list[Path]:
    if not CORPORA.is_dir():
        return []
    return sorted(p for p in CORPORA.rglob("*") if p.is_file() and not p.name.startswith("LICENSE") and p.suffix not in SKIP_SUFFIXES and "README" not in p.name)


@pytest.mark.skipif(not corpus_files(), reason="../shared/corpora is not present")
def test_every_corpus_message_ends_with_a_stated_outcome(db: Database, desk: Desk) -> None:
    at = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
    files = corpus_files()
    senders = set()
    for path in files:
        try:
            senders.add(parse_message(path.read_bytes()).from_addr)
        except Quarantine:
            pass
    for sender in sorted(s for s in senders if s and s != desk.config.desk_address):
        try:
            add_account(db, sender, 100000, at="2026-11-01T00:00:00Z")
        except Exception:  # an address the account layer refuses is simply not registered
            continue
    pipeline = Pipeline(db, desk, FrozenClock(at))
    outcomes: Counter[str] = Counter()
    for path in files:
        stored = store_raw(db, path.read_bytes(), received_at=at, source="corpus")
        outcome = pipeline.process(stored.inbound_id)
        assert outcome.outcome in {"opened", "appended", "rejected", "declined", "held", "ignored", "answered", "quarantined"}, (path, outcome)
        if outcome.outcome == "quarantined":
            assert outcome.reason and not outcome.reason.startswith("internal error"), (path, outcome.reason)
        outcomes[outcome.outcome] += 1
    # The corpora hold hundreds of real messages; most are someone asking something.
    assert outcomes["opened"] > 100
    assert outcomes["ignored"] > 50  # bounces, auto-replies, list mail
