"""The new text of a message: what the sender wrote this time (POLICY.md P2).

Sits at the start of the policy core's reading of a message: the pipeline hands over the
decoded text/plain and text/html bodies, and everything that reads meaning (issue
splitting, scope rules, release detection) reads only what :func:`new_text` returns.

Quoted replies ("> " lines, "On ... wrote:" lines in many languages, Outlook header
blocks, forwarded-message banners), signatures, sign-offs, mobile "Sent from" lines,
legal disclaimers and mailing-list footers are removed; HTML-only mail is converted to
text first. The quote headers of the maintained ``mail-parser-reply`` library are used
for every language it knows, and extended here where it falls short (Russian Outlook and
web-mail headers, forwarded banners, generic "<date>, <name> <addr>:" lines).

Pure: no I/O, no clock.
"""
from __future__ import annotations

import re
from functools import lru_cache

import html2text
from mailparser_reply.constants import MAIL_LANGUAGES
from mailparser_reply.parser import EmailMessage

__all__ = ["new_text", "html_to_text"]

# Headers that mail-parser-reply does not know. Each starts a quoted or forwarded part.
_EXTRA_HEADERS: tuple[str, ...] = (
    # Russian Outlook / Windows Mail header block ("От: ... Отправлено: ... Кому: ...").
    r"^[* ]*(?:От|Отправлено|Кому|Тема|Дата):[ *]*.*\n[* ]*(?:От|Отправлено|Кому|Тема|Дата|Копия):",
    # Forwarded banners of the common clients.
    r"^-{2,} ?(?:Forwarded message|Weitergeleitete Nachricht|Message transféré|Mensaje reenviado|"
    r"Doorgestuurd bericht|Messaggio inoltrato|Original Message|Ursprüngliche Nachricht|"
    r"Message d'origine|Mensaje original|Oorspronkelijk bericht|Originalmeddelande) ?-{2,}.*$",
    r"^Begin forwarded message:\s*$",
    # Outlook's separator line directly followed by a header block.
    r"^_{20,}\s*\n+[* ]*(?:From|Von|De|Van|Fra|Från|Od|От):",
    # "Thu, 26 Jun 2014 14:00:51 +0400 от Name <addr>:" and "26.06.2014, 14:41, "Name" <addr>:"
    # — a line that ends in an address and a colon, followed by a quoted line.
    r"^.{0,120}<[^<>\s]+@[^<>\s]+>:?\s*\n(?:\s*\n)*\s*>",
    # A dated line, possibly wrapped once, that ends in "wrote:" in a language the library lacks.
    r"^.*\d.*\n?.*(?:написал|написала|написал\(а\)|escreveu|ha scritto|napisał\(a\)|kirjoitti|yazdı|skrev|schreef|escribió|a écrit|schrieb|wrote)\s*:[ \t]*$(?=(?:[ \t]*\n)+[ \t]*>)",
    # "On <date>, Name <addr>" where "wrote:" is missing or broken by the client.
    r"^On .{4,100}(?:\d{4}|\d:\d\d).{0,100}(?:wrote|writes|schrieb|a écrit|escribió|skrev|schreef)\s*:?\s*$",
)

# Lines that end the new text: signature delimiter (RFC 3676 section 4.3 "-- "), lines of
# underscores or dashes used by list footers and Outlook, mobile and client taglines.
_SIGNATURE_START = re.compile(
    r"^(?:-- ?|--|_{2,})\s*$"
    r"|^(?:Sent from (?:my|Mail for|Yahoo Mail|Outlook)|Sent with |Get Outlook for|Gesendet von|"
    r"Von meinem .{1,30} gesendet|Envoyé de mon|Envoyé depuis|Enviado desde mi|Enviado do meu|"
    r"Verzonden vanaf|Verstuurd vanaf mijn|Inviato da|Skickat från|Sendt fra min|Wysłane z)\b.{0,60}$",
    re.IGNORECASE,
)

# A sign-off line, as the whole line. What follows it may only be a short name block.
_VALEDICTION = re.compile(
    r"^(?:(?:many |best |kind |warm |warmest |with )?(?:thanks|thank you|regards|cheers|wishes)"
    r"(?: (?:a lot|in advance|again|so much|for (?:your|any) help|and regards))?"
    r"|(?:best|kind|warm|warmest) regards|best|cheers|sincerely|yours(?: truly| sincerely)?|regards|br"
    r"|thx|ta|tia"
    r"|mit freundlichen gr(?:ü|ue)(?:ß|ss)en|(?:viele |beste |liebe )?gr(?:ü|ue)(?:ß|ss)e|mfg|lg|vg"
    r"|cordialement|bien cordialement|salutations|merci(?: d'avance)?|bonne journée"
    r"|saludos(?: cordiales)?|atentamente|gracias|un saludo"
    r"|cordiali saluti|saluti|grazie"
    r"|met vriendelijke groet(?:en)?|groet(?:en|jes)?|mvg"
    r"|med venlig hilsen|venlig hilsen|mvh|hilsen|med vänliga hälsningar|vänliga hälsningar|hälsningar|mvh"
    r"|pozdrawiam|z poważaniem|с уважением|спасибо|よろしくお願いします|よろしくお願いいたします)"
    r"\s*[,.!]*\s*(?:-.{0,40})?$",
    re.IGNORECASE,
)

