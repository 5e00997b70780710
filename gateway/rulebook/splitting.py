"""The issue-splitting signals, from ``rules/splitting.toml`` (POLICY.md P2).

Loaded by the faces (daemon, ``ticket-gateway split``, ``rules check``) and passed to
:func:`gateway.policy.splitting.split_issues`. Every key and every regex is checked here;
a mistake raises ConfigError naming the file and the signal id, so a desk can tune the
weights without reading code.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError
from gateway.policy.splitting import SIGNAL_KINDS, Signal, SplitRules

FILE_NAME = "splitting.toml"

_SETTINGS: dict[str, tuple[tuple[type, ...], Any, str]] = {
    "threshold": ((int, float), lambda v: v > 0, "a positive number, e.g. 1.0"),
    "min_issue_chars": ((int,), lambda v: v >= 0, "a whole number of characters, e.g. 25"),
    "max_issues": ((int,), lambda v: v >= 1, "a whole number of at least 1, e.g. 8"),
    "max_topic_overlap": ((int, float), lambda v: 0 <= v <= 1, "a number from 0 to 1, e.g. 0.12"),
    "form_min_lines": ((int,), lambda v: v >= 1, "a whole number of at least 1, e.g. 2"),
    "min_topic_words": ((int,), lambda v: v >= 0, "a whole number of words, e.g. 4"),
}
_SIGNAL_KEYS = ("id", "kind", "pattern", "weight")
# Kinds whose pattern may be empty: they are computed, not matched.
_COMPUTED_KINDS = ("topic",)


def load_split_rules(rules_dir: Path) -> SplitRules:
    """Read and validate ``splitting.toml`` in ``rules_dir``."""
    path = rules_dir / FILE_NAME
    if not path.exists():
        raise ConfigError(str(path), "-", "file not found", f"copy the shipped rules/{FILE_NAME} there")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "-", f"not valid TOML: {exc}", "fix the syntax on that line") from None
    return split_rules_from_mapping(raw, str(path))


def split_rules_from_mapping(raw: dict[str, Any], file: str) -> SplitRules:
    for table in raw:
        if table not in ("settings", "signal"):
            raise ConfigError(file, table, "unknown table", "expected [settings] and [[signal]] entries")
    settings: dict[str, Any] = {}
    body = raw.get("settings", {})
    if not isinstance(body, dict):
        raise ConfigError(file, "settings", "expected a table", "write [settings]")
    for key, value in body.items():
        if key not in _SETTINGS:
            raise ConfigError(file, f"settings.{key}", "unknown key", "expected one of: " + ", ".join(_SETTINGS))
        types, check, fix = _SETTINGS[key]
        if isinstance(value, bool) or not isinstance(value, types) or not check(value):
            raise ConfigError(file, f"settings.{key}", f"bad value {value!r}", f"expected {fix}")
        settings[key] = value
    entries = raw.get("signal", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(file, "signal", "no signals", "add [[signal]] entries (see docs/splitting.md)")
    signals: list[Signal] = []
    seen: set[str] = set()
    for n, entry in enumerate(entries, start=1):
        signals.append(_signal(entry, n, file, seen))
    kinds = {s.kind for s in signals}
    if "problem" not in kinds:
        raise ConfigError(file, "signal", "no signal of kind \"problem\"", "every part must be able to state a problem; add one")
    return SplitRules(signals=tuple(signals), **settings)


def _signal(entry: Any, n: int, file: str, seen: set[str]) -> Signal:
    if not isinstance(entry, dict):
        raise ConfigError(file, f"signal #{n}", "expected a table", "write [[signal]] followed by its keys")
    sid = entry.get("id")
    if not isinstance(sid, str) or not sid.strip():
        raise ConfigError(file, f"signal #{n}", "missing id", 'add id = "kind.name"')
    for key in entry:
        if key not in _SIGNAL_KEYS:
            raise ConfigError(file, sid, f"unknown key {key!r}", "expected one of: " + ", ".join(_SIGNAL_KEYS))
    if sid in seen:
        raise ConfigError(file, sid, "duplicate id", "give each signal its own id")
    seen.add(sid)
    kind = entry.get("kind")
    if kind not in SIGNAL_KINDS:
        raise ConfigError(file, sid, f"bad kind {kind!r}", "expected one of: " + ", ".join(SIGNAL_KINDS))
    weight = entry.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
        raise ConfigError(file, sid, f"bad weight {weight!r}", "expected a number >= 0 (vetoes and steps subtract theirs)")
    pattern = entry.get("pattern", "")
    if not isinstance(pattern, str):
        raise ConfigError(file, sid, "pattern is not a string", "write pattern = '''regex'''")
    compiled: re.Pattern[str] | None = None
    if pattern:
        try:
            compiled = re.compile(pattern, re.MULTILINE)
        except re.error as exc:
            raise ConfigError(file, sid, f"bad regex: {exc}", "fix the pattern (Python re syntax)") from None
    elif kind not in _COMPUTED_KINDS:
        raise ConfigError(file, sid, "empty pattern", f"a {kind} signal needs a pattern")
    return Signal(id=sid, kind=kind, pattern=compiled, weight=float(weight))
