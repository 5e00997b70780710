"""The business-hours calendar and the first-response deadline (POLICY.md P3).

Part of the pure policy core. The pipeline asks it for a new ticket's deadline and
warning instant, the acknowledgement asks whether the message arrived outside business
hours (and on which holiday), the timed work asks how much business time is left, and
``ticket-gateway sla`` shows the same answers on the command line. It imports no
storage, network, templates or CLI and never reads the clock: every instant is an
argument.

Business time is the set of instants whose local wall-clock time in the account's IANA
zone lies in ``[opens, closes)`` on a working weekday that is not a public holiday of
the account's country/subdivision. That definition is applied instant by instant, so
DST days still run 09:00-17:00 on the wall clock, a gap swallows the missing wall time
and a repeated hour counts twice when it is inside the window.

The answers depend on data versions (``holidays`` and the IANA rules shipped in
``tzdata``); the faces call :func:`use_bundled_tzdata` at start-up so ``zoneinfo`` uses
the pinned ``tzdata`` package instead of the operating system's zone files.
"""
from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Protocol

import holidays

UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY = 86400
_SECOND = timedelta(seconds=1)
# A calendar with no business time for this many consecutive days is broken (it would
# otherwise walk forever); ten years is far beyond any real run of holidays.
_MAX_EMPTY_DAYS = 3660
# Offsets are sampled this often when a day contains a zone transition; every real
# transition is further apart than this, so none is missed.
_SAMPLE_STEP = 1800

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


class CalendarError(ValueError):
    """A calendar cannot be built or used as asked (unknown zone, country, subdivision...)."""


class CalendarNumbers(Protocol):
    """The policy numbers the calendar needs; :class:`gateway.rulebook.numbers.PolicyNumbers` fits."""

    @property
    def weekdays(self) -> tuple[int, ...]: ...
    @property
    def opens(self) -> time: ...
    @property
    def closes(self) -> time: ...
    @property
    def first_response_hours(self) -> int: ...
    @property
    def warn_before_minutes(self) -> int: ...


def use_bundled_tzdata() -> None:
    """Make ``zoneinfo`` read only the pinned ``tzdata`` package, never the OS zone files.

    The OS files on our machines are older (2025b) and disagree with the pinned rules for
    America/Vancouver, Africa/Casablanca and America/Havana from late 2026. Zones already
    loaded are dropped from ``zoneinfo``'s cache so nothing built before this call survives.
    """
    zoneinfo.reset_tzpath(to=())
    zoneinfo.ZoneInfo.clear_cache()


def data_versions() -> dict[str, str]:
    """The versions of the data the answers depend on, for ``sla versions`` and bug reports."""
    import tzdata

    return {
        "holidays": holidays.__version__,
        "tzdata": tzdata.IANA_VERSION,
        "zoneinfo_tzpath": ":".join(zoneinfo.TZPATH) or "(bundled tzdata only)",
    }


def load_zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone ``name``, or :class:`CalendarError` naming it."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"unknown time zone {name!r} (expected an IANA name such as Europe/Berlin)") from exc


def _to_seconds(instant: datetime) -> int:
    """Whole POSIX seconds of an aware instant; fractions of a second are dropped (floor)."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise CalendarError(f"instant {instant.isoformat()} has no UTC offset")
    return (instant - _EPOCH) // _SECOND


def _from_seconds(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def format_local(dt_utc: datetime, tz: str | tzinfo) -> str:
    """``dt_utc`` on the wall clock of ``tz``, e.g. ``Monday 1 December 2026, 12:30 CET``.

    Names are English and independent of the process locale, so the acknowledgement reads
    the same on every machine.
    """
    zone = load_zone(tz) if isinstance(tz, str) else tz
    if dt_utc.tzinfo is None:
        raise CalendarError(f"instant {dt_utc.isoformat()} has no UTC offset")
    local = dt_utc.astimezone(zone)
    return (
        f"{_DAY_NAMES[local.weekday()]} {local.day} {_MONTH_NAMES[local.month - 1]} {local.year}, "
        f"{local:%H:%M} {local.tzname()}"
    )


@dataclass(frozen=True)
class Window:
    """One stretch of business time, as UTC instants; ``end`` is excluded."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class CalendarDay:
    """One local date: its business windows, or why it is closed."""

    day: date
    windows: tuple[Window, ...]
    closed: str | None  # None when open, else "weekend" or "holiday"
    holiday: str | None  # the public holiday's name, also when it falls on a weekend


