"""The calendar against a naive minute-stepping reference on random instants (POLICY.md P3).

The reference shares nothing with the calendar but the policy sentence: an instant is
business time when its wall-clock time in the zone is in [09:00, 17:00) on Monday to
Friday and its local date is not a public holiday. Offsets and transitions fall on whole
minutes, so membership is constant over each UTC minute and the reference steps minute
by minute (the partial first minute too).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.policy.calendar import BusinessCalendar, use_bundled_tzdata

UTC = timezone.utc
OPENS, CLOSES = time(9), time(17)
PLACES = [
    ("Europe/Berlin", "DE", "BY"),
    ("America/New_York", "US", "NY"),
    ("Australia/Sydney", "AU", "NSW"),
    ("Australia/Lord_Howe", "AU", "NSW"),  # half-hour DST
    ("Pacific/Chatham", "NZ", None),  # +12:45 / +13:45
    ("Asia/Kathmandu", "NP", None),
    ("Asia/Jerusalem", "IL", None),  # transitions on Fridays
    ("Africa/Cairo", "EG", None),  # transitions on Thursdays/Fridays
    ("America/Vancouver", "CA", "BC"),
    ("Africa/Casablanca", "MA", None),
    ("America/Havana", "CU", None),
    ("Asia/Shanghai", "CN", None),
]


@pytest.fixture(scope="module", autouse=True)
def bundled_tzdata() -> Iterator[None]:
    use_bundled_tzdata()
    yield


class MinuteStepper:
    """The obviously-correct, slow reference."""

    def __init__(
        self, tz: str, country: str, subdiv: str | None,
        weekdays: range = range(5), opens: time = OPENS, closes: time = CLOSES,
    ) -> None:
        self.zone = ZoneInfo(tz)
        self.book = holidays.country_holidays(country, subdiv=subdiv)
        self.weekdays, self.opens, self.closes = weekdays, opens, closes

    def is_business(self, t: int) -> bool:
        local = datetime.fromtimestamp(t, self.zone)
        return local.weekday() in self.weekdays and self.opens <= local.time() < self.closes and local.date() not in self.book

    def add(self, t: int, seconds: int) -> int:
        remaining = seconds
        while True:
            minute_end = (t // 60 + 1) * 60
            if self.is_business(t):
                if remaining <= minute_end - t:
                    return t + remaining
                remaining -= minute_end - t
            t = minute_end

    def between(self, a: int, b: int) -> int:
        total, t = 0, a
        while t < b:
            minute_end = min((t // 60 + 1) * 60, b)
            if self.is_business(t):
                total += minute_end - t
            t = minute_end
        return total


_calendars: dict[tuple[str, str, str | None], tuple[BusinessCalendar, MinuteStepper]] = {}


def pair(place: tuple[str, str, str | None]) -> tuple[BusinessCalendar, MinuteStepper]:
    if place not in _calendars:
        cal = BusinessCalendar(*place, weekdays=range(5), opens=OPENS, closes=CLOSES)
        _calendars[place] = (cal, MinuteStepper(*place))
    return _calendars[place]


instants = st.integers(
    min_value=int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()),
    max_value=int(datetime(2029, 1, 1, tzinfo=UTC).timestamp()),
)
# Whole minutes and hours are where the edges are; mix them with arbitrary seconds.
aligned_instants = st.one_of(instants, instants.map(lambda t: t - t % 60), instants.map(lambda t: t - t % 900))
durations = st.one_of(st.integers(0, 12 * 3600), st.sampled_from([0, 3600, 4 * 3600, 8 * 3600]))


@settings(max_examples=150, deadline=None)
@given(place=st.sampled_from(PLACES), t=aligned_instants, seconds=durations)
def test_add_matches_the_minute_stepper(place: tuple[str, str, str | None], t: int, seconds: int) -> None:
    cal, ref = pair(place)
    start = datetime.fromtimestamp(t, UTC)
    assert int(cal.add_business_time(start, seconds).timestamp()) == ref.add(t, seconds)


@settings(max_examples=80, deadline=None)
@given(place=st.sampled_from(PLACES), t=aligned_instants, span=st.integers(0, 6 * 86400))
def test_between_matches_the_minute_stepper(place: tuple[str, str, str | None], t: int, span: int) -> None:
    cal, ref = pair(place)
    a, b = datetime.fromtimestamp(t, UTC), datetime.fromtimestamp(t + span, UTC)
    assert cal.business_seconds_between(a, b) == ref.between(t, t + span)


@settings(max_examples=150, deadline=None)
@given(place=st.sampled_from(PLACES), t=aligned_instants, seconds=st.integers(0, 40 * 3600))
def test_subtract_is_the_earliest_instant_with_that_much_left(place: tuple[str, str, str | None], t: int, seconds: int) -> None:
    cal, _ = pair(place)
    end = datetime.fromtimestamp(t, UTC)
    start = cal.subtract_business_time(end, seconds)
    available = cal.business_seconds_between(start, end)
    assert available <= seconds
    # One second earlier, more than ``seconds`` would remain (unless all of it was available).
    before = start - timedelta(seconds=1)
    assert cal.business_seconds_between(before, end) > seconds or available < seconds


@settings(max_examples=150, deadline=None)
@given(place=st.sampled_from(PLACES), t=aligned_instants, seconds=st.integers(0, 40 * 3600))
def test_adding_then_measuring_gives_the_same_amount(place: tuple[str, str, str | None], t: int, seconds: int) -> None:
    cal, _ = pair(place)
    start = datetime.fromtimestamp(t, UTC)
    assert cal.business_seconds_between(start, cal.add_business_time(start, seconds)) == seconds


# --- zone transitions inside the window -----------------------------------------------------
# With 09:00-17:00 hardly any transition touches the window, so these calendars open every
# day over the small hours, where transitions happen, and start near a transition.

NIGHT_SHIFTS = [(time(0, 30), time(3, 0)), (time(1, 0), time(5, 0)), (time(2, 30), time(4, 0)), (time(0, 0), time(1, 30))]
_transitions: dict[str, list[int]] = {}


def transitions(tz: str) -> list[int]:
    """Instants where the zone's offset changes in 2026-2028, by an hourly scan and bisection."""
    if tz not in _transitions:
        zone, found = ZoneInfo(tz), []
        offset = lambda t: datetime.fromtimestamp(t, zone).utcoffset()  # noqa: E731
        t, end = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()), int(datetime(2029, 1, 1, tzinfo=UTC).timestamp())
        while t < end:
            if offset(t) != offset(t + 3600):
                a, b = t, t + 3600
                while b - a > 1:
                    mid = (a + b) // 2
                    a, b = (mid, b) if offset(mid) == offset(t) else (a, mid)
                found.append(b)
            t += 3600
        _transitions[tz] = found
    return _transitions[tz]


DST_PLACES = [p for p in PLACES if p[0] not in ("Asia/Kathmandu", "Asia/Shanghai")]


@settings(max_examples=150, deadline=None)
@given(
    place=st.sampled_from(DST_PLACES),
    which=st.integers(0, 1000),
    shift=st.sampled_from(NIGHT_SHIFTS),
    offset=st.integers(-2 * 86400, 86400),
    seconds=st.integers(0, 6 * 3600),
)
def test_night_shift_across_transitions_matches_the_minute_stepper(
    place: tuple[str, str, str | None], which: int, shift: tuple[time, time], offset: int, seconds: int
) -> None:
    found = transitions(place[0])
    if not found:
        return
    opens, closes = shift
    cal = BusinessCalendar(*place, weekdays=range(7), opens=opens, closes=closes)
    ref = MinuteStepper(*place, weekdays=range(7), opens=opens, closes=closes)
    t = found[which % len(found)] + offset
    start = datetime.fromtimestamp(t, UTC)
    assert int(cal.add_business_time(start, seconds).timestamp()) == ref.add(t, seconds)
    assert cal.business_seconds_between(start, start + timedelta(days=2)) == ref.between(t, t + 2 * 86400)
