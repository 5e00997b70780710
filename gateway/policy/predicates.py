"""Rule predicates: the small fixed set of tests a scope rule may combine (POLICY.md P5, P6).

Place in the flow: the pipeline's scope stage builds a :class:`MessageFacts` from a parsed
message (subject, new text with quotes stripped, headers, sender, account edition) and hands
it to :func:`gateway.policy.rules_engine.evaluate`. The engine wraps it in :class:`Facts`
(which derives the normalised text and the product releases named, once) and asks each
rule's condition, a tree of the predicates below, whether it holds.

Every predicate is a small pure class with ``check(facts) -> bool``. They are listed in ONE
explicit registry, :data:`PREDICATES`, which the loader in ``gateway.rulebook.scope`` uses
to turn a TOML condition into objects; nothing registers itself at import time.

Release detection lives here too, because the ``release_*`` and ``product_mentioned``
predicates and the decision both need it: :func:`find_releases` reads "Scalix 11.4.6",
"SWA 11.4" or "we run version 12.7" (with a product named somewhere) and ignores IP
addresses, dates and other software's versions ("Outlook 2016", "Postfix 3.7").
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, Protocol

Channel = str  # "email" or "phone"; the editions file says which exist.


@dataclass(frozen=True)
class MessageFacts:
    """What the scope rules may look at. Built by the pipeline; nothing here parses mail."""

    subject: str
    new_text: str
    headers: Mapping[str, str]
    sender: str
    sender_is_technician: bool
    edition: str | None
    channel: str = "email"


# --------------------------------------------------------------------------- products


@dataclass(frozen=True)
class Product:
    """One vendor product with its release lines. A release is a dotted prefix: "11" covers 11.x."""

    id: str
    name: str
    aliases: tuple[str, ...]
    current: tuple[str, ...]
    past: tuple[str, ...]
    default: bool = False

    @cached_property
    def known_majors(self) -> frozenset[int]:
        return frozenset(int(r.split(".")[0]) for r in self.current + self.past)


@dataclass(frozen=True)
class Catalogue:
    """The vendor's products and the names of other software (whose versions are never ours)."""

    products: tuple[Product, ...]
    other_software: tuple[str, ...] = ()

    def product(self, product_id: str) -> Product:
        for p in self.products:
            if p.id == product_id:
                return p
        raise KeyError(product_id)

    @cached_property
    def default_product(self) -> Product | None:
        return next((p for p in self.products if p.default), self.products[0] if self.products else None)

    @cached_property
    def _alias_index(self) -> tuple[re.Pattern[str] | None, tuple[str, ...]]:
        """One regex over all aliases, longest first so "Scalix Web Access" wins over "Scalix",
        and the product id of each alternative (group ``a<i>``)."""
        parts: list[tuple[str, str]] = []
        for p in self.products:
            for alias in dict.fromkeys((p.name, *p.aliases)):
                parts.append((alias, p.id))
        if not parts:
            return None, ()
        parts.sort(key=lambda item: -len(item[0]))
        alternatives = []
        for i, (alias, _pid) in enumerate(parts):
            body = r"\s+".join(re.escape(w) for w in alias.split())
            # Short all-capital aliases (SWA, SAC) are matched case-sensitively: "sac" or
            # "swa" in running text are too often other words.
            if alias.isupper() and len(alias) <= 4:
                body = f"(?-i:{body})"
            alternatives.append(f"(?P<a{i}>{body})")
        regex = re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?![\w-])", re.IGNORECASE)
        return regex, tuple(pid for _a, pid in parts)

    @property
    def alias_regex(self) -> re.Pattern[str] | None:
        return self._alias_index[0]

    def alias_product(self, match: re.Match[str]) -> Product:
        """The product whose alias ``match`` (from :attr:`alias_regex`) found."""
        index = int(match.lastgroup[1:]) if match.lastgroup else 0
        return self.product(self._alias_index[1][index])

    @cached_property
    def other_regex(self) -> re.Pattern[str] | None:
        if not self.other_software:
            return None
        names = sorted(self.other_software, key=len, reverse=True)
        body = "|".join(r"\s+".join(re.escape(w) for w in n.split()) for n in names)
        return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE)


ReleaseStatus = Literal["current", "past"]


