"""Targeted cases of the business calendar (POLICY.md P3, shared/sla/README.md).

Expected instants are written as the customer's wall-clock time and converted with the
zone, so each case reads as the policy sentence it checks.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from gateway.policy.calendar import (
    BusinessCalendar,
    CalendarError,
    data_versions,
    format_local,
    use_bundled_tzdata,
)

UTC = timezone.utc
HOUR = 3600
OFFICE = {"weekdays": (0, 1, 2, 3, 4), "opens": time(9), "closes": time(17)}


@pytest.fixture(scope="module", autouse=True)
def bundled_tzdata() -> Iterator[None]:
    use_bundled_tzdata()
    yield


def office(tz: str, country: str, subdiv: str | None = None, **overrides: object) -> BusinessCalendar:
    kwargs: dict[str, object] = {**OFFICE, "first_response_hours": 4, "warn_before_minutes": 60, **overrides}
    return BusinessCalendar(tz, country, subdiv, **kwargs)  # type: ignore[arg-type]


def wall(tz: str, *parts: int, fold: int = 0) -> datetime:
    """An instant given as wall-clock time in ``tz``, returned in UTC."""
    return datetime(*parts, tzinfo=ZoneInfo(tz), fold=fold).astimezone(UTC)  # type: ignore[misc]


# --- 09:00 open, 17:00 closed, seconds count ---------------------------------------------

BERLIN = "Europe/Berlin"


def test_deadline_landing_on_1700_stays_at_1700() -> None:
    cal = office(BERLIN, "DE")
    assert cal.deadline(wall(BERLIN, 2026, 6, 10, 13, 0, 0)) == wall(BERLIN, 2026, 6, 10, 17, 0, 0)


def test_logged_at_1700_waits_for_next_opening() -> None:
    cal = office(BERLIN, "DE")
    assert cal.deadline(wall(BERLIN, 2026, 6, 10, 17, 0, 0)) == wall(BERLIN, 2026, 6, 11, 13, 0, 0)


def test_last_business_second_before_closing_counts() -> None:
    cal = office(BERLIN, "DE")
    assert cal.deadline(wall(BERLIN, 2026, 6, 10, 16, 59, 59)) == wall(BERLIN, 2026, 6, 11, 12, 59, 59)


def test_0900_is_open() -> None:
    cal = office(BERLIN, "DE")
    assert cal.is_business_time(wall(BERLIN, 2026, 6, 10, 9, 0, 0))
    assert not cal.is_business_time(wall(BERLIN, 2026, 6, 10, 8, 59, 59))
    assert not cal.is_business_time(wall(BERLIN, 2026, 6, 10, 17, 0, 0))
    assert cal.deadline(wall(BERLIN, 2026, 6, 10, 9, 0, 0)) == wall(BERLIN, 2026, 6, 10, 13, 0, 0)


def test_fractions_of_a_second_are_dropped() -> None:
    cal = office(BERLIN, "DE")
    just_before_open = wall(BERLIN, 2026, 6, 10, 8, 59, 59) + timedelta(microseconds=999_999)
    assert cal.deadline(just_before_open) == wall(BERLIN, 2026, 6, 10, 13, 0, 0)
    inside = wall(BERLIN, 2026, 6, 10, 12, 59, 59) + timedelta(microseconds=700_000)
    assert cal.deadline(inside) == wall(BERLIN, 2026, 6, 10, 16, 59, 59)


def test_weekend_arrival_starts_monday() -> None:
    cal = office(BERLIN, "DE")
    # Friday 16:00 leaves one hour; the other three run on Monday.
    assert cal.deadline(wall(BERLIN, 2026, 6, 12, 16, 0)) == wall(BERLIN, 2026, 6, 15, 12, 0)
    assert cal.deadline(wall(BERLIN, 2026, 6, 13, 11, 0)) == wall(BERLIN, 2026, 6, 15, 13, 0)


# --- DST: still 09:00-17:00 on the wall clock --------------------------------------------


def test_dst_north_spring_forward_over_weekend() -> None:
    ny = "America/New_York"  # EST -> EDT on Sunday 8 March 2026
    cal = office(ny, "US")
    assert cal.deadline(wall(ny, 2026, 3, 6, 16, 0)) == wall(ny, 2026, 3, 9, 12, 0)
    assert cal.deadline(wall(ny, 2026, 3, 6, 16, 0)) == datetime(2026, 3, 9, 16, 0, tzinfo=UTC)


def test_dst_south_spring_forward_and_labour_day() -> None:
    syd = "Australia/Sydney"  # AEST -> AEDT on Sunday 4 October 2026; Monday 5th is Labour Day (NSW)
    cal = office(syd, "AU", "NSW")
    assert cal.holiday(date(2026, 10, 5)) is not None
    assert cal.deadline(wall(syd, 2026, 10, 2, 16, 0)) == wall(syd, 2026, 10, 6, 12, 0)
    assert cal.deadline(wall(syd, 2026, 10, 2, 16, 0)) == datetime(2026, 10, 6, 1, 0, tzinfo=UTC)


def test_dst_south_fall_back() -> None:
    syd = "Australia/Sydney"  # AEDT -> AEST on Sunday 4 April 2027 (no holiday on 2 or 5 April 2027)
    cal = office(syd, "AU", "NSW")
    assert cal.holiday(date(2027, 4, 2)) is None and cal.holiday(date(2027, 4, 5)) is None
    assert cal.deadline(wall(syd, 2027, 4, 2, 15, 30)) == wall(syd, 2027, 4, 5, 11, 30)


def test_transition_on_a_weekday_keeps_the_wall_clock_window() -> None:
    jer = "Asia/Jerusalem"  # IST -> IDT at 02:00 on Friday 27 March 2026
    cal = office(jer, "IL")
    (friday,) = cal.windows(date(2026, 3, 27), 1)
    (window,) = friday.windows
    assert window.start == wall(jer, 2026, 3, 27, 9, 0) == datetime(2026, 3, 27, 6, 0, tzinfo=UTC)
    assert window.end == wall(jer, 2026, 3, 27, 17, 0) == datetime(2026, 3, 27, 14, 0, tzinfo=UTC)


def test_dst_sunday_window_is_eight_wall_clock_hours() -> None:
    ny = "America/New_York"
    cal = office(ny, "US", weekdays=range(7))
    for day in (date(2026, 3, 8), date(2026, 11, 1)):
        start = datetime.combine(day, time(0), tzinfo=ZoneInfo(ny))
        assert cal.business_seconds_between(start, start + timedelta(days=1)) == 8 * HOUR


def test_gap_inside_the_window_is_skipped() -> None:
    # 02:00-03:00 does not exist on 8 March 2026 in New York; a 01:00-05:00 window holds 3 hours.
    ny = "America/New_York"
    cal = office(ny, "US", weekdays=range(7), opens=time(1), closes=time(5))
    (day,) = cal.windows(date(2026, 3, 8), 1)
    (window,) = day.windows
    assert (window.start, window.end) == (datetime(2026, 3, 8, 6, 0, tzinfo=UTC), datetime(2026, 3, 8, 9, 0, tzinfo=UTC))


def test_opening_inside_a_gap_opens_at_the_transition() -> None:
    ny = "America/New_York"
    cal = office(ny, "US", weekdays=range(7), opens=time(2, 30), closes=time(5))
    (day,) = cal.windows(date(2026, 3, 8), 1)
    assert day.windows[0].start == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)  # 03:00 EDT, the first wall time after 02:30


def test_repeated_hour_inside_the_window_counts_twice() -> None:
    # 01:00-02:00 happens twice on 1 November 2026 in New York; 00:30-03:00 holds 3.5 hours.
    ny = "America/New_York"
    cal = office(ny, "US", weekdays=range(7), opens=time(0, 30), closes=time(3))
    start = wall(ny, 2026, 11, 1, 0, 0)
    assert cal.business_seconds_between(start, start + timedelta(days=1)) == 3 * HOUR + 30 * 60
    assert cal.add_business_time(wall(ny, 2026, 11, 1, 1, 30, fold=0), HOUR) == wall(ny, 2026, 11, 1, 1, 30, fold=1)


# --- half- and quarter-hour zones ---------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "country", "day"),
    [
        ("Asia/Kathmandu", "NP", date(2026, 6, 10)),  # +05:45
        ("Asia/Kolkata", "IN", date(2026, 6, 10)),  # +05:30
        ("Pacific/Chatham", "NZ", date(2026, 6, 10)),  # +12:45 in winter
        ("Australia/Adelaide", "AU", date(2026, 6, 10)),  # +09:30 in winter
    ],
)
def test_odd_offset_zones_open_at_local_0900(tz: str, country: str, day: date) -> None:
    cal = office(tz, country)
    assert cal.holiday(day) is None
    logged = wall(tz, day.year, day.month, day.day, 8, 45)
    assert cal.deadline(logged) == wall(tz, day.year, day.month, day.day, 13, 0)
    assert cal.describe_arrival(logged).clock_starts == wall(tz, day.year, day.month, day.day, 9, 0)


def test_kathmandu_window_in_utc() -> None:
    cal = office("Asia/Kathmandu", "NP")
    (day,) = cal.windows(date(2026, 6, 10), 1)
    assert day.windows[0].start == datetime(2026, 6, 10, 3, 15, tzinfo=UTC)
    assert day.windows[0].end == datetime(2026, 6, 10, 11, 15, tzinfo=UTC)


# --- holidays -------------------------------------------------------------------------------


def test_regional_holidays_bavaria_versus_berlin() -> None:
    by, be = office(BERLIN, "DE", "BY"), office(BERLIN, "DE", "BE")
    # Epiphany, Tuesday 6 January 2026: Bavaria only.
    assert by.holiday(date(2026, 1, 6)) is not None and be.holiday(date(2026, 1, 6)) is None
    assert be.deadline(wall(BERLIN, 2026, 1, 6, 9, 0)) == wall(BERLIN, 2026, 1, 6, 13, 0)
    assert by.deadline(wall(BERLIN, 2026, 1, 6, 9, 0)) == wall(BERLIN, 2026, 1, 7, 13, 0)
    # International Women's Day, Monday 8 March 2027: Berlin only.
    assert be.holiday(date(2027, 3, 8)) is not None and by.holiday(date(2027, 3, 8)) is None
    assert be.deadline(wall(BERLIN, 2027, 3, 8, 9, 0)) == wall(BERLIN, 2027, 3, 9, 13, 0)
    assert by.deadline(wall(BERLIN, 2027, 3, 8, 9, 0)) == wall(BERLIN, 2027, 3, 8, 13, 0)


def test_year_end_runs_over_new_year() -> None:
    cal = office(BERLIN, "DE")
    # Thursday 31 Dec 2026, 16:00: one hour; Friday 1 Jan is a holiday; then the weekend.
    assert cal.deadline(wall(BERLIN, 2026, 12, 31, 16, 0)) == wall(BERLIN, 2027, 1, 4, 12, 0)


def test_observed_new_year_falls_in_the_previous_year() -> None:
    ny = "America/New_York"
    cal = office(ny, "US")
    # 1 January 2028 is a Saturday; the US observes it on Friday 31 December 2027.
    assert "observed" in (cal.holiday(date(2027, 12, 31)) or "")
    assert cal.deadline(wall(ny, 2027, 12, 30, 16, 0)) == wall(ny, 2028, 1, 3, 12, 0)


def test_thanksgiving_arrival_is_named() -> None:
    ny = "America/New_York"
    cal = office(ny, "US")
    arrival = cal.describe_arrival(wall(ny, 2026, 11, 26, 10, 0))
    assert arrival.outside_hours and not arrival.weekend
    assert arrival.holiday is not None and "Thanksgiving" in arrival.holiday
    assert arrival.clock_starts == wall(ny, 2026, 11, 27, 9, 0)


def test_inside_hours_arrival() -> None:
    cal = office(BERLIN, "DE")
    logged = wall(BERLIN, 2026, 6, 10, 10, 0)
    arrival = cal.describe_arrival(logged)
    assert not arrival.outside_hours and arrival.holiday is None and arrival.clock_starts == logged


def test_holiday_names_do_not_follow_the_process_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE", "de")
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    assert office(BERLIN, "DE").holiday(date(2026, 12, 25)) == "Christmas Day"


def test_weekend_holiday_is_reported_as_weekend_with_its_name() -> None:
    (day,) = office(BERLIN, "DE").windows(date(2026, 12, 26), 1)  # a Saturday
    assert day.closed == "weekend" and day.holiday is not None and day.windows == ()


def test_christmas_eve_is_a_business_day_where_the_public_list_lacks_it() -> None:
    cal = office("America/New_York", "US")
    assert cal.holiday(date(2026, 12, 24)) is None
    assert cal.windows(date(2026, 12, 24), 1)[0].closed is None


# --- the pinned zone data -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "country", "opens_utc"),
    [
        # tzdata 2026f: Vancouver stays on UTC-7 from November 2026 (the OS files say UTC-8).
        ("America/Vancouver", "CA", datetime(2026, 12, 1, 16, 0, tzinfo=UTC)),
        # Casablanca stays on UTC+0 from September 2026 (the OS files say UTC+1).
        ("Africa/Casablanca", "MA", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        # Havana keeps UTC-4 through the winter of 2026 (the OS files say UTC-5).
        ("America/Havana", "CU", datetime(2026, 12, 1, 13, 0, tzinfo=UTC)),
    ],
)
def test_late_2026_zone_rules_come_from_bundled_tzdata(tz: str, country: str, opens_utc: datetime) -> None:
    cal = office(tz, country)
    (day,) = cal.windows(date(2026, 12, 1), 1)
    assert day.windows[0].start == opens_utc
    assert cal.deadline(opens_utc) == opens_utc + timedelta(hours=4)


def test_data_versions_are_the_pinned_ones() -> None:
    # Upgrading either changes deadlines; make it a deliberate change (docs/sla.md).
    versions = data_versions()
    assert versions["holidays"] == "0.109"
    assert versions["tzdata"] == "2026f"
    assert versions["zoneinfo_tzpath"] == "(bundled tzdata only)"


# --- warning, subtraction, formatting, errors -----------------------------------------------


def test_warning_one_business_hour_before_the_deadline() -> None:
    cal = office(BERLIN, "DE")
    clock = cal.response_clock(wall(BERLIN, 2026, 6, 10, 10, 0))
    assert clock.deadline == wall(BERLIN, 2026, 6, 10, 14, 0)
    assert clock.warn_at == wall(BERLIN, 2026, 6, 10, 13, 0)


def test_warning_for_a_deadline_one_hour_after_opening_is_the_previous_closing() -> None:
    cal = office(BERLIN, "DE")
    clock = cal.response_clock(wall(BERLIN, 2026, 6, 11, 14, 0))  # Thursday: 3 h, then Friday 10:00
    assert clock.deadline == wall(BERLIN, 2026, 6, 12, 10, 0)
    assert clock.warn_at == wall(BERLIN, 2026, 6, 11, 17, 0)
    assert cal.business_seconds_between(clock.warn_at, clock.deadline) == HOUR


def test_warning_never_precedes_logging() -> None:
    cal = office(BERLIN, "DE", warn_before_minutes=300)
    logged = wall(BERLIN, 2026, 6, 10, 10, 0)
    assert cal.response_clock(logged).warn_at == logged


def test_business_seconds_between_is_signed() -> None:
    cal = office(BERLIN, "DE")
    a, b = wall(BERLIN, 2026, 6, 12, 16, 0), wall(BERLIN, 2026, 6, 15, 10, 0)
    assert cal.business_seconds_between(a, b) == 2 * HOUR
    assert cal.business_seconds_between(b, a) == -2 * HOUR


def test_format_local() -> None:
    assert format_local(datetime(2026, 12, 1, 11, 30, tzinfo=UTC), "Europe/Berlin") == "Tuesday 1 December 2026, 12:30 CET"
    assert format_local(datetime(2026, 7, 6, 3, 0, tzinfo=UTC), "Asia/Kolkata") == "Monday 6 July 2026, 08:30 IST"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("Mars/Olympus", "DE"), "time zone"),
        ((BERLIN, "ZZ"), "ZZ"),
        ((BERLIN, "DE", "XX"), "XX"),
    ],
)
def test_unknown_zone_country_or_subdivision(args: tuple[str, ...], fragment: str) -> None:
    with pytest.raises(CalendarError, match=fragment):
        office(*args)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(CalendarError, match="offset"):
        office(BERLIN, "DE").deadline(datetime(2026, 6, 10, 10, 0))


def test_deadline_needs_the_policy_numbers() -> None:
    cal = BusinessCalendar(BERLIN, "DE", **OFFICE)  # type: ignore[arg-type]
    with pytest.raises(CalendarError, match="first_response_hours"):
        cal.deadline(wall(BERLIN, 2026, 6, 10, 10, 0))
