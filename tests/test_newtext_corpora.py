"""new_text and split_issues over the copyleft corpora, read in place and skipped when absent.

zammad (AGPL-3.0) and rt (GPL-2.0) may not be copied into the project; they are read from
``../shared/corpora`` at test time. Hard MIME and charsets must never crash the new-text
extraction or the splitter.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli.split import bodies_from_bytes
from gateway.policy.newtext import new_text
from gateway.policy.splitting import SplitRules, split_issues

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT.parent / "shared" / "corpora"
FILES = sorted((CORPORA / "zammad").rglob("*.box")) + sorted((CORPORA / "rt").rglob("*.eml"))


@pytest.mark.skipif(not FILES, reason="copyleft corpora not present in ../shared/corpora")
@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPORA)))
def test_copyleft_corpus_message_never_crashes(path: Path, split_rules: SplitRules) -> None:
    plain, html = bodies_from_bytes(path.read_bytes())
    text = new_text(plain, html)
    assert isinstance(text, str)
    result = split_issues(text, split_rules)
    assert len(result.issues) >= 1
    assert all(s["id"] for s in result.signals)
