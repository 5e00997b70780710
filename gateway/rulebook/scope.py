"""Load and validate the scope data: ``rules/scope.toml``, ``products.toml``, ``editions.toml``.

Place in the flow: the faces (daemon start-up, ``ticket-gateway rules check``) call
:func:`load_rulebook` and :func:`load_editions` once and pass the results to the pipeline,
which hands them to the pure engine in ``gateway.policy.rules_engine``. Every mistake in a
file is a :class:`~gateway.errors.ConfigError` naming the file, the rule id (or key) with
its line, and the fix; nothing is half-loaded.
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError
from gateway.policy.actions import ACTIONS, Category
from gateway.policy.predicates import (
    PREDICATES,
    All,
    Any_,
    Catalogue,
    Named,
    Not,
    Predicate,
    PredicateArgError,
    Product,
    build_leaf,
)
from gateway.policy.rules_engine import Edition, Editions, Rule, Rulebook

SCOPE_FILE = "scope.toml"
PRODUCTS_FILE = "products.toml"
EDITIONS_FILE = "editions.toml"

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_RELEASE = re.compile(r"^\d{1,2}(?:\.\d{1,2}){0,2}$")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_RULE_KEYS = {"id", "description", "action", "category", "when"}


def _read(path: Path) -> tuple[dict[str, Any], str]:
    if not path.exists():
        raise ConfigError(str(path), "-", "file is missing", f"copy the shipped rules/{path.name}")
    text = path.read_text(encoding="utf-8")
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "-", f"not valid TOML: {exc}", "fix the syntax on that line") from None


def _line_of(text: str, key: str, value: str) -> int | None:
    """The line where ``key = "value"`` is written, found by a plain scan (tomllib keeps none)."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=\s*(['\"]){re.escape(value)}\1", re.MULTILINE)
    m = pattern.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def _table_line(text: str, name: str) -> int | None:
    m = re.search(rf"^\s*{re.escape(name)}\s*[.=]", text, re.MULTILINE)
    return text.count("\n", 0, m.start()) + 1 if m else None


def _where(what: str, line: int | None) -> str:
    return f"{what} (line {line})" if line else what


# --------------------------------------------------------------------------- products


def load_catalogue(rules_dir: Path) -> Catalogue:
    """Read ``products.toml``: the vendor's products, their current and past releases, aliases."""
    path = rules_dir / PRODUCTS_FILE
    raw, text = _read(path)
    return catalogue_from_mapping(raw, str(path), text)


