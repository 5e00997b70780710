"""Sender trust: is the From address of a message authenticated? (POLICY.md P8)

Read by the technician stage before a command runs or a reply is relayed. Only an
``Authentication-Results`` header (RFC 8601) written by the site's own MTA counts: its
authserv-id must be one of ``[trust] authserv_ids`` in the configuration, and only the
topmost such header is read, because an MTA prepends its header above everything the
sender wrote (RFC 8601 section 5: headers below it, or with a foreign authserv-id, may be
forgeries). Authenticated means DMARC ``pass`` for the From domain, or DKIM ``pass`` with
a signing domain aligned with the From domain (RFC 7489 section 3.1.1, relaxed alignment).

With no authserv_ids configured nothing is authenticated. This module is pure: it reads
header strings and returns a verdict.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

_TOKEN_RE = re.compile(r'([A-Za-z0-9_.-]+(?:/[0-9]+)?)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;]+)')


@dataclass(frozen=True)
class MethodResult:
    """One ``method=result`` clause with its properties (``header.d``, ``header.from``...)."""

    method: str
    result: str
    props: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    authenticated: bool
    configured: bool  # False when no authserv_id is configured: nothing can be authenticated
    reason: str


def strip_comments(value: str) -> str:
    """Remove RFC 5322 comments (nested parentheses), leaving quoted strings alone."""
    out: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for ch in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
            continue
        if ch == "\\":
            escaped = True
            if depth == 0:
                out.append(ch)
            continue
        if quoted:
            if ch == '"':
                quoted = False
            out.append(ch)
            continue
        if ch == '"' and depth == 0:
            quoted = True
            out.append(ch)
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _split_semicolons(value: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse_authentication_results(value: str) -> tuple[str, list[MethodResult]]:
    """The authserv-id (lower case) and the method results of one header value."""
    parts = _split_semicolons(strip_comments(value))
    head = parts[0].split()
    authserv_id = head[0].lower() if head else ""
    results: list[MethodResult] = []
    for part in parts[1:]:
        pairs = _TOKEN_RE.findall(part)
        if not pairs:
            continue  # "none" or damage
        method, result = pairs[0]
        props = {k.lower(): v.strip('"').lower() for k, v in pairs[1:]}
        results.append(MethodResult(method.split("/")[0].lower(), result.strip('"').lower(), props))
    return authserv_id, results


def aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment, approximated: equal, or one is a subdomain of the other."""
    domain, from_domain = domain.lower().strip("."), from_domain.lower().strip(".")
    if not domain or not from_domain:
        return False
    return domain == from_domain or from_domain.endswith("." + domain) or domain.endswith("." + from_domain)


def verdict(ar_headers: Sequence[str], from_addr: str, authserv_ids: Sequence[str]) -> Verdict:
    """Judge ``from_addr`` by the Authentication-Results values ``ar_headers`` (top first)."""
    trusted = {a.lower() for a in authserv_ids}
    if not trusted:
        return Verdict(False, False, "no trusted authserv-id is configured ([trust] authserv_ids)")
    from_domain = from_addr.rpartition("@")[2].lower()
    for value in ar_headers:
        authserv_id, results = parse_authentication_results(value)
        if authserv_id not in trusted:
            continue  # a header from elsewhere, possibly written by the sender: ignored
        for r in results:
            if r.method == "dmarc" and r.result == "pass":
                header_from = r.props.get("header.from")
                if header_from is None or header_from == from_domain:
                    return Verdict(True, True, f"dmarc=pass ({authserv_id})")
        for r in results:
            if r.method == "dkim" and r.result == "pass":
                d = r.props.get("header.d") or r.props.get("header.i", "").rpartition("@")[2]
                if d and aligned(d, from_domain):
                    return Verdict(True, True, f"dkim=pass header.d={d} ({authserv_id})")
        return Verdict(False, True, f"no DMARC pass or aligned DKIM pass in the Authentication-Results of {authserv_id}")
    return Verdict(False, True, "no Authentication-Results from a trusted authserv-id")
