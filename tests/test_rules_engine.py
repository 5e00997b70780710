"""The scope rules engine on the shipped rules: the policy's example phrasings, releases,
feature requests, recorded rule ids, explain, editions, and the labelled eval set (P5, P6)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from gateway.policy.rules_engine import (
    Decision,
    MessageFacts,
    Rulebook,
    channel_allowed,
    channel_refusal,
    channels_note,
    decision_from_dict,
    decision_to_dict,
    evaluate,
    explain,
)
from gateway.rulebook.scope import load_editions, load_rulebook

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules"


@pytest.fixture(scope="module")
def book() -> Rulebook:
    return load_rulebook(RULES)


def decide(book: Rulebook, subject: str, text: str = "", *, technician: bool = False, edition: str | None = "standard") -> Decision:
    return evaluate(book, MessageFacts(subject, text, {}, "customer@example.com", technician, edition))


# --- the three phrasings the issue names


def test_server_sizing_question_is_declined_as_capacity_planning(book: Rulebook) -> None:
    d = decide(book, "How should we size our servers for 5,000 users?")
    assert (d.action, d.category) == ("decline", "capacity_planning")
    assert d.decided_by == "decline-capacity-planning"
    assert d.decided_by in d.matched


def test_postfix_relay_config_for_exchange_is_non_vendor_software(book: Rulebook) -> None:
    d = decide(book, "Postfix relay config for our Exchange")
    assert (d.action, d.category) == ("decline", "non_vendor_software")


def test_server_crash_after_upgrade_stays_in_scope(book: Rulebook) -> None:
    d = decide(book, "Scalix server crashes on start after upgrade")
    assert d.action == "accept"
    assert d.kind == "incident"
    assert d.product == "server"
    assert not any(rule.startswith("decline-") for rule in d.matched)


# --- a failure report is never declined, however advice-like


@pytest.mark.parametrize(
    "subject, text",
    [
        ("Sizing", "How should we size the new server? The old one crashes every night with 3,000 users."),
        ("Tuning", "How can we tune SWA? Logins time out since the upgrade."),
        ("DMZ", "Should SWA in the DMZ be able to reach the mail server? Users cannot log in."),
        ("Postfix", "Our Postfix relay forwards to Scalix and Scalix rejects the mail with relaying denied."),
    ],
)
def test_problem_reports_are_not_declined(book: Rulebook, subject: str, text: str) -> None:
    assert decide(book, subject, text).action == "accept"


@pytest.mark.parametrize(
    "subject, text",
    [
        ("Cluster", "How do we configure Scalix in an active/passive cluster? Is there a procedure?"),
        ("Sites", "Where do I set the routing between our two sites in SAC?"),
        ("Hardware", "Is Scalix 12.7 supported on ARM hardware?"),
        ("Index", "How do I rebuild the search index after moving the message store?"),
    ],
)
def test_procedural_how_tos_are_support_even_with_decline_words(book: Rulebook, subject: str, text: str) -> None:
    assert decide(book, subject, text).action == "accept"


# --- releases


@pytest.mark.parametrize(
    "subject, text, product, release",
    [
        ("SWA calendar", "In SWA 11.4 shared calendars are empty.", "swa", "11.4"),
        ("Crash", "Our Scalix 11.4.6 server crashes at night.", "server", "11.4.6"),
        ("Connector", "Scalix Connect for Outlook 11.0.3 shows a MAPI error.", "sco", "11.0.3"),
        ("Help", "Scalix version 10 does not start.", "server", "10"),
    ],
)
def test_past_release_is_rejected_not_current(book: Rulebook, subject: str, text: str, product: str, release: str) -> None:
    d = decide(book, subject, text)
    assert d.action == "reject_not_current"
    assert (d.product, d.release) == (product, release)
    current = next(p for p in book.catalogue.products if p.id == product).current
    assert any(", ".join(current) in line for line in d.current_releases)


def test_ps_with_current_version_is_recorded_not_rejected(book: Rulebook) -> None:
    d = decide(book, "SWA login fails", "Users cannot log in to SWA.\n\nPS: we run version 12.7")
    assert d.action == "accept"
    assert (d.product, d.release) == ("swa", "12.7")


def test_upgrade_from_past_to_current_release_is_not_rejected(book: Rulebook) -> None:
    d = decide(book, "Upgrade", "We upgraded Scalix from 11.4 to 12.7 and now SWA fails to load.")
    assert d.action == "accept"
    assert d.release == "12.7"


@pytest.mark.parametrize(
    "text",
    [
        "Our Scalix server 10.0.0.5 refuses SMTP connections from 192.168.11.4.",
        "Scalix stopped on 11.04.2024 and again on 12.5.2024 at night.",
        "Scalix Connect on Outlook 2016 and Windows 10 cannot send mail.",
        "We relay through Postfix version 3.7 and Java version 11.0.2 is installed; Scalix rejects mail.",
        "Scalix 10 users cannot log in since this morning.",
    ],
)
def test_addresses_dates_counts_and_other_software_are_not_releases(book: Rulebook, text: str) -> None:
    d = decide(book, "Problem", text)
    assert d.action == "accept"
    assert d.release is None


def test_no_release_named_opens_and_records_product(book: Rulebook) -> None:
    d = decide(book, "SAC blank page", "The Scalix Management Console shows a blank page.")
    assert (d.action, d.product, d.release) == ("accept", "sac", None)


# --- features


@pytest.mark.parametrize(
    "subject, text",
    [
        ("Feature request: dark mode", "Dark mode for SWA please."),
        ("Suggestion", "It would be great if SAC could export users as CSV."),
        ("Idea", "Please add CalDAV support to Scalix."),
        ("Themes", "Would be nice to have more themes in Scalix Web Access."),
    ],
)
def test_feature_requests_are_kind_feature(book: Rulebook, subject: str, text: str) -> None:
    d = decide(book, subject, text)
    assert (d.action, d.kind) == ("accept", "feature")
    assert "feature-request" in d.matched


def test_help_plea_with_a_failure_is_not_a_feature_request(book: Rulebook) -> None:
    d = decide(book, "Urgent", "It would be great if you could help: SWA crashes when opening attachments.")
    assert d.kind == "incident"


def test_technician_mail_is_accepted_and_records_both_matches(book: Rulebook) -> None:
    d = decide(book, "How should we size our servers for 5,000 users?", technician=True)
    assert d.action == "accept"
    assert d.decided_by == "technician-mail"
    # The decline rule still matched: the record says so, it just did not decide.
    assert d.matched[:2] == ["technician-mail", "decline-capacity-planning"]


# --- explain


def test_explain_names_category_deciding_rule_and_all_matches(book: Rulebook) -> None:
    d = decide(book, "Postfix relay config for our Exchange")
    lines = explain(d, {r.id: r.note for r in book.rules})
    text = "\n".join(lines)
    assert book.categories["non_vendor_software"].label in lines[0]
    assert "decided by: decline-non-vendor-config" in text
    assert all(rule_id in text for rule_id in d.matched)


def test_decision_round_trips_through_a_dict(book: Rulebook) -> None:
    d = decide(book, "Crash", "Scalix 11.4.6 crashes")
    assert decision_from_dict(decision_to_dict(d)) == d
    assert d.current_releases  # the field that only not-current decisions fill is covered too


def test_explain_of_accept_without_rules(book: Rulebook) -> None:
    d = decide(book, "Hello", "Thanks.")
    lines = explain(d)
    assert d.matched == [] and d.decided_by is None
    assert "rules matched: none" in lines
    assert lines[0].startswith("Accepted as incident")


# --- editions


def test_editions_channels_and_refusal() -> None:
    eds = load_editions(RULES)
    assert channel_allowed(eds, "community", "email")
    assert not channel_allowed(eds, "community", "phone")
    assert channel_allowed(eds, "standard", "phone") and channel_allowed(eds, "Enterprise", "phone")
    assert not channel_allowed(eds, None, "phone")  # no edition recorded: the narrowest
    refusal = channel_refusal(eds, "community", "phone")
    assert "Community Edition" in refusal and "e-mail" in refusal and "telephone" in refusal
    assert channels_note(eds, "community") == "Support for Community Edition is by e-mail."


# --- the labelled set


def _bench():
    spec = importlib.util.spec_from_file_location("scope_precision", ROOT / "bench" / "scope_precision.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_eval_set_is_large_labelled_and_sourced() -> None:
    bench = _bench()
    items = bench.load_items(bench.DATA)
    assert len(items) >= 100
    labels = {"in_scope", "feature", "not_current"} | {f"decline:{c}" for c in ("performance_tuning", "architecture_advice", "capacity_planning", "non_vendor_software")}
    assert {it.label for it in items} == labels
    assert all(it.source and it.split in ("dev", "test") for it in items)


def test_shipped_rules_decline_precision_on_dev_part(book: Rulebook) -> None:
    bench = _bench()
    dev = [it for it in bench.load_items(bench.DATA) if it.split == "dev"]
    s = bench.score([(it.label, bench.predict(book, it)) for it in dev])
    assert s.decline_precision is not None and s.decline_precision == 1.0
    assert s.decline_recall is not None and s.decline_recall >= 0.8
    assert s.not_current_accuracy == 1.0 and s.false_not_current == 0


def test_decline_precision_on_held_out_parts(book: Rulebook) -> None:
    bench = _bench()
    held = [it for it in bench.load_items(bench.DATA) + bench.load_items(bench.HARD) if it.split != "dev"]
    s = bench.score([(it.label, bench.predict(book, it)) for it in held])
    assert s.decline_precision is not None and s.decline_precision >= 0.95
