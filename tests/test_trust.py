"""Sender trust from Authentication-Results (RFC 8601, POLICY.md P8): pure, no storage."""
from __future__ import annotations

import pytest

from gateway.pipeline.trust import aligned, parse_authentication_results, strip_comments, verdict

MX = ["mx.example.com"]


def test_parse_with_comments_version_and_quoted_values() -> None:
    ident, results = parse_authentication_results(
        'MX.Example.com 1; (checked) dkim=pass (2048-bit key) header.d=example.org header.s="sel;1"; '
        "spf=pass smtp.mailfrom=example.org; dmarc=pass (p=reject) header.from=example.org"
    )
    assert ident == "mx.example.com"
    assert [(r.method, r.result) for r in results] == [("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass")]
    assert results[0].props["header.d"] == "example.org" and results[0].props["header.s"] == "sel;1"


def test_none_and_garbage_do_not_raise() -> None:
    assert parse_authentication_results("mx.example.com; none") == ("mx.example.com", [])
    assert parse_authentication_results("") == ("", [])
    assert strip_comments("a (b (c) d) e") == "a  e"


@pytest.mark.parametrize("headers, from_addr, ok", [
    (["mx.example.com; dmarc=pass header.from=example.org"], "tech@example.org", True),
    (["mx.example.com; dkim=pass header.d=example.org"], "tech@example.org", True),
    (["mx.example.com; dkim=pass header.d=example.org"], "tech@mail.example.org", True),  # relaxed alignment
    (["mx.example.com; dkim=pass header.i=@example.org"], "tech@example.org", True),
    (["mx.example.com; dkim=pass header.d=evil.example"], "tech@example.org", False),  # not aligned
    (["mx.example.com; dmarc=pass header.from=evil.example"], "tech@example.org", False),
    (["mx.example.com; spf=pass smtp.mailfrom=example.org"], "tech@example.org", False),  # SPF alone is not enough
    (["mx.example.com; dkim=fail header.d=example.org; dmarc=fail"], "tech@example.org", False),
    (["mx.evil.example; dmarc=pass header.from=example.org"], "tech@example.org", False),  # foreign authserv-id
    # The topmost trusted header rules; a sender-added one below it is ignored.
    (["mx.example.com; dmarc=fail header.from=example.org", "mx.example.com; dmarc=pass header.from=example.org"], "tech@example.org", False),
    # A foreign one above the trusted one is skipped, the trusted one is read.
    (["mx.evil.example; dmarc=fail", "mx.example.com; dmarc=pass header.from=example.org"], "tech@example.org", True),
    ([], "tech@example.org", False),
])
def test_verdict(headers: list[str], from_addr: str, ok: bool) -> None:
    v = verdict(headers, from_addr, MX)
    assert v.authenticated is ok and v.configured, v.reason


def test_nothing_is_authenticated_without_configured_authserv_ids() -> None:
    v = verdict(["mx.example.com; dmarc=pass header.from=example.org"], "tech@example.org", [])
    assert not v.authenticated and not v.configured and "authserv_ids" in v.reason


def test_alignment() -> None:
    assert aligned("example.org", "example.org") and aligned("Example.org.", "a.example.org")
    assert not aligned("notexample.org", "example.org") and not aligned("", "example.org")
