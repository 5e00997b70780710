"""Validation of rules/splitting.toml: errors name the file and the signal id."""
from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.rulebook.splitting import load_split_rules

SHIPPED = Path(__file__).resolve().parent.parent / "rules" / "splitting.toml"

GOOD_PROBLEM = """
[[signal]]
id = "problem.any"
kind = "problem"
pattern = 'fails'
weight = 0
"""


def _write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "splitting.toml").write_text(body, encoding="utf-8")
    return tmp_path


def test_shipped_rules_load() -> None:
    rules = load_split_rules(SHIPPED.parent)
    assert rules.threshold > 0 and rules.of_kind("problem")


@pytest.mark.parametrize(
    ("body", "key", "problem"),
    [
        (GOOD_PROBLEM + "[[signal]]\nid = 'marker.x'\nkind = 'boundary'\npattern = '(unclosed'\nweight = 1\n", "marker.x", "bad regex"),
        (GOOD_PROBLEM + "[[signal]]\nid = 'marker.y'\nkind = 'boundary'\npattern = 'x'\nweight = 1\ncolour = 'red'\n", "marker.y", "unknown key"),
        (GOOD_PROBLEM + "[[signal]]\nid = 'marker.z'\nkind = 'nonsense'\npattern = 'x'\nweight = 1\n", "marker.z", "bad kind"),
        (GOOD_PROBLEM + "[[signal]]\nid = 'marker.w'\nkind = 'boundary'\npattern = 'x'\nweight = -1\n", "marker.w", "bad weight"),
        (GOOD_PROBLEM + "[[signal]]\nid = 'problem.any'\nkind = 'boundary'\npattern = 'x'\nweight = 1\n", "problem.any", "duplicate id"),
        (GOOD_PROBLEM + "[[signal]]\nid = 'marker.v'\nkind = 'boundary'\npattern = ''\nweight = 1\n", "marker.v", "empty pattern"),
        ("[settings]\nthreshold = 1\nsplines = 3\n" + GOOD_PROBLEM, "settings.splines", "unknown key"),
        ("[settings]\nthreshold = 0\n" + GOOD_PROBLEM, "settings.threshold", "bad value"),
        ("[settings]\nmin_topic_words = -1\n" + GOOD_PROBLEM, "settings.min_topic_words", "bad value"),
        ("[settings]\nthreshold = 1\n", "signal", "no signals"),
        ("[[signal]]\nid = 'marker.u'\nkind = 'boundary'\npattern = 'x'\nweight = 1\n", "signal", "problem"),
        ("[setings]\nthreshold = 1\n" + GOOD_PROBLEM, "setings", "unknown table"),
        ("threshold = = 1\n", "-", "not valid TOML"),
    ],
)
def test_bad_rules_name_file_and_signal(tmp_path: Path, body: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_split_rules(_write(tmp_path, body))
    assert info.value.file == str(tmp_path / "splitting.toml")
    assert info.value.key == key
    assert problem in info.value.problem


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_split_rules(tmp_path)
