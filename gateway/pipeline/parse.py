"""Pipeline stage 1: raw bytes to a :class:`ParsedMessage`.

mail-parser does the work; where it raises (nested multiparts without close boundaries,
unknown charsets) the stdlib ``email`` package, with its tolerant compat32 policy, is the
fallback. Broken charsets decode with replacement characters rather than fail. What
neither can read raises :class:`~gateway.errors.Quarantine` with the reason.
"""
from __future__ import annotations

import email
import email.policy
import email.utils
import logging
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message

import mailparser

from gateway.errors import Quarantine

log = logging.getLogger("gateway.pipeline.parse")

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MSGID_RE = re.compile(r"<[^<>\s]+>")


@dataclass
class Attachment:
    filename: str | None
    content_type: str
    size: int


@dataclass
class ParsedMessage:
    headers: list[tuple[str, str]]
    from_name: str
    from_addr: str
    to: list[str]
    subject: str
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    text_plain: str
    text_html: str
    attachments: list[Attachment] = field(default_factory=list)
    parser: str = "mail-parser"
    defects: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive), decoded."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        lname = name.lower()
        return [value for key, value in self.headers if key.lower() == lname]


# Labels that mail clients use for a larger charset than they name.
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "shift_jis": "cp932", "iso-8859-1": "cp1252", "us-ascii": "utf-8"}


def _decode(value: str) -> str:
    """RFC 2047 decoding that never raises: mislabelled or unknown charsets decode leniently."""
    try:
        return str(make_header(decode_header(value)))
    except (LookupError, ValueError, UnicodeError, AssertionError, TypeError):
        pass
    try:
        parts = decode_header(value)
    except (ValueError, AssertionError, TypeError):
        return value
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        name = (charset or "utf-8").lower()
        try:
            out.append(chunk.decode(_SUPERSETS.get(name, name), errors="replace"))
        except LookupError:
            out.append(chunk.decode("utf-8", errors="replace"))
    return "".join(out)


def _clean(value: str) -> str:
    # Raw 8-bit header bytes arrive as surrogate escapes: read them as UTF-8 where they
    # are, else as replacement characters, so nothing downstream meets a lone surrogate.
    value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    # Header values must be one line: a CR/LF inside is an injection attempt or damage.
    return re.sub(r"[\r\n\x00]+", " ", value).strip()


def message_ids(value: str | None) -> list[str]:
    return _MSGID_RE.findall(value or "")


def _address(raw_from: str) -> tuple[str, str]:
    pairs = email.utils.getaddresses([raw_from])
    for name, addr in pairs:
        if "@" in addr:
            return _clean(_decode(name)), addr.strip().lower()
    return "", ""


def _stdlib_bodies(msg: Message) -> tuple[str, str, list[Attachment], list[str]]:
    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    defects = [type(d).__name__ for d in msg.defects]
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        filename = part.get_filename()
        try:
            payload = part.get_payload(decode=True) or b""
        except Exception as exc:  # a damaged transfer encoding: keep going without this part
            defects.append(f"payload: {exc}")
            payload = b""
        disposition = (part.get("Content-Disposition") or "").lower()
        if filename or "attachment" in disposition or not ctype.startswith("text/"):
            attachments.append(Attachment(_decode(filename) if filename else None, ctype, len(payload)))
            continue
        charset = part.get_content_charset() or "us-ascii"
        try:
            text = payload.decode(charset, errors="replace")
        except LookupError:
            defects.append(f"unknown charset {charset!r}")
            text = payload.decode("utf-8", errors="replace")
        (html if ctype == "text/html" else plain).append(text)
    return "\n".join(plain), "\n".join(html), attachments, defects


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse ``raw``; raise Quarantine when it is not an RFC 5322 message at all."""
    if raw.startswith(_OLE_MAGIC):
        raise Quarantine("not an RFC 5322 message: an Outlook .msg (OLE) file")
    head = raw[:4096].split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    if not re.search(rb"^[!-9;-~]+:", head, re.M):
        raise Quarantine("not an RFC 5322 message: no header lines")
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    headers = [(str(k), _clean(_decode(str(v)))) for k, v in msg.items()]
    parser = "mail-parser"
    try:
        mp = mailparser.parse_from_bytes(raw)
        plain = "\n".join(mp.text_plain)
        html = "\n".join(mp.text_html)
        attachments = [
            Attachment(a.get("filename"), a.get("mail_content_type") or "application/octet-stream", len(a.get("payload") or ""))
            for a in mp.attachments
        ]
        defects = [str(d) for d in (mp.defects_categories or [])]
    except Exception as exc:  # mail-parser raises many types on damaged structure
        log.info("mail-parser failed (%s: %s); using the stdlib parser", type(exc).__name__, exc)
        parser = "email"
        plain, html, attachments, defects = _stdlib_bodies(msg)
    values = dict((k.lower(), v) for k, v in reversed(headers))
    from_name, from_addr = _address(values.get("from", ""))
    to = [addr.lower() for _, addr in email.utils.getaddresses([values.get("to", ""), values.get("cc", "")]) if "@" in addr]
    mid = message_ids(values.get("message-id"))
    return ParsedMessage(
        headers=headers,
        from_name=from_name,
        from_addr=from_addr,
        to=to,
        subject=values.get("subject", ""),
        message_id=mid[0] if mid else None,
        in_reply_to=message_ids(values.get("in-reply-to")),
        references=message_ids(values.get("references")),
        text_plain=plain,
        text_html=html,
        attachments=attachments,
        parser=parser,
        defects=defects,
    )