# Paragraphs that open a legal disclaimer; from there to the end is not the sender's text.
_DISCLAIMER_START = re.compile(
    r"^\s*(?:\**(?:CONFIDENTIAL(?:ITY)?(?: NOTICE)?|DISCLAIMER|Disclaimer|Legal notice|IMPORTANT NOTICE)\b"
    r"|This (?:e-?mail|message|communication)(?: and any (?:files|attachments)[^.]{0,60})? "
    r"(?:is|are|may be|contains?) (?:strictly )?(?:confidential|privileged|intended)"
    r"|The information (?:contained )?in this (?:e-?mail|message|communication)"
    r"|Diese (?:E-?Mail|Nachricht) (?:enthält|kann) vertrauliche"
    r"|Ce (?:message|courriel) (?:et ses pièces jointes )?(?:est|sont) confidentiel)",
    re.IGNORECASE,
)

_SEPARATOR_LINE = re.compile(r"^\s*[-_=*~]{3,}\s*$")
_QUOTED_LINE = re.compile(r"^\s*>")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f"), None)


@lru_cache(maxsize=1)
def _header_regex() -> re.Pattern[str]:
    """mail-parser-reply's quote headers for every language it knows, plus ours."""
    library = EmailMessage(text="", languages=list(MAIL_LANGUAGES)).HEADER_REGEX.pattern
    return re.compile("|".join([library, *(f"(?:{p})" for p in _EXTRA_HEADERS)]), re.MULTILINE | re.IGNORECASE)


def html_to_text(html: str) -> str:
    """Render an HTML body as plain text; block quotes become "> " lines."""
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.ignore_links = True
    converter.ignore_tables = True
    converter.unicode_snob = True
    # html2text renders <hr> as "* * *", which we turn into a separator line it cannot confuse
    # with a bullet list.
    text = converter.handle(html)
    return re.sub(r"^\s*\* \* \*\s*$", "_" * 32, text, flags=re.MULTILINE)


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE).replace("\xa0", " ")
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _cut_at_quote_header(text: str) -> str:
    """Remove attributions of "> " blocks; cut at a header that opens an unmarked quote.

    An attribution ("On ... wrote:") followed by "> " lines only introduces them: the
    header goes, the quoted lines go later, and text the sender wrote below or between the
    quotes stays (bottom-posting, inline answers). A header whose quote is not marked
    (Outlook's "From: / Sent:" block, forwarded banners) ends the new text, unless nothing
    stands above it: then the message is a bare forward, and the forwarded part, up to the
    next header, is what the sender wants read.
    """
    regex = _header_regex()
    pos = 0
    while True:
        match = regex.search(text, pos)
        if match is None:
            return text
        after = text[match.end():].lstrip(" \t\n")
        if after.startswith(">"):
            text = text[: match.start()] + text[match.end():]
            pos = match.start()
            continue
        if _inside_fence(text, match.start()):
            pos = match.end()  # headers pasted as an example inside ``` ... ```
            continue
        if text[: match.start()].strip():
            return text[: match.start()]
        # A bare forward: skip the rest of its header block ("To:", "Subject:", ...).
        rest = re.sub(r"\A(?:[ \t]*\n)*(?:[* ]*[^\s:]{2,20}:[ *].*\n)*", "", text[match.end():])
        if not rest.strip():
            return ""
        text, pos = rest, 0


_FENCE = re.compile(r"^[ \t]*(?:```|~~~)", re.MULTILINE)


def _inside_fence(text: str, pos: int) -> bool:
    """Is ``pos`` inside a fenced block ("```" ... "```"), where a sender pastes headers,
    logs or config as they are? Nothing in there is a quote or a signature."""
    return len(_FENCE.findall(text, 0, pos)) % 2 == 1


def _drop_quoted_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if not _QUOTED_LINE.match(line)]


def _cut_signature(lines: list[str]) -> list[str]:
    fenced = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
        if fenced:
            continue
        if i > 0 and _SIGNATURE_START.match(line.strip()):
            return lines[:i]
        if i == 0 and _SIGNATURE_START.match(line.strip()) and not line.strip().startswith(("-", "_")):
            return []
    return lines


def _cut_disclaimer(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        if i > 0 and _DISCLAIMER_START.match(line) and (i == 0 or not lines[i - 1].strip()):
            return lines[:i]
    return lines


def _cut_valediction(lines: list[str]) -> list[str]:
    """Drop a closing "Thanks,\\nName" block: a sign-off line followed only by a short name block."""
    for i in range(len(lines) - 1, 0, -1):
        if not _VALEDICTION.match(lines[i].strip()):
            continue
        tail = [t.strip() for t in lines[i + 1:] if t.strip()]
        if len(tail) <= 6 and all(len(t) <= 60 and not t.endswith(("?", ":")) for t in tail):
            return lines[:i]
        return lines
    return lines


def new_text(plain: str | None, html: str | None) -> str:
    """What the sender wrote this time, as plain text with normalised line ends.

    ``plain`` is preferred; ``html`` is used when there is no usable plain part. Returns
    ``""`` when nothing is left (an empty or purely quoted message).
    """
    if plain is not None and plain.strip():
        text = plain
    elif html is not None and html.strip():
        text = html_to_text(html)
    else:
        return ""
    text = _normalise(text)
    text = _cut_at_quote_header(text)
    lines = _drop_quoted_lines(text.split("\n"))
    lines = _cut_signature(lines)
    lines = _cut_disclaimer(lines)
    lines = _cut_valediction(lines)
    while lines and (not lines[-1].strip() or _SEPARATOR_LINE.match(lines[-1])):
        lines.pop()
    result = "\n".join(lines)
    result = re.sub(r"\n{3,}", "\n\n", result)
    return result.strip()