def catalogue_from_mapping(raw: Mapping[str, Any], file: str, text: str = "") -> Catalogue:
    for key in raw:
        if key not in ("product", "other_software"):
            raise ConfigError(file, key, "unknown key", "expected [[product]] tables and other_software = [...]")
    other = raw.get("other_software", [])
    if not isinstance(other, list) or not all(isinstance(x, str) and x.strip() for x in other):
        raise ConfigError(file, "other_software", "expected a list of names", 'e.g. other_software = ["Postfix", "Outlook"]')
    entries = raw.get("product", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(file, "product", "no products", "add at least one [[product]] table")
    products: list[Product] = []
    seen_alias: dict[str, str] = {}
    for n, entry in enumerate(entries, 1):
        pid = entry.get("id") if isinstance(entry, dict) else None
        where = _where(f"product {pid!r}" if isinstance(pid, str) else f"product #{n}", _line_of(text, "id", pid) if isinstance(pid, str) else None)
        if not isinstance(pid, str) or not _ID.match(pid):
            raise ConfigError(file, where, "missing or bad id", 'e.g. id = "server" (lower-case letters, digits, - _ .)')
        unknown = set(entry) - {"id", "name", "aliases", "current", "past", "default"}
        if unknown:
            raise ConfigError(file, where, f"unknown key {sorted(unknown)[0]!r}", "keys are id, name, aliases, current, past, default")
        if any(p.id == pid for p in products):
            raise ConfigError(file, where, "duplicate product id", "give each product its own id")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(file, where, "missing name", 'e.g. name = "Scalix Server"')
        aliases = entry.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            raise ConfigError(file, where, "aliases must be a list of names", 'e.g. aliases = ["SWA"]')
        for alias in (name, *aliases):
            other_pid = seen_alias.get(alias.lower())
            if other_pid is not None and other_pid != pid:
                raise ConfigError(file, where, f"alias {alias!r} is also used by product {other_pid!r}", "an alias must name one product")
            seen_alias[alias.lower()] = pid
        lines: dict[str, tuple[str, ...]] = {}
        for key in ("current", "past"):
            value = entry.get(key, [])
            if not isinstance(value, list) or not all(isinstance(r, str) and _RELEASE.match(r) for r in value):
                raise ConfigError(file, where, f"{key} must be a list of releases", f'e.g. {key} = ["12.7", "11"] (dotted numbers as strings)')
            lines[key] = tuple(value)
        if not lines["current"]:
            raise ConfigError(file, where, "no current release", 'e.g. current = ["12.7"]')
        both = set(lines["current"]) & set(lines["past"])
        if both:
            raise ConfigError(file, where, f"release {sorted(both)[0]} is both current and past", "list it once")
        default = entry.get("default", False)
        if not isinstance(default, bool):
            raise ConfigError(file, where, "default must be true or false", "default = true on the main product")
        products.append(Product(pid, name, tuple(aliases), lines["current"], lines["past"], default))
    if sum(p.default for p in products) > 1:
        raise ConfigError(file, "default", "more than one product has default = true", "mark only the main product")
    return Catalogue(tuple(products), tuple(other))


# --------------------------------------------------------------------------- scope rules


def load_rulebook(rules_dir: Path) -> Rulebook:
    """Read ``products.toml`` and ``scope.toml`` and build the validated rulebook."""
    catalogue = load_catalogue(rules_dir)
    path = rules_dir / SCOPE_FILE
    raw, text = _read(path)
    return rulebook_from_mapping(raw, str(path), catalogue, text)


def rulebook_from_mapping(raw: Mapping[str, Any], file: str, catalogue: Catalogue, text: str = "") -> Rulebook:
    for key in raw:
        if key not in ("category", "patterns", "conditions", "rule"):
            raise ConfigError(file, key, "unknown table", "expected [[category]], [patterns], [conditions] and [[rule]]")
    categories = _categories(raw.get("category", []), file, text)
    patterns = _patterns(raw.get("patterns", {}), file, text)
    builder = _ConditionBuilder(file, text, patterns, [p.id for p in catalogue.products], raw.get("conditions", {}))
    rules: list[Rule] = []
    lines: dict[str, int | None] = {}
    entries = raw.get("rule", [])
    if not isinstance(entries, list):
        raise ConfigError(file, "rule", "expected [[rule]] tables", "write each rule as [[rule]]")
    for n, entry in enumerate(entries, 1):
        rid = entry.get("id") if isinstance(entry, dict) else None
        line = _line_of(text, "id", rid) if isinstance(rid, str) else None
        where = _where(f"rule {rid!r}" if isinstance(rid, str) else f"rule #{n}", line)
        if not isinstance(rid, str) or not _ID.match(rid):
            raise ConfigError(file, where, "missing or bad id", 'e.g. id = "decline-capacity-planning"')
        if rid in lines:
            first = lines[rid]
            raise ConfigError(file, where, "duplicate rule id" + (f" (first at line {first})" if first else ""), "give each rule its own id")
        lines[rid] = line
        unknown = set(entry) - _RULE_KEYS
        if unknown:
            raise ConfigError(file, where, f"unknown key {sorted(unknown)[0]!r}", "keys are " + ", ".join(sorted(_RULE_KEYS)))
        action = entry.get("action")
        if action not in ACTIONS:
            raise ConfigError(file, where, f"unknown action {action!r}", "expected one of: " + ", ".join(ACTIONS))
        spec = ACTIONS[action]
        category = entry.get("category")
        if spec.category is None and category is not None:
            raise ConfigError(file, where, f"action {action} takes no category", "remove category")
        if spec.category is not None:
            wanted = [c.id for c in categories.values() if c.kind == spec.category]
            if category not in categories or categories[category].kind != spec.category:
                raise ConfigError(file, where, f"unknown {spec.category} category {category!r}", "expected one of: " + ", ".join(wanted))
        description = entry.get("description", "")
        if not isinstance(description, str):
            raise ConfigError(file, where, "description must be a string", 'description = "..."')
        if "when" not in entry:
            raise ConfigError(file, where, "missing condition", "add when.all = [ ... ] or when.<predicate> = ...")
        condition = builder.build(entry["when"], where)
        rules.append(Rule(rid, condition, action, category, description))
    if not rules:
        raise ConfigError(file, "rule", "no rules", "add at least one [[rule]]")
    return Rulebook(tuple(rules), categories, catalogue, file)


def _categories(entries: Any, file: str, text: str) -> dict[str, Category]:
    if not isinstance(entries, list):
        raise ConfigError(file, "category", "expected [[category]] tables", "write each category as [[category]]")
    out: dict[str, Category] = {}
    for n, entry in enumerate(entries, 1):
        cid = entry.get("id") if isinstance(entry, dict) else None
        where = _where(f"category {cid!r}" if isinstance(cid, str) else f"category #{n}", _line_of(text, "id", cid) if isinstance(cid, str) else None)
        if not isinstance(cid, str) or not _ID.match(cid):
            raise ConfigError(file, where, "missing or bad id", 'e.g. id = "capacity_planning"')
        if cid in out:
            raise ConfigError(file, where, "duplicate category id", "give each category its own id")
        unknown = set(entry) - {"id", "kind", "label", "reply_hint"}
        if unknown:
            raise ConfigError(file, where, f"unknown key {sorted(unknown)[0]!r}", "keys are id, kind, label, reply_hint")
        kind = entry.get("kind")
        if kind not in ("decline", "ticket"):
            raise ConfigError(file, where, f"bad kind {kind!r}", 'kind = "decline" or kind = "ticket"')
        label = entry.get("label")
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(file, where, "missing label", 'a human label the reply quotes, e.g. label = "capacity or performance planning"')
        hint = entry.get("reply_hint", "")
        if not isinstance(hint, str):
            raise ConfigError(file, where, "reply_hint must be a string", 'reply_hint = "..."')
        out[cid] = Category(cid, label, kind, hint)
    return out


def _alternatives(value: Any) -> str | None:
    """A pattern is a regex string, or a list of regex strings meaning any one of them."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return "|".join(f"(?:{v})" for v in value)
    return None


def _patterns(table: Any, file: str, text: str) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ConfigError(file, "patterns", "expected a table", "write [patterns] with name = 'regex' lines")
    raw: dict[str, str] = {}
    for name, value in table.items():
        joined = _alternatives(value)
        if joined is None:
            raise ConfigError(file, _where(f"patterns.{name}", _table_line(text, name)), "expected a regex string or a list of them", "name = 'regex' or name = ['one', 'other']")
        raw[name] = joined

    def expand(name: str, stack: tuple[str, ...]) -> str:
        if name in stack:
            raise ConfigError(file, f"patterns.{name}", "refers to itself through " + " -> ".join(stack), "remove the loop")

        def sub(m: re.Match[str]) -> str:
            ref = m.group(1)
            if ref not in raw:
                raise ConfigError(file, _where(f"patterns.{name}", _table_line(text, name)), f"unknown pattern {{{{{ref}}}}}", "define it in [patterns]")
            return "(?:" + expand(ref, (*stack, name)) + ")"

        return _PLACEHOLDER.sub(sub, raw[name])

    out = {name: expand(name, ()) for name in raw}
    for name, pattern in out.items():
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(file, _where(f"patterns.{name}", _table_line(text, name)), f"bad regular expression: {exc}", "fix the pattern") from None
    return out


class _ConditionBuilder:
    """Turns condition tables into predicate trees, expanding ``{{pattern}}`` and named
    conditions, and reports errors against the rule (or condition) being built."""

    def __init__(self, file: str, text: str, patterns: Mapping[str, str], products: list[str], named: Any) -> None:
        self.file = file
        self.text = text
        self.patterns = patterns
        self.products = products
        if not isinstance(named, dict):
            raise ConfigError(file, "conditions", "expected a table", "write [conditions] with name.all = [...] entries")
        self.named_raw: dict[str, Any] = named
        self.named: dict[str, Predicate] = {}
        self.building: list[str] = []
        for name in named:
            self._named(name, _where(f"conditions.{name}", _table_line(text, name)))

    def _named(self, name: str, where: str) -> Predicate:
        if name in self.named:
            return self.named[name]
        if name not in self.named_raw:
            raise ConfigError(self.file, where, f"unknown condition {name!r}", "expected one of: " + ", ".join(self.named_raw))
        if name in self.building:
            raise ConfigError(self.file, where, "condition refers to itself: " + " -> ".join([*self.building, name]), "remove the loop")
        self.building.append(name)
        pred = self.build(self.named_raw[name], _where(f"conditions.{name}", _table_line(self.text, name)))
        self.building.pop()
        self.named[name] = Named(name, pred)
        return self.named[name]

    def build(self, node: Any, where: str) -> Predicate:
        if not isinstance(node, dict) or len(node) != 1:
            keys = ", ".join(node) if isinstance(node, dict) else type(node).__name__
            raise ConfigError(self.file, where, f"a condition must have exactly one predicate, got: {keys or 'nothing'}", 'e.g. { text_matches = "..." } or { all = [ ... ] }')
        (name, value), = node.items()
        spec = PREDICATES.get(name)
        if spec is None:
            raise ConfigError(self.file, where, f"unknown predicate {name!r}", "expected one of: " + ", ".join(PREDICATES))
        if spec.kind == "combine":
            if not isinstance(value, list) or not value:
                raise ConfigError(self.file, where, f"{name} needs a non-empty list of conditions", f"{name} = [ {{ ... }}, {{ ... }} ]")
            parts = tuple(self.build(v, where) for v in value)
            return All(parts) if name == "all" else Any_(parts)
        if spec.kind == "negate":
            return Not(self.build(value, where))
        if spec.kind == "ref":
            if not isinstance(value, str):
                raise ConfigError(self.file, where, "condition = needs a name", 'condition = "advice_question"')
            if value not in self.named_raw:
                raise ConfigError(self.file, where, f"unknown condition {value!r}", "expected one of: " + ", ".join(self.named_raw))
            return self._named(value, where)
        if spec.kind in ("pattern", "header"):
            value = self._expand(value, where)
        try:
            return build_leaf(name, value, self.products)
        except PredicateArgError as exc:
            raise ConfigError(self.file, where, f"{name}: {exc}", spec.help) from None

    def _expand(self, value: Any, where: str) -> Any:
        if isinstance(value, dict):
            return {k: self._expand(v, where) if k == "pattern" else v for k, v in value.items()}
        if isinstance(value, list):
            value = _alternatives(value) or value
        if not isinstance(value, str):
            return value

        def sub(m: re.Match[str]) -> str:
            ref = m.group(1)
            if ref not in self.patterns:
                raise ConfigError(self.file, where, f"unknown pattern {{{{{ref}}}}}", "define it in [patterns]; known: " + ", ".join(self.patterns))
            return "(?:" + self.patterns[ref] + ")"

        return _PLACEHOLDER.sub(sub, value)


# --------------------------------------------------------------------------- editions


def load_editions(rules_dir: Path) -> Editions:
    """Read ``editions.toml``: which channels each edition (community, standard, ...) may use."""
    path = rules_dir / EDITIONS_FILE
    raw, text = _read(path)
    return editions_from_mapping(raw, str(path), text)


def editions_from_mapping(raw: Mapping[str, Any], file: str, text: str = "") -> Editions:
    for key in raw:
        if key not in ("default", "channels", "edition"):
            raise ConfigError(file, key, "unknown key", "expected default, [channels] and [edition.<name>] tables")
    channels = raw.get("channels")
    if not isinstance(channels, dict) or not channels or not all(isinstance(v, str) and v for v in channels.values()):
        raise ConfigError(file, "channels", "expected a table of channel = label", '[channels] email = "e-mail", phone = "telephone"')
    table = raw.get("edition")
    if not isinstance(table, dict) or not table:
        raise ConfigError(file, "edition", "no editions", '[edition.community] channels = ["email"]')
    editions: dict[str, Edition] = {}
    for name, body in table.items():
        header = re.search(rf"^\s*\[\s*edition\.{re.escape(name)}\s*\]", text, re.MULTILINE)
        where = _where(f"edition.{name}", text.count("\n", 0, header.start()) + 1 if header else None)
        if not isinstance(body, dict):
            raise ConfigError(file, where, "expected a table", f"[edition.{name}]")
        unknown = set(body) - {"label", "channels"}
        if unknown:
            raise ConfigError(file, where, f"unknown key {sorted(unknown)[0]!r}", "keys are label, channels")
        label = body.get("label", name.capitalize())
        chans = body.get("channels")
        if not isinstance(chans, list) or not chans or not all(c in channels for c in chans):
            raise ConfigError(file, f"{where}.channels", f"bad channels {chans!r}", "a non-empty list of: " + ", ".join(channels))
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(file, f"{where}.label", "bad label", f'label = "{name.capitalize()} Edition"')
        editions[name.lower()] = Edition(name.lower(), label, tuple(chans))
    default = raw.get("default")
    if not isinstance(default, str) or default.lower() not in editions:
        raise ConfigError(file, "default", f"bad default edition {default!r}", "one of: " + ", ".join(editions))
    return Editions(editions, default.lower(), dict(channels))


def check_rules_dir(rules_dir: Path) -> list[str]:
    """Load every scope file; raise ConfigError on the first problem, else say what was loaded."""
    book = load_rulebook(rules_dir)
    editions = load_editions(rules_dir)
    declines = sum(1 for c in book.categories.values() if c.kind == "decline")
    return [
        f"{rules_dir / PRODUCTS_FILE}: {len(book.catalogue.products)} products, {len(book.catalogue.other_software)} other software names",
        f"{rules_dir / SCOPE_FILE}: {len(book.rules)} rules, {len(book.categories)} categories ({declines} decline)",
        f"{rules_dir / EDITIONS_FILE}: {len(editions.editions)} editions, default {editions.default}",
    ]
