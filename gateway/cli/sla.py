"""``ticket-gateway sla``: first-response deadlines and business calendars (POLICY.md P3).

A face over :mod:`gateway.policy.calendar`. It needs no configuration file and never
opens the database: the hours come from ``ctx.numbers`` (the shipped
``rules/policy.toml`` when no config is given). It switches ``zoneinfo`` to the pinned
``tzdata`` package before building any calendar.

Sub-commands:
    sla deadline --logged-at ISO --tz TZ --country CC [--subdiv S] [--verbose]
    sla deadline --batch < rows.csv        (header: logged_at_utc,tz,country,subdiv)
    sla calendar --tz TZ --country CC [--subdiv S] [--from DATE] [--days N] [--json]
    sla versions
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import date, datetime, timezone
from typing import Any, TextIO

from gateway.cli.context import CliContext
from gateway.errors import UserError
from gateway.policy.calendar import (
    BusinessCalendar,
    CalendarDay,
    CalendarError,
    data_versions,
    format_local,
    use_bundled_tzdata,
)
from gateway.rulebook.numbers import PolicyNumbers

EX_OK = 0
EX_DATAERR = 65
# Printed in place of a deadline for a row that cannot be read, so output line N still
# answers input row N.
BATCH_ERROR = "ERROR"
BATCH_COLUMNS = ("logged_at_utc", "tz", "country")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def register(sub: Any) -> None:
    sla = sub.add_parser("sla", help="first-response deadlines and business calendars (P3)")
    sla_sub = sla.add_subparsers(dest="sla_command", metavar="SLA_COMMAND", required=True)

    p = sla_sub.add_parser(
        "deadline",
        help="print the first-response deadline as ISO 8601 UTC",
        description="Print the first-response deadline (first_response_hours of business time "
        "after --logged-at) as ISO 8601 UTC, e.g. 2026-12-01T11:30:00Z. With --batch, read CSV rows "
        "(header logged_at_utc,tz,country,subdiv; extra columns ignored) from stdin and print one "
        f"deadline per row; a bad row prints {BATCH_ERROR}, is reported on stderr with its line "
        "number, and makes the exit status 65.",
    )
    p.add_argument("--logged-at", metavar="ISO8601", help="when the message reached the mailbox, with offset, e.g. 2026-12-01T07:30:00Z")
    p.add_argument("--tz", metavar="TZ", help="the account's IANA time zone, e.g. Europe/Berlin")
    p.add_argument("--country", metavar="CC", help="ISO 3166 country whose public holidays apply, e.g. DE")
    p.add_argument("--subdiv", metavar="S", default=None, help="subdivision (state, province), e.g. BY")
    p.add_argument("--batch", action="store_true", help="read CSV rows from stdin instead")
    p.add_argument("--verbose", "-v", action="store_true", help="also print the local deadline, the warning instant and the arrival")
    p.set_defaults(handler=cmd_deadline)

    p = sla_sub.add_parser(
        "calendar",
        help="list each day's business window or why it is closed",
        description="List each local date's business window (local and UTC) or why it is closed "
        "(weekend, holiday name).",
    )
    p.add_argument("--tz", metavar="TZ", required=True, help="IANA time zone, e.g. Europe/Berlin")
    p.add_argument("--country", metavar="CC", required=True, help="country whose public holidays apply")
    p.add_argument("--subdiv", metavar="S", default=None, help="subdivision, e.g. BY")
    p.add_argument("--from", dest="from_date", metavar="DATE", type=_parse_date, default=None, help="first local date, YYYY-MM-DD (default: today in TZ)")
    p.add_argument("--days", metavar="N", type=int, default=14, help="how many days (default 14)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=cmd_calendar)

    p = sla_sub.add_parser("versions", help="print the data versions the deadlines depend on")
    p.set_defaults(handler=cmd_versions)


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {value!r} (expected YYYY-MM-DD)") from None


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant with an explicit offset ("Z" or "+01:00"); a bare local time is refused."""
    text = value.strip()
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise CalendarError(f"not an ISO 8601 instant: {value!r} (e.g. 2026-12-01T07:30:00Z)") from None
    if instant.tzinfo is None:
        raise CalendarError(f"{value!r} has no UTC offset; add Z or +HH:MM")
    return instant


def format_utc(instant: datetime) -> str:
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class CalendarCache:
    """Calendars per (tz, country, subdiv) for one command run; each caches its holidays per year."""

    def __init__(self, numbers: PolicyNumbers) -> None:
        self._numbers = numbers
        self._calendars: dict[tuple[str, str, str], BusinessCalendar | CalendarError] = {}

    def get(self, tz: str, country: str, subdiv: str | None) -> BusinessCalendar:
        key = (tz.strip(), country.strip(), (subdiv or "").strip())
        found = self._calendars.get(key)
        if found is None:
            try:
                found = BusinessCalendar.from_numbers(self._numbers, key[0], key[1], key[2] or None)
            except CalendarError as exc:
                found = exc  # remember the failure too, so a bad key costs once
            self._calendars[key] = found
        if isinstance(found, CalendarError):
            raise found
        return found


