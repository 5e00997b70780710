"""Benchmark: first-response deadlines per second, calendar vs a naive minute stepper (P3).

Both sides compute the same deadlines on the same generated rows in this run; the
naive side walks minute by minute checking each minute's wall-clock time and holiday,
the calendar walks day by day over cached windows. The script checks they agree on the
rows both computed and prints rows/second for each and the ratio.

    python bench/sla_deadline.py [--rows N] [--naive-rows N] [--seed S]
"""
from __future__ import annotations

import argparse
import random
import sys
import time as clock
from datetime import datetime, time, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.policy.calendar import BusinessCalendar, use_bundled_tzdata  # noqa: E402
from gateway.rulebook.numbers import load_numbers  # noqa: E402

UTC = timezone.utc
PLACES = [
    ("Europe/Berlin", "DE", "BY"),
    ("America/New_York", "US", "NY"),
    ("America/Chicago", "US", "TX"),
    ("Asia/Kolkata", "IN", "MH"),
    ("Australia/Sydney", "AU", "NSW"),
    ("Asia/Kathmandu", "NP", None),
    ("Asia/Shanghai", "CN", None),
    ("Asia/Tokyo", "JP", None),
    ("America/Vancouver", "CA", "BC"),
    ("Pacific/Chatham", "NZ", None),
    ("Europe/London", "GB", "ENG"),
    ("America/Sao_Paulo", "BR", "SP"),
]


class NaiveMinuteStepper:
    def __init__(self, tz: str, country: str, subdiv: str | None, weekdays: tuple[int, ...], opens: time, closes: time) -> None:
        self.zone = ZoneInfo(tz)
        self.book = holidays.country_holidays(country, subdiv=subdiv)
        self.weekdays, self.opens, self.closes = weekdays, opens, closes

    def add(self, t: int, seconds: int) -> int:
        remaining = seconds
        while True:
            minute_end = (t // 60 + 1) * 60
            local = datetime.fromtimestamp(t, self.zone)
            if local.weekday() in self.weekdays and self.opens <= local.time() < self.closes and local.date() not in self.book:
                if remaining <= minute_end - t:
                    return t + remaining
                remaining -= minute_end - t
            t = minute_end


def generate(rows: int, seed: int) -> list[tuple[int, tuple[str, str, str | None]]]:
    rng = random.Random(seed)
    lo = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    hi = int(datetime(2029, 1, 1, tzinfo=UTC).timestamp())
    return [(rng.randrange(lo, hi), rng.choice(PLACES)) for _ in range(rows)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows for the calendar (default 100000)")
    parser.add_argument("--naive-rows", type=int, default=400, help="rows for the naive stepper (default 400)")
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()

    use_bundled_tzdata()
    numbers = load_numbers(Path(__file__).resolve().parent.parent / "rules")
    seconds = numbers.first_response_hours * 3600
    rows = generate(args.rows, args.seed)

    # Calendar side, including building the calendars (cached per place, as the batch CLI does).
    started = clock.perf_counter()
    calendars: dict[tuple[str, str, str | None], BusinessCalendar] = {}
    fast: list[int] = []
    for t, place in rows:
        cal = calendars.get(place)
        if cal is None:
            cal = calendars[place] = BusinessCalendar.from_numbers(numbers, *place)
        fast.append(int(cal.add_business_time(datetime.fromtimestamp(t, UTC), seconds).timestamp()))
    fast_elapsed = clock.perf_counter() - started

    # Naive side on a prefix of the same rows (it is far slower).
    naive_rows = rows[: args.naive_rows]
    started = clock.perf_counter()
    steppers: dict[tuple[str, str, str | None], NaiveMinuteStepper] = {}
    slow: list[int] = []
    for t, place in naive_rows:
        ref = steppers.get(place)
        if ref is None:
            ref = steppers[place] = NaiveMinuteStepper(*place, numbers.weekdays, numbers.opens, numbers.closes)
        slow.append(ref.add(t, seconds))
    slow_elapsed = clock.perf_counter() - started

    disagreements = sum(1 for a, b in zip(fast, slow) if a != b)
    fast_rate = len(rows) / fast_elapsed
    slow_rate = len(naive_rows) / slow_elapsed
    print(f"rows: calendar {len(rows)}, naive {len(naive_rows)} (same generator, seed {args.seed})")
    print(f"calendar:      {fast_rate:12,.0f} rows/s  ({fast_elapsed:.2f} s)")
    print(f"naive minutes: {slow_rate:12,.0f} rows/s  ({slow_elapsed:.2f} s)")
    print(f"ratio:         {fast_rate / slow_rate:12,.1f}x faster")
    print(f"disagreements on the {len(naive_rows)} shared rows: {disagreements}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
