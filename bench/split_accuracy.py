"""Accuracy of issue splitting (POLICY.md P2) on the labelled sets in bench/data/split_eval*.jsonl.

Run as ``python bench/split_accuracy.py [--rules DIR] [--show-errors]``. For each split
(``dev`` is for tuning ``rules/splitting.toml``, ``test`` is held out) it reports precision
and recall of "combined" (the message states more than one issue), the accuracy of the
issue count, and the accuracy of the split points (starts of the second and later issues,
compared exactly after skipping white space), against the baseline "never split" measured
in the same run. Each text goes through the same steps as a message body in the gateway:
:func:`gateway.policy.newtext.new_text` (quotes, signatures and sign-offs dropped), then
:func:`gateway.policy.splitting.split_issues`. Targets on ``test``: precision >= 0.95, recall >= 0.85.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.policy.newtext import new_text  # noqa: E402
from gateway.policy.splitting import SplitRules, split_issues  # noqa: E402
from gateway.rulebook.splitting import load_split_rules  # noqa: E402


def _norm(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _gold_starts(item: dict, body: str) -> set[int]:
    """The labelled starts of the second and later issues, found again in the new text."""
    text = item["text"]
    out = set()
    for start in item["starts"][1:]:
        snippet = text[_norm(text, start):].split("\n", 1)[0][:40]
        out.add(_norm(body, body.find(snippet)) if snippet and snippet in body else -1)
    return out


def evaluate(items: list[dict], rules: SplitRules | None) -> dict[str, float]:
    tp = fp = fn = tn = 0
    count_ok = points_ok = points_total = 0
    for item in items:
        gold = item["n_issues"] > 1
        body = new_text(item["text"], None)
        if rules is None:
            n, starts = 1, [0]
        else:
            result = split_issues(body, rules)
            n, starts = len(result.issues), result.starts
        pred = n > 1
        tp += gold and pred
        fp += pred and not gold
        fn += gold and not pred
        tn += not gold and not pred
        count_ok += n == item["n_issues"]
        if gold and pred:
            points_total += 1
            points_ok += {_norm(body, s) for s in starts[1:]} == _gold_starts(item, body)
    return {
        "items": len(items),
        "combined": tp + fn,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "count_accuracy": count_ok / len(items) if items else 1.0,
        "split_point_accuracy": points_ok / points_total if points_total else 1.0,
        "false_splits": fp,
        "missed": fn,
    }


DATA = ROOT / "bench" / "data"
# The composed set, the real set (public support requests, bench/data/split_eval_real*.jsonl,
# read together) and the modelled set (each text rewritten in our own words after one public
# request, keeping its shape); each set is reported on its own, dev and test apart.
DEFAULT_SETS: dict[str, tuple[Path, ...]] = {
    "composed": (DATA / "split_eval.jsonl",),
    "real": (DATA / "split_eval_real.jsonl", DATA / "split_eval_real2.jsonl", DATA / "split_eval_real3.jsonl"),
    "modelled": (DATA / "split_eval_modelled.jsonl",),
}


# The real set's texts are third-party writing: the repository keeps each item's source,
# labels and a sha256 of its text, not the text. Whoever measures fetches the texts from
# the sources into this file ({"id", "text"} per line); items without a text are skipped.
LOCAL_TEXTS = DATA / "local" / "split_eval_real_texts.jsonl"


def read_jsonl(path: Path) -> list[dict]:
    """The rows of a JSON-lines file (none when it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_items(path: Path) -> list[dict]:
    items = read_jsonl(path)
    if all("text" in item for item in items):
        return items
    texts = {row["id"]: row["text"] for row in read_jsonl(LOCAL_TEXTS)}
    found = []
    for item in items:
        text = item.get("text", texts.get(item["id"]))
        if text is not None and hashlib.sha256(text.encode()).hexdigest() == item.get("text_sha256", hashlib.sha256(text.encode()).hexdigest()):
            found.append({**item, "text": text})
    if len(found) < len(items):
        print(f"{path.name}: {len(items) - len(found)} of {len(items)} items have no local text ({LOCAL_TEXTS}); skipped", file=sys.stderr)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=Path, default=ROOT / "rules")
    parser.add_argument("--data", type=Path, action="append", help="a labelled set (repeatable); default: composed and real")
    parser.add_argument("--show-errors", action="store_true", help="print the items the splitter gets wrong")
    args = parser.parse_args(argv)
    rules = load_split_rules(args.rules)
    print(f"{'set':10} {'split':5} {'system':12} {'items':>5} {'comb.':>5} {'prec.':>6} {'recall':>6} {'count':>6} {'points':>6} {'FP':>3} {'FN':>3}")
    sets = {p.stem: (p,) for p in args.data} if args.data else DEFAULT_SETS
    for name_of_set, paths in sets.items():
        items = [item for path in paths for item in load_items(path)]
        for split in ("dev", "test"):
            part = [i for i in items if i["split"] == split]
            for name, r in (("never-split", None), ("splitter", rules)):
                m = evaluate(part, r)
                print(
                    f"{name_of_set:10} {split:5} {name:12} {m['items']:5d} {m['combined']:5d} {m['precision']:6.3f} {m['recall']:6.3f}"
                    f" {m['count_accuracy']:6.3f} {m['split_point_accuracy']:6.3f} {m['false_splits']:3d} {m['missed']:3d}"
                )
            if args.show_errors:
                for item in part:
                    result = split_issues(new_text(item["text"], None), rules)
                    if len(result.issues) != item["n_issues"]:
                        fired = sorted({f["id"] for f in result.signals if f.get("split")})
                        print(f"  {item['id']} {item['kind']}: gold {item['n_issues']} got {len(result.issues)} {item['source']} {fired}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