def cmd_deadline(args: argparse.Namespace, ctx: CliContext) -> int:
    use_bundled_tzdata()
    numbers = ctx.numbers
    if args.batch:
        if args.logged_at or args.tz or args.country or args.subdiv:
            raise UserError("--batch reads everything from stdin; drop --logged-at/--tz/--country/--subdiv")
        return run_batch(sys.stdin, sys.stdout, sys.stderr, CalendarCache(numbers))
    missing = [flag for flag, value in (("--logged-at", args.logged_at), ("--tz", args.tz), ("--country", args.country)) if not value]
    if missing:
        raise UserError("sla deadline needs " + ", ".join(missing) + " (or --batch)")
    try:
        calendar = BusinessCalendar.from_numbers(numbers, args.tz, args.country, args.subdiv)
        logged = parse_instant(args.logged_at)
        clock = calendar.response_clock(logged)
    except CalendarError as exc:
        raise UserError(str(exc)) from None
    print(format_utc(clock.deadline))
    if args.verbose:
        arrival = calendar.describe_arrival(logged)
        print(f"deadline (local): {format_local(clock.deadline, calendar.zone)}")
        print(f"warn at:          {format_utc(clock.warn_at)}  ({format_local(clock.warn_at, calendar.zone)})")
        print(f"clock starts:     {format_utc(clock.clock_starts)}  ({format_local(clock.clock_starts, calendar.zone)})")
        note = "outside business hours" if arrival.outside_hours else "inside business hours"
        if arrival.holiday:
            note += f" (holiday: {arrival.holiday})"
        print(f"arrival:          {note}")
    return EX_OK


def run_batch(source: TextIO, out: TextIO, err: TextIO, calendars: CalendarCache) -> int:
    """One deadline line per data row, in order; bad rows print ``ERROR`` and set exit 65."""
    reader = csv.DictReader(source)
    fields = list(reader.fieldnames or [])
    if fields and fields[0].startswith("\ufeff"):
        # Spreadsheets often save UTF-8 with a byte-order mark before the first column name.
        fields[0] = fields[0].removeprefix("\ufeff")
        reader.fieldnames = fields
    absent = [c for c in BATCH_COLUMNS if c not in fields]
    if absent:
        print(f"sla deadline --batch: line 1: header lacks {', '.join(absent)} (expected logged_at_utc,tz,country,subdiv)", file=err)
        return EX_DATAERR
    failures = 0
    lines: list[str] = []
    for row in reader:
        try:
            logged = row["logged_at_utc"]
            tz, country = row["tz"], row["country"]
            if logged is None or tz is None or country is None:
                raise CalendarError("row has too few columns")
            calendar = calendars.get(tz, country, row.get("subdiv"))
            lines.append(format_utc(calendar.deadline(parse_instant(logged))))
        except CalendarError as exc:
            failures += 1
            lines.append(BATCH_ERROR)
            print(f"sla deadline --batch: line {reader.line_num}: {exc}", file=err)
        if len(lines) >= 4096:
            out.write("\n".join(lines) + "\n")
            lines.clear()
    if lines:
        out.write("\n".join(lines) + "\n")
    out.flush()
    if failures:
        print(f"sla deadline --batch: {failures} bad row(s)", file=err)
        return EX_DATAERR
    return EX_OK


def calendar_json(calendar: BusinessCalendar, days: list[CalendarDay]) -> dict[str, Any]:
    return {
        "tz": calendar.tz_name,
        "country": calendar.country,
        "subdiv": calendar.subdiv,
        "versions": data_versions(),
        "days": [
            {
                "date": d.day.isoformat(),
                "weekday": _WEEKDAYS[d.day.weekday()].lower(),
                "open": d.closed is None,
                "closed": d.closed,
                "holiday": d.holiday,
                "windows": [
                    {
                        "local_start": w.start.astimezone(calendar.zone).isoformat(),
                        "local_end": w.end.astimezone(calendar.zone).isoformat(),
                        "utc_start": format_utc(w.start),
                        "utc_end": format_utc(w.end),
                    }
                    for w in d.windows
                ],
            }
            for d in days
        ],
    }


def calendar_lines(calendar: BusinessCalendar, days: list[CalendarDay]) -> list[str]:
    lines = []
    for d in days:
        head = f"{d.day.isoformat()} {_WEEKDAYS[d.day.weekday()]}"
        if d.closed is not None:
            reason = d.closed
            if d.closed == "holiday":
                reason = f"holiday ({d.holiday})"
            elif d.holiday:
                reason += f" (holiday: {d.holiday})"
            lines.append(f"{head}  closed: {reason}")
            continue
        parts = []
        for w in d.windows:
            ls, le = w.start.astimezone(calendar.zone), w.end.astimezone(calendar.zone)
            zone = ls.tzname() if ls.tzname() == le.tzname() else f"{ls.tzname()}/{le.tzname()}"
            parts.append(f"{ls:%H:%M}-{le:%H:%M} {zone}  (UTC {format_utc(w.start)} - {format_utc(w.end)})")
        lines.append(f"{head}  open {'; '.join(parts)}")
    return lines


def cmd_calendar(args: argparse.Namespace, ctx: CliContext) -> int:
    use_bundled_tzdata()
    if args.days < 0:
        raise UserError("--days must not be negative")
    try:
        calendar = BusinessCalendar.from_numbers(ctx.numbers, args.tz, args.country, args.subdiv)
    except CalendarError as exc:
        raise UserError(str(exc)) from None
    # A face may read the clock: the default first day is today in the account's zone.
    start = args.from_date or datetime.now(calendar.zone).date()
    days = calendar.windows(start, args.days)
    if args.json:
        print(json.dumps(calendar_json(calendar, days), indent=2))
    else:
        print(f"# {calendar.tz_name}, holidays of {calendar.country}{'-' + calendar.subdiv if calendar.subdiv else ''}")
        for line in calendar_lines(calendar, days):
            print(line)
    return EX_OK


def cmd_versions(args: argparse.Namespace, ctx: CliContext) -> int:
    use_bundled_tzdata()
    for key, value in data_versions().items():
        print(f"{key}: {value}")
    return EX_OK
