"""Precision and recall of the shipped scope rules on a labelled set of support requests.

Where it sits: a benchmark beside the policy core; it loads ``rules/`` with
``gateway.rulebook.scope`` and runs the pure engine over ``bench/data/scope_eval.jsonl``
(fields: id, subject, text, label = in_scope | feature | decline:<category> | not_current,
source, split = dev | test) and ``scope_eval_hard.jsonl`` (split = hard, held out).

It prints, for the dev part, the test part and all items: decline precision and recall
overall and per category, feature precision/recall, and not-current accuracy. A naive
keyword baseline (decline whenever a category word appears, measured in the same run) shows
what the evidence rules buy. ``--show-errors`` lists the misclassified items.

    python bench/scope_precision.py [--rules-dir DIR] [--data FILE ...] [--split dev|test|hard|all] [--show-errors]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.policy.rules_engine import Decision, MessageFacts, Rulebook, evaluate  # noqa: E402
from gateway.rulebook.scope import load_rulebook  # noqa: E402

DATA = ROOT / "bench" / "data" / "scope_eval.jsonl"
# Written after the rules, without tuning them afterwards: a held-out set of harder phrasings.
HARD = ROOT / "bench" / "data" / "scope_eval_hard.jsonl"


@dataclass(frozen=True)
class Item:
    id: str
    subject: str
    text: str
    label: str
    source: str
    split: str


@dataclass(frozen=True)
class Scores:
    n: int
    decline_precision: float | None
    decline_recall: float | None
    per_category: dict[str, tuple[float | None, float | None, int]]
    feature_precision: float | None
    feature_recall: float | None
    not_current_accuracy: float | None
    false_not_current: int


def load_items(path: Path) -> list[Item]:
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            items.append(Item(raw["id"], raw["subject"], raw["text"], raw["label"], raw["source"], raw.get("split", "dev")))
    return items


def predict(book: Rulebook, item: Item) -> str:
    """The engine's answer in the label vocabulary."""
    d: Decision = evaluate(book, MessageFacts(item.subject, item.text, {}, "customer@example.com", False, "standard"))
    if d.action == "decline":
        return f"decline:{d.category}"
    if d.action == "reject_not_current":
        return "not_current"
    return "feature" if d.kind == "feature" else "in_scope"


_BASELINE = {
    "capacity_planning": r"\b(?:siz\w+|capacity|how many users|hardware)\b",
    "architecture_advice": r"\b(?:architecture|dmz|cluster\w*|high availability|virtuali[sz]\w*)\b",
    "performance_tuning": r"\b(?:tun\w+|optimi[sz]\w*|performance|faster)\b",
    "non_vendor_software": r"\b(?:postfix|sendmail|exchange|spamassassin|clamav|apache|nginx|thunderbird)\b",
}


def baseline(item: Item) -> str:
    """Keyword-only declining: what the rules would do without the evidence conditions."""
    text = f"{item.subject} {item.text}"
    for cat, pattern in _BASELINE.items():
        if re.search(pattern, text, re.IGNORECASE):
            return f"decline:{cat}"
    return "in_scope"


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def score(pairs: Sequence[tuple[str, str]]) -> Scores:
    """``pairs`` are (label, prediction)."""
    is_dec = lambda s: s.startswith("decline:")  # noqa: E731
    tp = sum(1 for g, p in pairs if is_dec(g) and is_dec(p))
    pred = sum(1 for _g, p in pairs if is_dec(p))
    gold = sum(1 for g, _p in pairs if is_dec(g))
    cats = sorted({s.split(":", 1)[1] for pair in pairs for s in pair if is_dec(s)})
    per: dict[str, tuple[float | None, float | None, int]] = {}
    for c in cats:
        lab = f"decline:{c}"
        ctp = sum(1 for g, p in pairs if g == lab and p == lab)
        per[c] = (_ratio(ctp, sum(1 for _g, p in pairs if p == lab)), _ratio(ctp, sum(1 for g, _p in pairs if g == lab)), sum(1 for g, _p in pairs if g == lab))
    ftp = sum(1 for g, p in pairs if g == p == "feature")
    nc = [(g, p) for g, p in pairs if g == "not_current"]
    return Scores(
        n=len(pairs),
        decline_precision=_ratio(tp, pred),
        decline_recall=_ratio(tp, gold),
        per_category=per,
        feature_precision=_ratio(ftp, sum(1 for _g, p in pairs if p == "feature")),
        feature_recall=_ratio(ftp, sum(1 for g, _p in pairs if g == "feature")),
        not_current_accuracy=_ratio(sum(1 for g, p in nc if p == "not_current"), len(nc)),
        false_not_current=sum(1 for g, p in pairs if p == "not_current" and g != "not_current"),
    )


def evaluate_items(book: Rulebook, items: Iterable[Item], how: Callable[[Item], str] | None = None) -> list[tuple[Item, str]]:
    fn = how or (lambda it: predict(book, it))
    return [(it, fn(it)) for it in items]


def _f(x: float | None) -> str:
    return "  n/a" if x is None else f"{x:5.3f}"


def report(title: str, s: Scores, base: Scores | None) -> None:
    print(f"== {title} ({s.n} messages)")
    line = f"  decline precision {_f(s.decline_precision)}  recall {_f(s.decline_recall)}"
    if base is not None:
        line += f"   | keyword baseline precision {_f(base.decline_precision)}  recall {_f(base.decline_recall)}"
    print(line)
    for cat, (p, r, n) in s.per_category.items():
        print(f"    {cat:22} precision {_f(p)}  recall {_f(r)}  (labelled {n})")
    print(f"  feature precision {_f(s.feature_precision)}  recall {_f(s.feature_recall)}")
    print(f"  not-current accuracy {_f(s.not_current_accuracy)}  (wrongly rejected as not current: {s.false_not_current})")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rules-dir", type=Path, default=ROOT / "rules")
    ap.add_argument("--data", type=Path, action="append", help="labelled JSONL (repeatable; default: scope_eval.jsonl and scope_eval_hard.jsonl)")
    ap.add_argument("--split", choices=("dev", "test", "hard", "all"), default=None, help="only this part (default: each part, then all)")
    ap.add_argument("--show-errors", action="store_true")
    args = ap.parse_args(argv)
    book = load_rulebook(args.rules_dir)
    items = [it for path in (args.data or [DATA, HARD]) for it in load_items(path)]
    ours = evaluate_items(book, items)
    base = evaluate_items(book, items, baseline)
    splits = [args.split] if args.split else [*dict.fromkeys(it.split for it in items), "all"]
    for split in splits:
        sel = [i for i, (it, _p) in enumerate(ours) if split == "all" or it.split == split]
        report(
            split,
            score([(ours[i][0].label, ours[i][1]) for i in sel]),
            score([(base[i][0].label, base[i][1]) for i in sel]),
        )
    if args.show_errors:
        print("== errors")
        for it, p in ours:
            if (args.split in (None, "all") or it.split == args.split) and p != it.label:
                print(f"  {it.id} [{it.split}] label={it.label} got={p}: {it.subject} | {it.text[:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
