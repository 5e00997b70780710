"""The 200 worked first-response deadlines of ``shared/sla/examples.csv`` (POLICY.md P3).

Each row was agreed by three independent methods; every one must come out to the second,
both as the UTC instant and as the customer's local wall-clock time.
"""
from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from gateway.policy.calendar import BusinessCalendar, use_bundled_tzdata
from gateway.rulebook.numbers import load_numbers

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO.parent / "shared" / "sla" / "examples.csv"


def _rows() -> list[dict[str, str]]:
    if not EXAMPLES.exists():
        return []
    with EXAMPLES.open(newline="") as handle:
        return list(csv.DictReader(handle))


ROWS = _rows()


@pytest.fixture(scope="module", autouse=True)
def bundled_tzdata() -> Iterator[None]:
    use_bundled_tzdata()
    yield


@pytest.fixture(scope="module")
def calendars() -> dict[tuple[str, str, str], BusinessCalendar]:
    return {}


def test_examples_file_has_all_200_rows() -> None:
    if not EXAMPLES.exists():
        pytest.skip(f"{EXAMPLES} is absent")
    assert len(ROWS) == 200


@pytest.mark.skipif(not ROWS, reason="shared/sla/examples.csv is absent")
@pytest.mark.parametrize("row", ROWS, ids=[f"{r['logged_at_utc']}-{r['tz']}-{r['country']}-{r['subdiv']}" for r in ROWS])
def test_worked_example(row: dict[str, str], calendars: dict[tuple[str, str, str], BusinessCalendar]) -> None:
    numbers = load_numbers(REPO / "rules")
    key = (row["tz"], row["country"], row["subdiv"])
    if key not in calendars:
        calendars[key] = BusinessCalendar.from_numbers(numbers, row["tz"], row["country"], row["subdiv"] or None)
    calendar = calendars[key]
    deadline = calendar.deadline(datetime.fromisoformat(row["logged_at_utc"]))
    assert deadline == datetime.fromisoformat(row["deadline_utc"])
    assert deadline.astimezone(calendar.zone).isoformat() == row["deadline_local"]