@dataclass(frozen=True)
class ReleaseMention:
    """A release of one of our products named in the message."""

    product: str  # product id
    product_name: str
    release: str  # as written, e.g. "11.4.6"
    status: ReleaseStatus
    start: int  # offset in Facts.text


def release_status(product: Product, release: str) -> ReleaseStatus | None:
    """"current" or "past" when ``release`` is on one of the product's lines, else None.

    A line and a release match when one is a dotted prefix of the other: "11.4.6" is on line
    "11.4" and on line "11"; "12" is on line "12.7". Current lines are tried first, so a vague
    "Scalix 12" is given the benefit of the doubt when any 12.x is current.
    """
    parts = release.split(".")
    for status, lines in (("current", product.current), ("past", product.past)):
        for line in lines:
            lp = line.split(".")
            n = min(len(lp), len(parts))
            if [int(x) for x in lp[:n]] == [int(x) for x in parts[:n]]:
                return status  # type: ignore[return-value]
    return None


# A release number: one to three dotted parts of one or two digits, neither preceded nor
# followed by more digits or dots-and-digits, so IP addresses (10.0.0.5), dates (12.07.2024)
# and build numbers are not releases.
_VERSION = r"(?P<ver>\d{1,2}(?:\.\d{1,2}){0,2})(?![\d]|\.\d)"
# Words allowed between a product name and its number: "Scalix Server version 11.4.6",
# "SWA (v12.7)", "Scalix Enterprise Edition 12.7".
_FILLER = r"(?:\s*(?:from|server|version|release|rel\.?|ver\.?|v\.?|is|at|on|build|edition|community|standard|enterprise|[(:,-])\s*){0,4}?"
# A bare major ("Scalix 10") followed by a counting noun is a number of things, not a release.
_COUNT_NOUN = re.compile(
    r"\s*(?:users?|mailbox(?:es)?|accounts?|seats?|licen[cs]es?|servers?|people|machines?|boxes|"
    r"messages?|mails?|e-?mails?|days?|hours?|minutes?|seconds?|times?|[gmkt]i?b|percent|%|years?)\b",
    re.IGNORECASE,
)
_THEN = re.compile(r"\s*(?:to|->|=>|\u2192|and|or)\s*(?:version\s*|v\.?\s*)?" + _VERSION, re.IGNORECASE)
_KEYWORD_VERSION = re.compile(r"(?<![\w.])(?:version|release|ver\.?|v\.?)\s*" + _VERSION, re.IGNORECASE)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def find_releases(text: str, catalogue: Catalogue) -> list[ReleaseMention]:
    """Every release of our products named in ``text`` (already whitespace-normalised)."""
    alias_re = catalogue.alias_regex
    if alias_re is None:
        return []
    aliases = list(alias_re.finditer(text))
    if not aliases:
        return []  # "version 3.7" with no product of ours named is someone else's version
    found: list[ReleaseMention] = []
    taken: list[tuple[int, int]] = []
    after = re.compile(_FILLER + r"\s*" + _VERSION, re.IGNORECASE)
    for m in aliases:
        product = catalogue.alias_product(m)
        v = after.match(text, m.end())
        if not v:
            continue
        ver = v.group("ver")
        if "." not in ver:
            keyword = re.search(r"version|release|ver|v", text[m.end() : v.start("ver")], re.IGNORECASE)
            if not keyword and _COUNT_NOUN.match(text, v.end()):
                continue
        mention = _mention(product, ver, v.start("ver"))
        if mention:
            found.append(mention)
            taken.append((v.start("ver"), v.end("ver")))
        # "Scalix from 11.4 to 12.7", "SWA 12.6 -> 12.7": the next number is the same product's.
        then = _THEN.match(text, v.end())
        if then:
            mention = _mention(product, then.group("ver"), then.start("ver"))
            if mention:
                found.append(mention)
                taken.append((then.start("ver"), then.end("ver")))
    for k in _KEYWORD_VERSION.finditer(text):
        start = k.start("ver")
        if any(a <= start < b for a, b in taken):
            continue
        if _names_other_software(text, k, catalogue):
            continue
        product = _nearest_product(text, k.start(), aliases, catalogue)
        if product is None:
            continue
        mention = _mention(product, k.group("ver"), start)
        if mention:
            found.append(mention)
    found.sort(key=lambda r: r.start)
    return found


