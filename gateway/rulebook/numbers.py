"""The policy's numbers, from ``rules/policy.toml`` (POLICY.md P1-P8).

Loaded once by the faces and passed to the pipeline, the ledger and the timed work.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class PolicyNumbers:
    points_per_incident: int = 10
    lot_lifetime_years: int = 1
    pending_hold_days: int = 14
    expiry_warning_days: int = 30
    balance_subject: str = "balance"
    default_refund: str = "points"
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    first_response_hours: int = 4
    warn_before_minutes: int = 60
    reopen_window_days: int = 90
    combined: str = "split"
    unauthenticated: str = "confirm"
    max_message_bytes: int = 26214400
    auto_replies_per_sender_per_hour: int = 5


# table -> key -> (type, check, fix)
_KEYS: dict[str, dict[str, tuple[type, Any, str]]] = {
    "points": {
        "points_per_incident": (int, lambda v: v > 0, "a positive whole number, e.g. 10"),
        "lot_lifetime_years": (int, lambda v: v > 0, "a positive whole number of years, e.g. 1"),
        "pending_hold_days": (int, lambda v: v >= 0, "a whole number of days, e.g. 14"),
        "expiry_warning_days": (int, lambda v: v >= 0, "a whole number of days, e.g. 30"),
        "balance_subject": (str, lambda v: bool(v.strip()), 'a subject, e.g. "balance"'),
        "default_refund": (str, lambda v: v in ("points", "card"), '"points" or "card"'),
    },
    "sla": {
        "weekdays": (list, lambda v: bool(v) and all(d in WEEKDAYS for d in v), 'a list of "mon".."sun"'),
        "opens": (str, lambda v: _hhmm(v) is not None, 'a wall-clock time, e.g. "09:00"'),
        "closes": (str, lambda v: _hhmm(v) is not None, 'a wall-clock time, e.g. "17:00"'),
        "first_response_hours": (int, lambda v: v > 0, "a positive whole number of hours, e.g. 4"),
        "warn_before_minutes": (int, lambda v: v >= 0, "a whole number of minutes, e.g. 60"),
    },
    "conversation": {"reopen_window_days": (int, lambda v: v >= 0, "a whole number of days, e.g. 90")},
    "issues": {"combined": (str, lambda v: v in ("split", "reject"), '"split" or "reject"')},
    "trust": {"unauthenticated": (str, lambda v: v in ("confirm", "accept", "reject"), '"confirm", "accept" or "reject"')},
    "limits": {
        "max_message_bytes": (int, lambda v: v > 0, "a size in bytes, e.g. 26214400"),
        "auto_replies_per_sender_per_hour": (int, lambda v: v >= 0, "a whole number, e.g. 5"),
    },
}


def _hhmm(value: str) -> time | None:
    try:
        hh, mm = value.split(":")
        return time(int(hh), int(mm))
    except ValueError:
        return None


def load_numbers(rules_dir: Path) -> PolicyNumbers:
    """Read ``policy.toml`` in ``rules_dir``; a missing file means the documented defaults."""
    path = rules_dir / "policy.toml"
    if not path.exists():
        return PolicyNumbers()
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "-", f"not valid TOML: {exc}", "fix the syntax on that line") from None
    return numbers_from_mapping(raw, str(path))


def numbers_from_mapping(raw: dict[str, Any], file: str) -> PolicyNumbers:
    values: dict[str, Any] = {}
    for table, body in raw.items():
        if table not in _KEYS:
            raise ConfigError(file, table, "unknown table", "expected one of: " + ", ".join(_KEYS))
        if not isinstance(body, dict):
            raise ConfigError(file, table, "expected a table", f"write [{table}]")
        for key, value in body.items():
            if key not in _KEYS[table]:
                raise ConfigError(file, f"{table}.{key}", "unknown key", "expected one of: " + ", ".join(_KEYS[table]))
            typ, check, fix = _KEYS[table][key]
            if not isinstance(value, typ) or isinstance(value, bool) or not check(value):
                raise ConfigError(file, f"{table}.{key}", f"bad value {value!r}", f"expected {fix}")
            values[key] = value
    if "weekdays" in values:
        values["weekdays"] = tuple(sorted(WEEKDAYS.index(d) for d in values["weekdays"]))
    for key in ("opens", "closes"):
        if key in values:
            values[key] = _hhmm(values[key])
    numbers = PolicyNumbers(**values)
    if numbers.opens >= numbers.closes:
        raise ConfigError(file, "sla.closes", "closes before it opens", 'e.g. opens = "09:00", closes = "17:00"')
    return numbers
