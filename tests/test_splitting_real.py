"""Floors on the real-world evaluation set (bench/data/split_eval_real*.jsonl, POLICY.md P2).

The set (two files, read together) holds public support requests about mail and groupware servers with their sources;
rules are tuned on its ``dev`` part only, so these floors are measured on ``test``. A
regression that splits single-issue requests (charging twice) fails here.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from gateway.policy.splitting import split_issues
from gateway.rulebook.splitting import load_split_rules

ROOT = Path(__file__).resolve().parent.parent
DATA = (ROOT / "bench" / "data" / "split_eval_real.jsonl", ROOT / "bench" / "data" / "split_eval_real2.jsonl")

# Precision is the policy target (a wrong split charges the customer twice). Recall is the
# figure measured on the test part: 1 of its 4 combined requests (the second file added two
# hard ones, headed sections); see docs/splitting.md. The target is 0.85.
PRECISION_FLOOR = 0.95
RECALL_FLOOR = 0.25


# The texts are third-party writing and stay out of the repository (see bench/split_accuracy.py);
# the floors are checked where someone has fetched them from the sources.
LOCAL_TEXTS = ROOT / "bench" / "data" / "local" / "split_eval_real_texts.jsonl"


def _items(split: str) -> list[dict]:
    rows = [json.loads(line) for path in DATA for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r["split"] == split]


def _texts() -> dict[str, str]:
    if not LOCAL_TEXTS.exists():
        return {}
    rows = [json.loads(line) for line in LOCAL_TEXTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["id"]: r["text"] for r in rows}


@pytest.fixture(scope="module")
def rules():
    return load_split_rules(ROOT / "rules")


def test_real_set_is_labelled_with_sources() -> None:
    rows = _items("dev") + _items("test")
    assert len(rows) >= 145
    for r in rows:
        assert r["part"] == "real" and r["source"].startswith("https://") and "text" not in r
        assert len(r["starts"]) == r["n_issues"]
        assert all(0 <= a < b for a, b in zip(r["starts"], r["starts"][1:])), r["id"]
    assert len({r["source"] for r in rows}) == len(rows)


@pytest.mark.skipif(not _texts(), reason="the real set's texts are not fetched (bench/data/local/)")
def test_real_test_part_precision_and_recall_floors(rules) -> None:
    texts = _texts()
    tp = fp = fn = 0
    for item in _items("test"):
        text = texts[item["id"]]
        assert hashlib.sha256(text.encode()).hexdigest() == item["text_sha256"], item["id"]
        pred = split_issues(text, rules).combined
        gold = item["n_issues"] > 1
        tp += pred and gold
        fp += pred and not gold
        fn += gold and not pred
    assert tp + fn > 0, "the test part must contain combined requests"
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn)
    assert precision >= PRECISION_FLOOR, f"precision {precision:.3f} (false splits: {fp})"
    assert recall >= RECALL_FLOOR, f"recall {recall:.3f} (missed: {fn})"


def test_generic_plea_is_a_preamble_not_an_issue(rules) -> None:
    text = (
        "Hello, could someone please help me out here?\n\n"
        "I cannot get a desktop mail client working with my server; Thunderbird keeps failing to log in. "
        "Has anybody managed to make a desktop client work?"
    )
    assert not split_issues(text, rules).combined


def test_colon_numbered_problems_split(rules) -> None:
    text = (
        'There are a few "small problems" left:\n\n'
        "1: The mail log stays empty, nothing is ever written to it.\n\n"
        "2: In the admin panel the queue view and the graphs are gone since two weeks.\n\n"
        "3: Our PHP script cannot send mail through one of the server's accounts."
    )
    assert len(split_issues(text, rules).issues) == 3


def test_also_if_continues_the_same_problem(rules) -> None:
    text = (
        "Calendars shared over ActiveSync on Android sync once and then never notify about events.\n"
        "Also if the other person adds an event it never reaches the server. Any hints?"
    )
    assert not split_issues(text, rules).combined


def test_unannounced_two_item_list_splits_from_its_first_item(rules) -> None:
    text = (
        "1. Outlook connector crashes when opening shared calendars.\n"
        "2. How do I move a mailbox to another Scalix server?"
    )
    result = split_issues(text, rules)
    assert len(result.issues) == 2
    assert result.starts == [0, text.index("2. How")]


def test_item_ending_in_too_is_a_symptom_of_the_same_outage(rules) -> None:
    text = (
        "Hi\n\nIMAP and SMTP look dead for every mailbox.\n\n"
        "* Thunderbird prompts for the password on every mailbox, sending fails as well\n"
        "* The webmail does not work either"
    )
    assert not split_issues(text, rules).combined
