"""Each predicate of the registry on its own, and release detection (P5)."""
from __future__ import annotations

import re

import pytest

from gateway.policy.predicates import (
    PREDICATES,
    All,
    Any_,
    Catalogue,
    Facts,
    MessageFacts,
    Not,
    PredicateArgError,
    Product,
    build_leaf,
    find_releases,
    release_status,
)

CAT = Catalogue(
    products=(
        Product("server", "Scalix Server", ("Scalix",), ("12.7",), ("12.5", "11"), default=True),
        Product("swa", "Scalix Web Access", ("SWA",), ("12.7",), ("11",)),
    ),
    other_software=("Postfix", "Outlook"),
)


def facts(subject: str = "", text: str = "", **kw: object) -> Facts:
    base: dict[str, object] = dict(headers={}, sender="a@example.com", sender_is_technician=False, edition=None, channel="email")
    base.update(kw)
    return Facts(MessageFacts(subject, text, **base), CAT)  # type: ignore[arg-type]


def leaf(name: str, value: object):
    return build_leaf(name, value, ["server", "swa"])


def test_pattern_predicates_look_where_they_say() -> None:
    f = facts("Disk full", "the message store\n   is full")
    assert leaf("subject_matches", "disk").check(f)
    assert not leaf("new_text_matches", "disk").check(f)
    assert leaf("new_text_matches", "store is full").check(f)  # whitespace collapsed
    assert leaf("text_matches", "disk full").check(f)
    assert not leaf("subject_matches", "store").check(f)


def test_header_and_sender_predicates() -> None:
    f = facts(headers={"X-Priority": "1 (Highest)"}, sender="ops@customer.example")
    assert leaf("header_matches", {"name": "x-priority", "pattern": "^1"}).check(f)
    assert not leaf("header_matches", {"name": "X-Other", "pattern": "."}).check(f)
    assert leaf("sender_matches", r"@customer\.example$").check(f)


def test_flags_editions_and_channels() -> None:
    tech = facts(sender_is_technician=True, edition="Community", channel="phone")
    assert leaf("sender_is_technician", True).check(tech)
    assert not leaf("sender_is_technician", False).check(tech)
    assert leaf("edition_is", ["community", "standard"]).check(tech)
    assert not leaf("edition_is", "enterprise").check(tech)
    assert leaf("edition_is", "none").check(facts())
    assert leaf("channel_is", "phone").check(tech)


def test_product_and_release_predicates() -> None:
    old = facts("SWA 11.4 problem")
    assert leaf("product_mentioned", True).check(old)
    assert leaf("product_mentioned", "swa").check(old)
    assert not leaf("product_mentioned", "server").check(old)
    assert leaf("release_mentioned", True).check(old)
    assert leaf("release_not_current", True).check(old)
    assert not leaf("release_not_current", True).check(facts("SWA 11.4 to 12.7 upgrade"))
    assert leaf("other_software_mentioned", True).check(facts("Postfix relay"))
    assert not leaf("other_software_mentioned", True).check(old)


def test_combinators() -> None:
    yes, no = leaf("text_matches", "a"), leaf("text_matches", "zzz")
    f = facts("a")
    assert All((yes, yes)).check(f) and not All((yes, no)).check(f)
    assert Any_((no, yes)).check(f) and not Any_((no, no)).check(f)
    assert Not(no).check(f) and not Not(yes).check(f)


@pytest.mark.parametrize(
    "name, value",
    [
        ("text_matches", "(x"),
        ("text_matches", 3),
        ("header_matches", {"name": "X"}),
        ("sender_is_technician", "yes"),
        ("edition_is", []),
        ("product_mentioned", "fax"),
    ],
)
def test_bad_arguments_are_refused(name: str, value: object) -> None:
    with pytest.raises(PredicateArgError):
        leaf(name, value)


def test_registry_is_one_explicit_table() -> None:
    required = {"subject_matches", "new_text_matches", "text_matches", "header_matches", "sender_is_technician",
                "edition_is", "product_mentioned", "release_not_current", "all", "any", "not"}
    assert required <= set(PREDICATES)


@pytest.mark.parametrize(
    "release, status",
    [("12.7", "current"), ("12.7.3", "current"), ("12", "current"), ("12.5.1", "past"), ("11", "past"), ("11.4.6", "past"), ("12.6", None), ("9.4", None)],
)
def test_release_status_by_dotted_prefix(release: str, status: str | None) -> None:
    assert release_status(CAT.products[0], release) == status


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Scalix 11.4.6 crashes", [("server", "11.4.6", "past")]),
        ("SWA 11.4 and Scalix Server v12.7", [("swa", "11.4", "past"), ("server", "12.7", "current")]),
        ("swa 11.4 is slow", []),  # short capital aliases are case-sensitive
        ("Scalix on 10.0.0.5", []),
        ("Scalix since 11.05.2024", []),
        ("Postfix 3.7 in front of Scalix", []),
        ("Scalix; Postfix version 11.2 relays", []),
        ("Scalix is fine. We run version 12.7", [("server", "12.7", "current")]),
        ("we run version 12.7", []),  # no product of ours named
        ("Scalix 11 users", []),
        ("Scalix 11, RHEL 8", [("server", "11", "past")]),
        ("Scalix from 11.4 to 12.7", [("server", "11.4", "past"), ("server", "12.7", "current")]),
    ],
)
def test_find_releases(text: str, expected: list[tuple[str, str, str]]) -> None:
    norm = re.sub(r"\s+", " ", text)
    assert [(r.product, r.release, r.status) for r in find_releases(norm, CAT)] == expected
