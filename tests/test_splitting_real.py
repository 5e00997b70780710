"""Floors on the real-world evaluation set (bench/data/split_eval_real*.jsonl, POLICY.md P2).

The set (two files, read together) holds public support requests about mail and groupware servers with their sources;
split_rules are tuned on its ``dev`` part only, so these floors are measured on ``test``. A
regression that splits single-issue requests (charging twice) fails here.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from gateway.policy.splitting import split_issues

ROOT = Path(__file__).resolve().parent.parent

# Regression floors at the figures measured on the test part (docs/splitting.md: precision
# 0.79, recall 0.34 on 436 items, 77 combined). The policy targets are precision >= 0.95 and
# recall >= 0.85; they are not met, and these floors only stop the splitter getting worse.
PRECISION_FLOOR = 0.78
RECALL_FLOOR = 0.33


def _load_bench():
    """bench/split_accuracy.py: the same files, loading (texts checked against their hashes) and scoring."""
    spec = importlib.util.spec_from_file_location("split_accuracy", ROOT / "bench" / "split_accuracy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _load_bench()
DATA = BENCH.DEFAULT_SETS["real"]


def _rows() -> list[dict]:
    return [row for path in DATA for row in BENCH.read_jsonl(path)]


def test_real_set_is_labelled_with_sources() -> None:
    rows = _rows()
    assert len(rows) >= 1100
    assert sum(r["n_issues"] > 1 for r in rows) >= 190
    for r in rows:
        assert r["part"] == "real" and r["source"].startswith("https://") and "text" not in r
        assert r["split"] in ("dev", "test") and len(r["text_sha256"]) == 64
        assert len(r["starts"]) == r["n_issues"] and (r["kind"] == "combined") == (r["n_issues"] > 1)
        assert all(0 <= a < b for a, b in zip(r["starts"], r["starts"][1:])), r["id"]
    assert len({r["source"] for r in rows}) == len(rows)
    assert len({r["id"] for r in rows}) == len(rows)


# The texts are third-party writing and stay out of the repository (bench/split_accuracy.py);
# the floors are checked where someone has fetched them (bench/split_eval_import.py).
@pytest.mark.skipif(not BENCH.LOCAL_TEXTS.exists(), reason="the real set's texts are not fetched (bench/data/local/)")
def test_real_test_part_precision_and_recall_floors(split_rules) -> None:
    items = [i for path in DATA for i in BENCH.load_items(path) if i["split"] == "test"]
    scores = BENCH.evaluate(items, split_rules)
    assert scores["combined"] > 0, "the test part must contain combined requests"
    assert scores["precision"] >= PRECISION_FLOOR, scores
    assert scores["recall"] >= RECALL_FLOOR, scores


# The modelled set: texts in our own words, each after one public request (its source), kept
# in the repository. Measured blind first (docs/splitting.md); these floors sit at the figures
# measured on all of it after the rules were changed for what it showed.
MODELLED_PRECISION_FLOOR = 0.86
MODELLED_RECALL_FLOOR = 0.34


def test_modelled_set_is_labelled_and_holds_the_floors(split_rules) -> None:
    (path,) = BENCH.DEFAULT_SETS["modelled"]
    items = BENCH.load_items(path)
    assert len(items) >= 2790 and len({i["source"] for i in items}) == len(items)
    assert not {i["source"] for i in items} & {r["source"] for r in _rows()}, "a modelled item must not repeat a real item's source"
    for i in items:
        assert i["part"] == "modelled" and i["source"].startswith("https://") and i["split"] in ("dev", "test") and i["round"] in range(1, 14)
        assert len(i["starts"]) == i["n_issues"] and (i["kind"] == "combined") == (i["n_issues"] > 1)
    scores = BENCH.evaluate(items, split_rules)
    assert scores["combined"] >= 190
    assert scores["precision"] >= MODELLED_PRECISION_FLOOR, scores
    assert scores["recall"] >= MODELLED_RECALL_FLOOR, scores


def test_generic_plea_is_a_preamble_not_an_issue(split_rules) -> None:
    text = (
        "Hello, could someone please help me out here?\n\n"
        "I cannot get a desktop mail client working with my server; Thunderbird keeps failing to log in. "
        "Has anybody managed to make a desktop client work?"
    )
    assert not split_issues(text, split_rules).combined


def test_colon_numbered_problems_split(split_rules) -> None:
    text = (
        'There are a few "small problems" left:\n\n'
        "1: The mail log stays empty, nothing is ever written to it.\n\n"
        "2: In the admin panel the queue view and the graphs are gone since two weeks.\n\n"
        "3: Our PHP script cannot send mail through one of the server's accounts."
    )
    assert len(split_issues(text, split_rules).issues) == 3


def test_also_if_continues_the_same_problem(split_rules) -> None:
    text = (
        "Calendars shared over ActiveSync on Android sync once and then never notify about events.\n"
        "Also if the other person adds an event it never reaches the server. Any hints?"
    )
    assert not split_issues(text, split_rules).combined


def test_unannounced_two_item_list_splits_from_its_first_item(split_rules) -> None:
    text = (
        "1. Outlook connector crashes when opening shared calendars.\n"
        "2. How do I move a mailbox to another Scalix server?"
    )
    result = split_issues(text, split_rules)
    assert len(result.issues) == 2
    assert result.starts == [0, text.index("2. How")]


def test_item_ending_in_too_is_a_symptom_of_the_same_outage(split_rules) -> None:
    text = (
        "Hi\n\nIMAP and SMTP look dead for every mailbox.\n\n"
        "* Thunderbird prompts for the password on every mailbox, sending fails as well\n"
        "* The webmail does not work either"
    )
    assert not split_issues(text, split_rules).combined