def _mention(product: Product, ver: str, start: int) -> ReleaseMention | None:
    if int(ver.split(".")[0]) not in product.known_majors:
        return None  # "Scalix 2" or "version 3.7": not a line of ours, so not a release of ours
    status = release_status(product, ver)
    if status is None:
        return None
    return ReleaseMention(product.id, product.name, ver, status, start)


def _names_other_software(text: str, k: re.Match[str], catalogue: Catalogue) -> bool:
    """ "Postfix version 3.7", "Outlook (version 16.0)", "version 11 of Java" are not ours."""
    other = catalogue.other_regex
    if other is None:
        return False
    before = text[max(0, k.start() - 30) : k.start()]
    # Only the same clause: stop at the last sentence break before the keyword.
    before = re.split(r"[.;:!?\n]\s", before)[-1]
    if other.search(before):
        ours = catalogue.alias_regex
        last_other = max(m.end() for m in other.finditer(before))
        last_ours = max((m.end() for m in ours.finditer(before)), default=-1) if ours else -1
        if last_other > last_ours:
            return True
    tail = re.match(r"\s+(?:of|for)\s+(?:the\s+)?", text[k.end() :], re.IGNORECASE)
    if tail:
        rest = text[k.end() + tail.end() :]
        if other.match(rest):
            return True
    return False


def _nearest_product(text: str, pos: int, aliases: Sequence[re.Match[str]], catalogue: Catalogue) -> Product | None:
    before = [m for m in aliases if m.end() <= pos]
    if before:
        return catalogue.alias_product(before[-1])
    if aliases:
        return catalogue.alias_product(aliases[0])
    return catalogue.default_product


# --------------------------------------------------------------------------- facts


class Facts:
    """A message as the predicates see it: the facts plus views derived once per evaluation."""

    def __init__(self, message: MessageFacts, catalogue: Catalogue) -> None:
        self.message = message
        self.catalogue = catalogue

    @cached_property
    def subject(self) -> str:
        return _norm(self.message.subject)

    @cached_property
    def new_text(self) -> str:
        return _norm(self.message.new_text)

    @cached_property
    def text(self) -> str:
        """Subject and new text, one line each joined by " \\n " so patterns see both."""
        return f"{self.subject} \n {self.new_text}"

    @cached_property
    def headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.message.headers.items()}

    @cached_property
    def releases(self) -> list[ReleaseMention]:
        return find_releases(self.text, self.catalogue)

    @cached_property
    def products(self) -> list[str]:
        """Ids of our products named anywhere, in order of first mention."""
        alias_re = self.catalogue.alias_regex
        seen: list[str] = []
        if alias_re is not None:
            for m in alias_re.finditer(self.text):
                pid = self.catalogue.alias_product(m).id
                if pid not in seen:
                    seen.append(pid)
        return seen

    @cached_property
    def other_software(self) -> list[str]:
        other = self.catalogue.other_regex
        return [m.group(0) for m in other.finditer(self.text)] if other else []


# --------------------------------------------------------------------------- predicates


