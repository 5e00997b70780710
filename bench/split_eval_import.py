"""Import fetched real support requests into the real evaluation set (POLICY.md P2).

Run as ``python bench/split_eval_import.py [--local DIR]``. The real set's texts are
third-party writing and stay out of the repository (bench/split_accuracy.py reads them from
the git-ignored ``bench/data/local/``). Whoever fetches texts writes, under ``DIR``:

- ``raw/<id>.txt``: the request's text (the description of an issue, the question of a
  forum thread), exactly as fetched;
- ``<anything>_meta.jsonl``: one line per item, ``{"id", "source", "kind", "n_issues",
  "heads", "note"}``, where ``heads`` holds, for each issue, a short exact substring of the
  text where that issue begins.

This script checks every item (text present, heads found once and in order, kind and count
agree), then writes ``DIR/split_eval_real_texts.jsonl`` ({"id", "text"}) and the tracked
labels: rows whose id is already in ``bench/data/split_eval_real*.jsonl`` get the new hash,
starts and labels; new ids go to ``bench/data/split_eval_real3.jsonl`` with a ``dev`` or
``test`` split drawn from a hash of the source, so the split is stable across re-imports.
No text and no head is written to a tracked file.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from split_accuracy import DATA, DEFAULT_SETS, LOCAL_TEXTS, read_jsonl

TRACKED = DEFAULT_SETS["real"]
TEST_SHARE = 0.4


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _split_of(source: str) -> str:
    return "test" if int(hashlib.sha256(source.encode()).hexdigest()[:8], 16) % 100 < TEST_SHARE * 100 else "dev"


def load_fetched(local: Path) -> tuple[dict[str, dict], list[str]]:
    """Every fetched item by id, with its text and starts; and the problems found."""
    items: dict[str, dict] = {}
    problems: list[str] = []
    for meta in sorted(local.glob("*_meta.jsonl")):
        for row in read_jsonl(meta):
            where = f"{meta.name} {row.get('id')}"
            raw = local / "raw" / f"{row['id']}.txt"
            if not raw.exists():
                problems.append(f"{where}: no text at {raw}")
                continue
            text = raw.read_text(encoding="utf-8").strip()
            heads = row["heads"]
            starts = [text.find(h) for h in heads]
            if any(text.count(h) != 1 for h in heads) or starts != sorted(starts):
                problems.append(f"{where}: every head must occur once, in order")
                continue
            if len(heads) != row["n_issues"] or (row["kind"] == "combined") != (row["n_issues"] > 1):
                problems.append(f"{where}: kind, n_issues and heads disagree")
                continue
            if row["n_issues"] == 1:
                starts = [0]
            if row["id"] in items:
                problems.append(f"{where}: duplicate id")
                continue
            items[row["id"]] = {**row, "text": text, "starts": starts}
    return items, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--local", type=Path, default=DATA / "local")
    args = parser.parse_args(argv)
    fetched, problems = load_fetched(args.local)
    for p in problems:
        print(p, file=sys.stderr)
    tracked = {path: read_jsonl(path) for path in TRACKED}
    known_ids = {r["id"] for rows in tracked.values() for r in rows}
    sources = {r["source"]: r["id"] for rows in tracked.values() for r in rows}
    updated = added = 0
    for path, rows in tracked.items():
        for r in rows:
            item = fetched.get(r["id"])
            if item is None:
                continue
            r.update(
                kind=item["kind"], n_issues=item["n_issues"], starts=item["starts"], note=item["note"],
                text_sha256=hashlib.sha256(item["text"].encode()).hexdigest(),
            )
            updated += 1
    new_rows = tracked[TRACKED[-1]]  # new ids go to the last file of the set
    for item_id, item in sorted(fetched.items()):
        if item_id in known_ids:
            continue
        if item["source"] in sources:
            print(f"{item_id}: source already in the set as {sources[item['source']]}; skipped", file=sys.stderr)
            continue
        sources[item["source"]] = item_id
        new_rows.append({
            "id": item_id, "split": _split_of(item["source"]), "part": "real", "kind": item["kind"],
            "n_issues": item["n_issues"], "starts": item["starts"], "source": item["source"], "note": item["note"],
            "text_sha256": hashlib.sha256(item["text"].encode()).hexdigest(),
        })
        added += 1
    for path, rows in tracked.items():
        if rows:
            _write_jsonl(path, rows)
    _write_jsonl(args.local / LOCAL_TEXTS.name, [{"id": i, "text": it["text"]} for i, it in sorted(fetched.items())])
    print(f"{len(fetched)} fetched texts: {updated} existing rows updated, {added} new rows; {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