@dataclass(frozen=True)
class Arrival:
    """How an incident's arrival relates to business hours, for the acknowledgement."""

    logged: datetime  # whole seconds, UTC
    outside_hours: bool
    weekend: bool
    holiday: str | None  # name of the public holiday on the local arrival date
    clock_starts: datetime  # ``logged`` when inside business hours, else the next opening


@dataclass(frozen=True)
class ResponseClock:
    """The timed instants of one incident's first response (POLICY.md P3)."""

    logged: datetime
    clock_starts: datetime
    warn_at: datetime
    deadline: datetime


class BusinessCalendar:
    """Business time of one (zone, country, subdivision) under the policy's hours.

    Instances cache holidays per year and windows per local date; they are cheap to keep
    and safe to share between tickets of the same zone and country (not across threads
    that mutate caches concurrently; CPython's dict operations keep that benign).
    """

    def __init__(
        self,
        tz: str,
        country: str,
        subdiv: str | None = None,
        *,
        weekdays: Iterable[int],
        opens: time,
        closes: time,
        first_response_hours: int | None = None,
        warn_before_minutes: int | None = None,
        language: str = "en_US",
    ) -> None:
        self.tz_name = tz
        self.zone = load_zone(tz)
        self.country = country.strip().upper()
        self.subdiv = (subdiv or "").strip() or None
        self.weekdays = frozenset(weekdays)
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise CalendarError(f"weekdays {sorted(self.weekdays)} must be a non-empty subset of 0 (Monday) .. 6 (Sunday)")
        if opens >= closes:
            raise CalendarError(f"opens {opens} must be before closes {closes}")
        self.opens = opens
        self.closes = closes
        self._open_s = opens.hour * 3600 + opens.minute * 60 + opens.second
        self._close_s = closes.hour * 3600 + closes.minute * 60 + closes.second
        self.first_response_hours = first_response_hours
        self.warn_before_minutes = warn_before_minutes
        # Holiday names only; the dates do not depend on the language. An explicit
        # language keeps names independent of the process's LANG.
        self.language = language
        try:
            holidays.country_holidays(self.country, subdiv=self.subdiv, years=(), language=language)
        except NotImplementedError as exc:
            where = f"{self.country!r}" + (f" subdivision {self.subdiv!r}" if self.subdiv else "")
            raise CalendarError(f"no public holidays known for {where} ({exc})") from exc
        self._holidays: dict[int, dict[date, str]] = {}
        self._windows: dict[int, tuple[tuple[int, int], ...]] = {}

    @classmethod
    def from_numbers(
        cls, numbers: CalendarNumbers, tz: str, country: str, subdiv: str | None = None, *, language: str = "en_US"
    ) -> BusinessCalendar:
        """A calendar with the hours and SLA numbers of ``rules/policy.toml``."""
        return cls(
            tz,
            country,
            subdiv,
            weekdays=numbers.weekdays,
            opens=numbers.opens,
            closes=numbers.closes,
            first_response_hours=numbers.first_response_hours,
            warn_before_minutes=numbers.warn_before_minutes,
            language=language,
        )

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.tz_name!r}, {self.country!r}, {self.subdiv!r})"

    # --- holidays -------------------------------------------------------------------

    def holidays_in(self, year: int) -> dict[date, str]:
        """Public holidays (observed days included) on local dates of ``year``."""
        cached = self._holidays.get(year)
        if cached is None:
            # Neighbouring years too: an observed day may be moved across New Year.
            book = holidays.country_holidays(
                self.country, subdiv=self.subdiv, years=(year - 1, year, year + 1), language=self.language
            )
            cached = {day: name for day, name in book.items() if day.year == year}
            self._holidays[year] = cached
        return cached

    def holiday(self, day: date) -> str | None:
        """The public holiday's name on ``day`` (several joined by "; "), or None."""
        return self.holidays_in(day.year).get(day)

    # --- windows, in whole POSIX seconds ---------------------------------------------

    def _offset_at(self, seconds: int) -> int:
        return int(_from_seconds(seconds).astimezone(self.zone).utcoffset().total_seconds())  # type: ignore[union-attr]

    def _day_windows(self, ordinal: int) -> tuple[tuple[int, int], ...]:
        cached = self._windows.get(ordinal)
        if cached is not None:
            return cached
        day = date.fromordinal(ordinal)
        if day.weekday() not in self.weekdays or day in self.holidays_in(day.year):
            result: tuple[tuple[int, int], ...] = ()
        else:
            result = self._wall_windows(day)
        self._windows[ordinal] = result
        return result

    def _wall_windows(self, day: date) -> tuple[tuple[int, int], ...]:
        """UTC intervals whose wall-clock time on ``day`` is in [opens, closes)."""
        base = (day.toordinal() - _EPOCH_ORDINAL) * _DAY
        wall_open, wall_close = base + self._open_s, base + self._close_s
        naive_open = datetime.combine(day, self.opens, tzinfo=self.zone)
        naive_close = datetime.combine(day, self.closes, tzinfo=self.zone)
        offsets = {
            int(dt.utcoffset().total_seconds())  # type: ignore[union-attr]
            for dt in (naive_open, naive_open.replace(fold=1), naive_close, naive_close.replace(fold=1))
        }
        if len(offsets) == 1:
            # The common case: no transition near the window, one offset for the whole day.
            (offset,) = offsets
            return ((wall_open - offset, wall_close - offset),)
        # A zone transition touches the window: cut the span into pieces of constant
        # offset and keep, in each, the instants whose wall time is inside the window.
        lo, hi = wall_open - max(offsets), wall_close - min(offsets)
        pieces: list[tuple[int, int]] = []
        for start, end, offset in self._constant_offset_pieces(lo, hi):
            s, e = max(start, wall_open - offset), min(end, wall_close - offset)
            if s < e:
                if pieces and pieces[-1][1] == s:
                    pieces[-1] = (pieces[-1][0], e)
                else:
                    pieces.append((s, e))
        return tuple(pieces)

    def _constant_offset_pieces(self, lo: int, hi: int) -> list[tuple[int, int, int]]:
        pieces: list[tuple[int, int, int]] = []
        start, offset = lo, self._offset_at(lo)
        probe = lo
        while probe < hi:
            nxt = min(probe + _SAMPLE_STEP, hi)
            if self._offset_at(nxt) != offset:
                # Bisect to the first second with the new offset.
                a, b = probe, nxt
                while b - a > 1:
                    mid = (a + b) // 2
                    if self._offset_at(mid) == offset:
                        a = mid
                    else:
                        b = mid
                pieces.append((start, b, offset))
                start, offset = b, self._offset_at(b)
                probe = b
                continue
            probe = nxt
        pieces.append((start, hi, offset))
        return pieces

    def _local_ordinal(self, seconds: int) -> int:
        return _from_seconds(seconds).astimezone(self.zone).toordinal()

    def _check_empty_run(self, empty_days: int) -> None:
        if empty_days > _MAX_EMPTY_DAYS:
            raise CalendarError(f"{self!r} has no business time for {_MAX_EMPTY_DAYS} days in a row")

    # --- arithmetic -----------------------------------------------------------------

    def _add(self, t: int, seconds: int) -> int:
        remaining = seconds
        ordinal = self._local_ordinal(t) - 1
        empty = 0
        while True:
            windows = self._day_windows(ordinal)
            empty = 0 if windows else empty + 1
            self._check_empty_run(empty)
            for start, end in windows:
                if end <= t:
                    continue
                begin = max(start, t)
                available = end - begin
                # "<=": a deadline that lands exactly on the closing instant stays there.
                if remaining <= available:
                    return begin + remaining
                remaining -= available
            ordinal += 1

    def _subtract(self, t: int, seconds: int) -> int:
        remaining = seconds
        ordinal = self._local_ordinal(t) + 1
        empty = 0
        while True:
            windows = self._day_windows(ordinal)
            empty = 0 if windows else empty + 1
            self._check_empty_run(empty)
            for start, end in reversed(windows):
                if start >= t:
                    continue
                finish = min(end, t)
                available = finish - start
                # "<": the earliest instant from which at most ``seconds`` remain is the
                # previous closing, not the next opening (the same business moment).
                if remaining < available:
                    return finish - remaining
                remaining -= available
            ordinal -= 1

    def add_business_time(self, start_utc: datetime, seconds: int) -> datetime:
        """The earliest instant by which ``seconds`` of business time have passed since ``start_utc``.

        Outside business time the clock starts at the next opening; a result exactly on a
        closing instant stays there. Fractions of a second of ``start_utc`` are dropped.
        """
        if seconds < 0:
            raise CalendarError(f"seconds must not be negative, got {seconds}")
        return _from_seconds(self._add(_to_seconds(start_utc), int(seconds)))

    def subtract_business_time(self, end_utc: datetime, seconds: int) -> datetime:
        """The earliest instant from which at most ``seconds`` of business time remain until ``end_utc``.

        Used for the warning: ``subtract_business_time(deadline, 3600)``. When that lands
        on an opening, the answer is the previous closing (nothing happens in between).
        """
        if seconds < 0:
            raise CalendarError(f"seconds must not be negative, got {seconds}")
        return _from_seconds(self._subtract(_to_seconds(end_utc), int(seconds)))

    def business_seconds_between(self, a: datetime, b: datetime) -> int:
        """Whole seconds of business time in ``[a, b)``; negative when ``b`` is before ``a``."""
        ta, tb = _to_seconds(a), _to_seconds(b)
        if tb < ta:
            return -self.business_seconds_between(b, a)
        total = 0
        for ordinal in range(self._local_ordinal(ta) - 1, self._local_ordinal(tb) + 2):
            for start, end in self._day_windows(ordinal):
                s, e = max(start, ta), min(end, tb)
                if s < e:
                    total += e - s
        return total

    def is_business_time(self, instant: datetime) -> bool:
        t = _to_seconds(instant)
        ordinal = self._local_ordinal(t)
        return any(s <= t < e for o in (ordinal - 1, ordinal, ordinal + 1) for s, e in self._day_windows(o))

    # --- the questions the pipeline and the CLI ask ------------------------------------

    def _require(self, value: int | None, name: str) -> int:
        if value is None:
            raise CalendarError(f"{self!r} was built without {name}; use BusinessCalendar.from_numbers")
        return value

    def deadline(self, logged_utc: datetime) -> datetime:
        """First response due: ``first_response_hours`` of business time after logging."""
        hours = self._require(self.first_response_hours, "first_response_hours")
        return self.add_business_time(logged_utc, hours * 3600)

    def warn_at(self, logged_utc: datetime) -> datetime:
        """When technicians are warned that ``warn_before_minutes`` of business time remain.

        Never before the incident was logged (matters only if the warning is longer than
        the whole response time).
        """
        return self.response_clock(logged_utc).warn_at

    def response_clock(self, logged_utc: datetime) -> ResponseClock:
        hours = self._require(self.first_response_hours, "first_response_hours")
        minutes = self._require(self.warn_before_minutes, "warn_before_minutes")
        t = _to_seconds(logged_utc)
        due = self._add(t, hours * 3600)
        warn = max(t, self._subtract(due, minutes * 60))
        return ResponseClock(
            logged=_from_seconds(t), clock_starts=_from_seconds(self._add(t, 0)),
            warn_at=_from_seconds(warn), deadline=_from_seconds(due),
        )

    def describe_arrival(self, logged_utc: datetime) -> Arrival:
        """Whether the message arrived outside business hours, and on which holiday."""
        t = _to_seconds(logged_utc)
        local_day = _from_seconds(t).astimezone(self.zone).date()
        starts = self._add(t, 0)
        return Arrival(
            logged=_from_seconds(t),
            outside_hours=starts != t,
            weekend=local_day.weekday() not in self.weekdays,
            holiday=self.holiday(local_day),
            clock_starts=_from_seconds(starts),
        )

    def day(self, day: date) -> CalendarDay:
        name = self.holiday(day)
        windows = tuple(Window(_from_seconds(s), _from_seconds(e)) for s, e in self._day_windows(day.toordinal()))
        if day.weekday() not in self.weekdays:
            closed: str | None = "weekend"
        elif name is not None:
            closed = "holiday"
        elif not windows:
            closed = "no wall-clock business time"  # a transition swallowed the whole window
        else:
            closed = None
        return CalendarDay(day=day, windows=windows, closed=closed, holiday=name)

    def windows(self, from_date: date, days: int) -> list[CalendarDay]:
        """Each local date from ``from_date`` for ``days`` days: its windows or why it is closed."""
        return [self.day(from_date + timedelta(days=i)) for i in range(max(days, 0))]