class Predicate(Protocol):
    """A node of a rule's condition."""

    def check(self, facts: Facts) -> bool: ...

    def describe(self) -> str: ...


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Rule patterns are case-insensitive and see whitespace collapsed to single spaces."""
    return re.compile(pattern, re.IGNORECASE)


@dataclass(frozen=True)
class SubjectMatches:
    pattern: re.Pattern[str]

    def check(self, facts: Facts) -> bool:
        return self.pattern.search(facts.subject) is not None

    def describe(self) -> str:
        return f"subject matches /{self.pattern.pattern[:60]}/"


@dataclass(frozen=True)
class NewTextMatches:
    pattern: re.Pattern[str]

    def check(self, facts: Facts) -> bool:
        return self.pattern.search(facts.new_text) is not None

    def describe(self) -> str:
        return f"new text matches /{self.pattern.pattern[:60]}/"


@dataclass(frozen=True)
class MessageMatches:
    """Subject or new text."""

    pattern: re.Pattern[str]

    def check(self, facts: Facts) -> bool:
        return self.pattern.search(facts.text) is not None

    def describe(self) -> str:
        return f"subject or new text matches /{self.pattern.pattern[:60]}/"


@dataclass(frozen=True)
class HeaderMatches:
    name: str
    pattern: re.Pattern[str]

    def check(self, facts: Facts) -> bool:
        value = facts.headers.get(self.name.lower())
        return value is not None and self.pattern.search(value) is not None

    def describe(self) -> str:
        return f"header {self.name} matches /{self.pattern.pattern}/"


@dataclass(frozen=True)
class SenderMatches:
    pattern: re.Pattern[str]

    def check(self, facts: Facts) -> bool:
        return self.pattern.search(facts.message.sender) is not None

    def describe(self) -> str:
        return f"sender matches /{self.pattern.pattern}/"


@dataclass(frozen=True)
class SenderIsTechnician:
    expected: bool = True

    def check(self, facts: Facts) -> bool:
        return facts.message.sender_is_technician is self.expected

    def describe(self) -> str:
        return "sender is a technician" if self.expected else "sender is not a technician"


@dataclass(frozen=True)
class EditionIs:
    """The account's edition is one of these; "none" stands for an account without one."""

    editions: frozenset[str]

    def check(self, facts: Facts) -> bool:
        return (facts.message.edition or "none").lower() in self.editions

    def describe(self) -> str:
        return "edition is " + " or ".join(sorted(self.editions))


@dataclass(frozen=True)
class ChannelIs:
    channels: frozenset[str]

    def check(self, facts: Facts) -> bool:
        return facts.message.channel.lower() in self.channels

    def describe(self) -> str:
        return "channel is " + " or ".join(sorted(self.channels))


@dataclass(frozen=True)
class ProductMentioned:
    """One of our products is named; ``product`` narrows it to one product id."""

    product: str | None = None
    expected: bool = True

    def check(self, facts: Facts) -> bool:
        hit = bool(facts.products) if self.product is None else self.product in facts.products
        return hit is self.expected

    def describe(self) -> str:
        what = self.product or "a vendor product"
        return f"{what} is named" if self.expected else f"{what} is not named"


@dataclass(frozen=True)
class OtherSoftwareMentioned:
    """Software that is not the vendor's (from ``products.toml`` other_software) is named."""

    expected: bool = True

    def check(self, facts: Facts) -> bool:
        return bool(facts.other_software) is self.expected

    def describe(self) -> str:
        return "other software is named" if self.expected else "no other software is named"


@dataclass(frozen=True)
class ReleaseNotCurrent:
    """A release is named and none of the releases named is current.

    "We upgraded from 11.4 to 12.7 and SWA fails" names a current release, so it stays in.
    """

    expected: bool = True

    def check(self, facts: Facts) -> bool:
        rel = facts.releases
        hit = bool(rel) and all(r.status == "past" for r in rel)
        return hit is self.expected

    def describe(self) -> str:
        return "only releases that are not current are named" if self.expected else "no past-only release named"


@dataclass(frozen=True)
class ReleaseMentioned:
    expected: bool = True

    def check(self, facts: Facts) -> bool:
        return bool(facts.releases) is self.expected

    def describe(self) -> str:
        return "a product release is named" if self.expected else "no product release is named"


@dataclass(frozen=True)
class All:
    parts: tuple[Predicate, ...]

    def check(self, facts: Facts) -> bool:
        return all(p.check(facts) for p in self.parts)

    def describe(self) -> str:
        return "all of (" + "; ".join(p.describe() for p in self.parts) + ")"


@dataclass(frozen=True)
class Any_:
    parts: tuple[Predicate, ...]

    def check(self, facts: Facts) -> bool:
        return any(p.check(facts) for p in self.parts)

    def describe(self) -> str:
        return "any of (" + "; ".join(p.describe() for p in self.parts) + ")"


@dataclass(frozen=True)
class Not:
    part: Predicate

    def check(self, facts: Facts) -> bool:
        return not self.part.check(facts)

    def describe(self) -> str:
        return "not " + self.part.describe()


@dataclass(frozen=True)
class Named:
    """A reference to a named condition in the ``[conditions]`` table."""

    name: str
    part: Predicate = field(compare=False)

    def check(self, facts: Facts) -> bool:
        return self.part.check(facts)

    def describe(self) -> str:
        return self.name


