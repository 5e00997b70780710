"""``ticket-gateway split FILE.eml [--json]``: show how a message would be split (POLICY.md P2).

A face: it reads a raw RFC 822 file, takes its text/plain and text/html bodies, and runs the
policy core (:func:`gateway.policy.newtext.new_text`, then
:func:`gateway.policy.splitting.split_issues` with rules from ``ctx.rules_dir``). It changes
nothing and opens no database.

The bytes-to-bodies helper lives here until the pipeline provides a shared parser.
"""
from __future__ import annotations

import argparse
import email
import email.policy
import json
import sys
from pathlib import Path
from typing import Any

from gateway.cli.context import CliContext
from gateway.errors import UserError
from gateway.policy.newtext import new_text
from gateway.policy.splitting import split_issues
from gateway.rulebook.splitting import load_split_rules


def register(sub: Any) -> None:
    p = sub.add_parser("split", help="show the issues found in a message and the signals that fired")
    p.add_argument("file", metavar="FILE.eml", type=Path, help="a full RFC 822 message")
    p.add_argument("--json", action="store_true", help='print {"issues": [...], "signals": [...]}')
    p.set_defaults(handler=run)


def bodies_from_bytes(raw: bytes) -> tuple[str | None, str | None]:
    """The first text/plain and text/html bodies of a message, decoded.

    mail-parser first; where it raises (nested multiparts without close boundaries), the
    standard library, part by part, so that one broken part does not lose the others.
    """
    try:
        import mailparser

        mail = mailparser.parse_from_bytes(raw)
        plain = "\n".join(mail.text_plain) if mail.text_plain else None
        html = "\n".join(mail.text_html) if mail.text_html else None
        return plain, html
    except Exception:  # mail-parser raises many types on broken MIME; fall back below.
        pass
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    plain_parts: list[str] = []
    html_parts: list[str] = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html"):
            continue
        payload = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        try:
            text = payload.decode(charset, errors="replace")
        except LookupError:
            text = payload.decode("utf-8", errors="replace")
        (plain_parts if ctype == "text/plain" else html_parts).append(text)
    return ("\n".join(plain_parts) or None), ("\n".join(html_parts) or None)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        raw = args.file.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {args.file}: {exc.strerror}") from None
    rules = load_split_rules(ctx.rules_dir)
    plain, html = bodies_from_bytes(raw)
    result = split_issues(new_text(plain, html), rules)
    if args.json:
        json.dump({"issues": result.issues, "signals": result.signals}, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"{len(result.issues)} issue(s){' (combined)' if result.combined else ''}")
    for n, issue in enumerate(result.issues, start=1):
        print(f"\n--- issue {n} ---\n{issue}")
    print("\n--- signals ---")
    if not result.signals:
        print("(none)")
    for s in result.signals:
        mark = "split here" if s.get("split") else "no split"
        print(f"{s['id']:28} {s['weight']:+.2f} at {s['at']:<6} {mark}")
    return 0
