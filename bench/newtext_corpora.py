"""How clean is the new text on the reply corpora without expectations? (POLICY.md P2)

Run as ``python bench/newtext_corpora.py``. Over github-erp, zapier-erp and mail-parser-reply
bodies in ../shared/corpora it reports, for :func:`gateway.policy.newtext.new_text` and for
the baseline ``email_reply_parser.EmailReplyParser.parse_reply`` measured in the same run,
the share of results that are non-empty, free of quoted "> " lines, free of attribution
lines ("wrote:", "schrieb", "skrev", ...) and free of signature delimiters. Higher is better.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from email_reply_parser import EmailReplyParser  # noqa: E402

from gateway.policy.newtext import new_text  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"
ATTRIBUTION = re.compile(r"(wrote|schrieb|skrev|schreef|napisał\(a\)|a écrit|escribió|написал)\s*:?\s*$", re.I | re.M)
QUOTED = re.compile(r"^\s*>", re.M)
SIGNATURE = re.compile(r"^(?:-- ?|_{5,})$|^Sent from my", re.M)


def score(texts: list[str]) -> dict[str, float]:
    n = len(texts) or 1
    return {
        "non-empty": sum(bool(t.strip()) for t in texts) / n,
        "no quotes": sum(not QUOTED.search(t) for t in texts) / n,
        "no attribution": sum(not ATTRIBUTION.search(t) for t in texts) / n,
        "no signature": sum(not SIGNATURE.search(t) for t in texts) / n,
    }


def main() -> int:
    files = sorted(p for d in ("github-erp", "zapier-erp", "mail-parser-reply") for p in (CORPORA / d).rglob("*.txt"))
    if not files:
        print("corpora not found under", CORPORA)
        return 1
    bodies = [p.read_text(encoding="utf-8", errors="replace") for p in files]
    ours = [new_text(b, None) for b in bodies]
    base = [EmailReplyParser.parse_reply(b) or "" for b in bodies]
    print(f"{len(files)} reply bodies")
    print(f"{'measure':16} {'baseline':>9} {'new_text':>9}")
    sb, so = score(base), score(ours)
    for key in so:
        print(f"{key:16} {sb[key]:9.3f} {so[key]:9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