# --------------------------------------------------------------------------- registry


class PredicateArgError(ValueError):
    """A predicate was given an argument it cannot take; the loader adds file and rule."""


@dataclass(frozen=True)
class PredicateSpec:
    """How the TOML key of one predicate becomes an object.

    ``kind`` says what the value is: "pattern" (a regex string), "header" ({name, pattern}),
    "flag" (true/false), "names" (a string or list of strings), "product" (true/false or a
    product id), "combine" (a list of conditions), "negate" (one condition) or "ref" (the name
    of a ``[conditions]`` entry). The loader handles the last three; ``build`` the rest.
    """

    kind: str
    build: Callable[..., Predicate] | None
    help: str


def _names(value: object) -> frozenset[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(x, str) and x for x in items):
        raise PredicateArgError("expected a name or a list of names")
    return frozenset(x.lower() for x in items)


PREDICATES: Mapping[str, PredicateSpec] = {
    "subject_matches": PredicateSpec("pattern", SubjectMatches, "regex searched in the subject"),
    "new_text_matches": PredicateSpec("pattern", NewTextMatches, "regex searched in the new text (quotes stripped)"),
    "text_matches": PredicateSpec("pattern", MessageMatches, "regex searched in subject and new text"),
    "sender_matches": PredicateSpec("pattern", SenderMatches, "regex searched in the sender address"),
    "header_matches": PredicateSpec("header", HeaderMatches, "{ name = ..., pattern = ... }: regex on one header"),
    "sender_is_technician": PredicateSpec("flag", SenderIsTechnician, "true/false: the sender is a listed technician"),
    "edition_is": PredicateSpec("names", EditionIs, 'edition name(s); "none" for an account without one'),
    "channel_is": PredicateSpec("names", ChannelIs, 'channel name(s): "email", "phone"'),
    "product_mentioned": PredicateSpec("product", ProductMentioned, "true/false, or a product id: a vendor product is named"),
    "other_software_mentioned": PredicateSpec("flag", OtherSoftwareMentioned, "true/false: non-vendor software is named"),
    "release_mentioned": PredicateSpec("flag", ReleaseMentioned, "true/false: a release of a vendor product is named"),
    "release_not_current": PredicateSpec("flag", ReleaseNotCurrent, "true/false: releases are named and none is current"),
    "all": PredicateSpec("combine", None, "list of conditions that must all hold"),
    "any": PredicateSpec("combine", None, "list of conditions of which one must hold"),
    "not": PredicateSpec("negate", None, "one condition that must not hold"),
    "condition": PredicateSpec("ref", None, "name of an entry in [conditions]"),
}


def build_leaf(name: str, value: object, known_products: Sequence[str]) -> Predicate:
    """Turn one leaf ``{name = value}`` into a predicate; raise PredicateArgError when it is wrong."""
    spec = PREDICATES[name]
    assert spec.build is not None
    if spec.kind == "pattern":
        if not isinstance(value, str) or not value:
            raise PredicateArgError("expected a regular expression string")
        try:
            return spec.build(compile_pattern(value))
        except re.error as exc:
            raise PredicateArgError(f"bad regular expression: {exc}") from None
    if spec.kind == "header":
        if not isinstance(value, dict) or set(value) != {"name", "pattern"} or not all(isinstance(v, str) and v for v in value.values()):
            raise PredicateArgError('expected { name = "Header-Name", pattern = "regex" }')
        try:
            return spec.build(value["name"], compile_pattern(value["pattern"]))
        except re.error as exc:
            raise PredicateArgError(f"bad regular expression: {exc}") from None
    if spec.kind == "flag":
        if not isinstance(value, bool):
            raise PredicateArgError("expected true or false")
        return spec.build(value)
    if spec.kind == "names":
        return spec.build(_names(value))
    if spec.kind == "product":
        if isinstance(value, bool):
            return spec.build(None, value)
        if isinstance(value, str) and value in known_products:
            return spec.build(value, True)
        raise PredicateArgError("expected true/false or a product id: " + ", ".join(known_products))
    raise PredicateArgError(f"predicate kind {spec.kind} is not a leaf")  # pragma: no cover
