"""Loading the scope files: every mistake is a ConfigError naming the file and the rule (P5)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.policy.rules_engine import MessageFacts, evaluate
from gateway.rulebook.scope import load_catalogue, load_editions, load_rulebook

ROOT = Path(__file__).resolve().parent.parent

HEAD = """
[[category]]
id = "capacity_planning"
kind = "decline"
label = "capacity or performance planning"

[[category]]
id = "installation"
kind = "ticket"
label = "installation"

[patterns]
sizing = 'siz(?:e|ing)'
"""


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """A copy of the shipped rules folder the test may edit."""
    target = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", target)
    return target


def write_scope(rules_dir: Path, rules: str) -> Path:
    path = rules_dir / "scope.toml"
    path.write_text(HEAD + rules)
    return path


def load_error(rules_dir: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_rulebook(rules_dir)
    return info.value


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_unknown_predicate_names_file_rule_and_line(rules_dir: Path) -> None:
    path = write_scope(rules_dir, '[[rule]]\nid = "r-one"\naction = "accept"\nwhen.sender_is_wizard = true\n')
    err = load_error(rules_dir)
    assert err.file == str(path)
    assert "'r-one'" in err.key and f"line {line_of(path, 'r-one')}" in err.key
    assert "unknown predicate 'sender_is_wizard'" in err.problem
    assert "text_matches" in err.fix


def test_bad_regex_names_file_and_rule(rules_dir: Path) -> None:
    path = write_scope(rules_dir, '[[rule]]\nid = "bad-re"\naction = "accept"\nwhen.all = [ { text_matches = "(unclosed" } ]\n')
    err = load_error(rules_dir)
    assert err.file == str(path) and "'bad-re'" in err.key
    assert "bad regular expression" in err.problem


def test_duplicate_id_names_both_lines(rules_dir: Path) -> None:
    rule = '[[rule]]\nid = "twice"\naction = "accept"\nwhen.sender_is_technician = true\n'
    path = write_scope(rules_dir, rule + "\n" + rule)
    err = load_error(rules_dir)
    assert err.file == str(path) and "'twice'" in err.key
    assert "duplicate rule id" in err.problem and f"line {line_of(path, 'twice')}" in err.problem


def test_unknown_action_names_rule(rules_dir: Path) -> None:
    path = write_scope(rules_dir, '[[rule]]\nid = "odd"\naction = "escalate"\nwhen.sender_is_technician = true\n')
    err = load_error(rules_dir)
    assert err.file == str(path) and "'odd'" in err.key
    assert "unknown action 'escalate'" in err.problem and "decline" in err.fix


@pytest.mark.parametrize(
    "action, category, problem",
    [
        ("decline", "budgeting", "unknown decline category 'budgeting'"),
        ("decline", "installation", "unknown decline category 'installation'"),  # a ticket category
        ("set_category", "capacity_planning", "unknown ticket category 'capacity_planning'"),
        ("accept", "installation", "takes no category"),
    ],
)
def test_category_must_exist_and_fit_the_action(rules_dir: Path, action: str, category: str, problem: str) -> None:
    path = write_scope(rules_dir, f'[[rule]]\nid = "cat"\naction = "{action}"\ncategory = "{category}"\nwhen.text_matches = "x"\n')
    err = load_error(rules_dir)
    assert err.file == str(path) and "'cat'" in err.key
    assert problem in err.problem


def test_unknown_pattern_and_condition_references(rules_dir: Path) -> None:
    write_scope(rules_dir, '[[rule]]\nid = "ref"\naction = "accept"\nwhen.text_matches = "{{nope}}"\n')
    assert "unknown pattern {{nope}}" in load_error(rules_dir).problem
    write_scope(rules_dir, '[[rule]]\nid = "ref2"\naction = "accept"\nwhen.condition = "missing"\n')
    err = load_error(rules_dir)
    assert "'ref2'" in err.key and "unknown condition 'missing'" in err.problem


def test_condition_loop_is_reported(rules_dir: Path) -> None:
    write_scope(rules_dir, '[conditions]\na.condition = "b"\nb.not = { condition = "a" }\n\n[[rule]]\nid = "x"\naction = "accept"\nwhen.condition = "a"\n')
    assert "refers to itself" in load_error(rules_dir).problem


def test_condition_with_two_predicates_is_rejected(rules_dir: Path) -> None:
    write_scope(rules_dir, '[[rule]]\nid = "two"\naction = "accept"\nwhen = { text_matches = "a", sender_is_technician = true }\n')
    assert "exactly one predicate" in load_error(rules_dir).problem


def test_bad_products_file_names_product(rules_dir: Path) -> None:
    path = rules_dir / "products.toml"
    path.write_text('[[product]]\nid = "server"\nname = "Scalix Server"\ncurrent = ["12.7"]\npast = ["12.7", "11"]\n')
    with pytest.raises(ConfigError) as info:
        load_catalogue(rules_dir)
    assert info.value.file == str(path) and "'server'" in info.value.key and "line 2" in info.value.key
    assert "both current and past" in info.value.problem


def test_bad_release_string_in_products(rules_dir: Path) -> None:
    (rules_dir / "products.toml").write_text('[[product]]\nid = "swa"\nname = "SWA"\ncurrent = ["twelve"]\n')
    with pytest.raises(ConfigError, match="current must be a list of releases"):
        load_catalogue(rules_dir)


def test_bad_edition_channel(rules_dir: Path) -> None:
    path = rules_dir / "editions.toml"
    path.write_text(path.read_text().replace('channels = ["email"]', 'channels = ["email", "fax"]'))
    with pytest.raises(ConfigError) as info:
        load_editions(rules_dir)
    assert info.value.file == str(path) and info.value.key.startswith("edition.community")


def test_editing_a_copied_rules_folder_changes_the_decision(rules_dir: Path) -> None:
    facts = MessageFacts("How should we size our servers for 5,000 users?", "", {}, "c@example.com", False, "standard")
    assert evaluate(load_rulebook(rules_dir), facts).action == "decline"
    scope = rules_dir / "scope.toml"
    text = scope.read_text()
    # Turn the capacity decline into an accept: the same message now opens a ticket.
    start = text.index('id = "decline-capacity-planning"')
    edited = text[:start] + text[start:].replace('action = "decline"\ncategory = "capacity_planning"', 'action = "accept"', 1)
    assert edited != text
    scope.write_text(edited)
    d = evaluate(load_rulebook(rules_dir), facts)
    assert (d.action, d.decided_by) == ("accept", "decline-capacity-planning")

    # Moving 12.7 from current to past makes a "12.7" message not current.
    products = rules_dir / "products.toml"
    products.write_text(products.read_text().replace('current = ["12.7", "12.6"]\npast = ["12.5"', 'current = ["12.6"]\npast = ["12.7", "12.5"', 1))
    d = evaluate(load_rulebook(rules_dir), MessageFacts("Crash", "Scalix 12.7.1 crashes", {}, "c@example.com", False, None))
    assert d.action == "reject_not_current" and d.current_releases == ["Scalix Server: 12.6"]
