"""Issue splitting: does the new text state one problem or several? (POLICY.md P2)

Sits after :mod:`gateway.policy.newtext` in the policy core: the pipeline passes the new
text of a message and the rules loaded by :mod:`gateway.rulebook.splitting`; the result
says how many tickets the message asks for, where each problem begins, and which signals
decided it, so the reply and the database can answer "why was this split?".

Precision matters more than recall (a wrong split charges the customer twice), so a
boundary needs ``threshold`` points, both sides must state a problem in prose (not in a
log or config dump), and when in doubt the message is one issue.

Pure: no I/O, no clock.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Signal", "SplitRules", "SplitResult", "split_issues", "SIGNAL_KINDS"]

# What each kind of signal does; docs/splitting.md explains them.
SIGNAL_KINDS: tuple[str, ...] = (
    "boundary", "list", "list_lead", "step", "veto", "problem", "topic", "question", "preamble", "form",
    "one_issue", "section",
)


@dataclass(frozen=True)
class Signal:
    id: str
    kind: str
    pattern: re.Pattern[str] | None
    weight: float


@dataclass(frozen=True)
class SplitRules:
    signals: tuple[Signal, ...]
    threshold: float = 1.0
    min_issue_chars: int = 25
    max_issues: int = 8
    max_topic_overlap: float = 0.12
    # How many lines a ``form`` signal must match before the text counts as a filled-in
    # report form (an issue template): one report, split only at explicit markers.
    form_min_lines: int = 2
    # A part with fewer content words than this says too little to change the subject
    # ("Also, clicking Start does nothing."): no ``topic`` signal for it.
    min_topic_words: int = 0

    def of_kind(self, kind: str) -> tuple[Signal, ...]:
        return tuple(s for s in self.signals if s.kind == kind)


@dataclass
class SplitResult:
    issues: list[str]
    signals: list[dict[str, Any]] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)

    @property
    def combined(self) -> bool:
        return len(self.issues) > 1


# Lines that are detail, not prose: logs, config dumps, commands, traces, headers.
_DETAIL_LINE = re.compile(
    r"^(?:\s{4,}|\t)\S"
    r"|^\s*(?:\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d|\[\d|\[[A-Z]+\]|\d{2}/\d{2}/\d{4})"
    r"|^\s*[\w.-]+\[\d+\]:"
    r"|^\s*[\w./-]+\s*[=:]\s*\S+\s*$"
    r"|^\s*[\w.-]+\s*=\s*"
    r"|^\s*(?:[$%>] |#(?! (?:issue|problem|question|bug|topic|request)\b)[ \t]|\{|\}|</?\w|at [\w.$]+\(|Traceback|File \")"
    r"|^\s*(?:\w+(?:\.\w+)+|[\w-]+):\s*(?:warning|error|fatal|panic|info|debug|notice)\b"
    r"|^\s*(?:postfix|dovecot|amavis|zimbra|zmmailboxd|imap|lmtp|pop3|smtpd?|cleanup|qmgr|opendkim|spamd|roundcube|php)\S*[:\[]",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|greetings|hallo|bonjour|hola)\b[^\n]{0,40}$",
    re.IGNORECASE | re.MULTILINE,
)
_FENCE = re.compile(r"^\s*(?:```|~~~)")
# A backtick that opens or closes a code span; "It`s" (a backtick for an apostrophe) is not one.
_SPAN_TICK = re.compile(r"(?<!\w)`|`(?!\w)")
# Markdown in front of a heading or a bold label ("## Problem 2", "**Issue 1**:"): boundary
# signals are matched after it.
_MARKUP = re.compile(r"(?:#{1,6}[ \t]+)?(?:\*\*|__)?")
# An enumeration inside one line ("two questions: 1) how ... 2) why ..."): item markers
# after white space or a colon; see _inline_items.
_INLINE_ITEM = re.compile(r"(?:(?<=[\s:])|^)\(?([1-9]|[a-h])\)[ \t]+(?=\S)")
_SENTENCE_END = (".", "?", "!", "。", "？", "！")
# Not after an abbreviation that ends in a full stop ("P.S. Unrelated, ...", "e.g. Outlook").
_SENTENCE_START = re.compile(r"(?<=[.!?])(?<![Pp]\.[Ss]\.)(?<!e\.g\.)(?<!i\.e\.)[ \t]+(?=[A-Z(\"'])")
_WORD = re.compile(r"[a-zA-Z][a-zA-Z0-9_.-]{2,}")
_STOPWORDS = frozenset(
    """the and for are but not you all any can had her was one our out day get has him his how man new now old
    see two way who boy did its let put say she too use that with have this will your from they know want been
    good much some time very when come here just like long make many more only over such take than them well were
    what also into there their would could should about after again because before being both does doing each few
    further hello hi thanks thank please regards which while where why other same then these those through under
    until whom yours ours able issue issues problem problems question questions error errors work working works
    dear team support help someone anyone everyone know server mail email e-mail message messages user users
    since still already seems seem trying tried getting doesn't don't can't isn't won't i'm we're it's get got
    another second first unrelated thing things also, additionally p.s btw""".split()
)


@dataclass
class _Line:
    start: int
    text: str
    detail: bool
    fenced: bool = False  # a fence line or a line between fences ("```" ... "```")


def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    pos = 0
    in_fence = False
    in_span = False  # inside a `code span` that runs over several lines
    for raw in text.split("\n"):
        if _FENCE.match(raw):
            in_fence = not in_fence
            out.append(_Line(pos, raw, True, fenced=True))
        else:
            if not raw.strip():
                in_span = False  # a code span never runs past the end of its paragraph (a stray ` in a log line)
            detail = in_fence or in_span or raw.lstrip().startswith("`") or bool(_DETAIL_LINE.match(raw))
            if not in_fence and len(_SPAN_TICK.findall(raw)) % 2:
                in_span = not in_span
            cuts = [] if detail else _inline_items(raw)
            for a, b in zip([0, *cuts], [*cuts, len(raw)]):
                out.append(_Line(pos + a, raw[a:b], detail, fenced=in_fence))
        pos += len(raw) + 1
    return out


def _inline_items(line: str) -> list[int]:
    """Where the items of an enumeration written inside one line begin ("1) ... 2) ...").

    Only a run counted from its start ("1)" or "a)", then "2)"/"b)" ...) counts, so a stray
    "see 3)" or a smiley does not cut a line; the line's own leading item is not a cut.
    """
    run: list[int] = []
    expected = None
    for m in _INLINE_ITEM.finditer(line):
        label = m.group(1)
        if label in ("1", "a"):
            run, expected = [m.start()], chr(ord(label) + 1)
        elif expected is not None and label == expected:
            run.append(m.start())
            expected = chr(ord(label) + 1)
    if len(run) < 2:
        return []
    return [p for p in run if line[:p].strip()]


def _prose(text: str, lines: list[_Line], start: int, end: int) -> str:
    """The prose lines of ``text[start:end]``, for problem and topic signals."""
    parts = []
    first = max(0, bisect.bisect_right(lines, start, key=lambda line: line.start) - 1)
    for line in lines[first:]:
        if line.start >= end:
            break
        a, b = max(line.start, start), min(line.start + len(line.text), end)
        if a < b and not line.detail:
            parts.append(text[a:b])
    return "\n".join(parts)


_WIDE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _length(text: str) -> int:
    """Length in Latin characters: an ideograph or a Hangul syllable carries about a word, so
    it counts as three ("添加IMAP登录功能" is as long as "add IMAP login")."""
    return len(text) + 2 * len(_WIDE.findall(text))


# Addresses and pasted images name no subject: "![error](https://...)" is not a word of the
# text; a link's own text ("[Radicale](https://...)") is.
_LINK = re.compile(r"!\[[^\]\n]*\]\([^)\s]*\)|(?<=\])\([^)\s]*\)|<?https?://\S+")


def _words(prose: str) -> set[str]:
    return {_stem(w.lower().strip(".-")) for w in _WORD.findall(_LINK.sub(" ", prose))} - _STOPWORDS


def _stem(word: str) -> str:
    """A crude stem, so that "domain" and "domains", "forward" and "forwarding" meet."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _overlap_of(wa: set[str], wb: set[str]) -> float:
    """Word overlap (0..1) of two parts, by their word sets (1.0 when either is empty)."""
    if not wa or not wb:
        return 1.0
    return len(wa & wb) / min(len(wa), len(wb))


@dataclass
class _Candidate:
    pos: int
    score: float = 0.0
    fired: list[dict[str, Any]] = field(default_factory=list)
    paragraph_start: bool = False
    counted: bool = False  # an item of a list whose lead counts its items ("these three things:")

    def add(self, signal: Signal, where: int, weight: float | None = None) -> None:
        w = signal.weight if weight is None else weight
        self.note({"id": signal.id, "kind": signal.kind, "weight": w, "at": where})

    def note(self, fired: dict[str, Any]) -> None:
        """Count a signal that fired elsewhere (a step in the lead, a one-issue phrase)."""
        self.score += fired["weight"]
        self.fired.append(fired)


def _is_item(line: str, rules: SplitRules) -> bool:
    """Does ``line`` open an item of an enumeration (a ``list`` signal matches)?"""
    return any(s.pattern is not None and s.pattern.match(line) for s in rules.of_kind("list"))


def _last_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+", text)[-1]


def _list_groups(text: str, lines: list[_Line], rules: SplitRules) -> list[tuple[int, list[int]]]:
    """Enumerations: (index of the line before the first item, [line indexes of items])."""
    items = [
        i
        for i, line in enumerate(lines)
        if not line.detail and _is_item(line.text, rules) and not _is_result_arrow(lines, i)
    ]
    groups: list[tuple[int, list[int]]] = []
    for i in items:
        if groups and _continues(lines, groups[-1][1][-1], i):
            groups[-1][1].append(i)
        else:
            groups.append((i - 1, [i]))
    # In a list numbered "1." "2." with "-" points under each number, the points belong to
    # their numbered item: the items are those marked like the first one.
    marked = [(before, [i for i in group if _marker(lines[i].text) == _marker(lines[group[0]].text)]) for before, group in groups]
    return [g for g in marked if len(g[1]) >= 2]


def _is_result_arrow(lines: list[_Line], i: int) -> bool:
    """``-> same error`` right under a command or an attempt is its result, not an item
    (under a lead that ends in a colon, or another arrow, it is an item)."""
    if not lines[i].text.lstrip().startswith("->") or i == 0:
        return False
    above = lines[i - 1].text.strip()
    return bool(above) and not above.startswith("->") and not above.endswith(":")


def _marker(line: str) -> str:
    """The kind of an item's marker: ``digit``, ``letter`` or ``bullet``."""
    head = line.lstrip(" \t*_(")
    if head[:1].isdigit():
        return "digit"
    if head[:1].isalpha() and head[1:2] in (".", ")"):
        return "letter"
    return "bullet"


_NUMBER = re.compile(r"[ \t]*(?:\*\*|__)?\(?(\d{1,2})")


def _number(line: str) -> int | None:
    """The number of a numbered item ("2." -> 2), or None."""
    m = _NUMBER.match(line)
    return int(m.group(1)) if m else None


def _continues(lines: list[_Line], last_item: int, item: int) -> bool:
    """Is ``item`` the next item of the list whose last item is ``last_item``?

    Not when two blank lines stand between them, nor when a line ending in a colon does (the
    lead of another list: "On the server side:"), unless the numbers run on ("1." ... "2."):
    then what stands between is the first item's own detail.
    """
    number = _number(lines[last_item].text)
    if number is not None and _number(lines[item].text) == number + 1:
        return item - last_item <= 40
    blank_run = 0
    for line in lines[last_item + 1: item]:
        if not line.text.strip():
            blank_run += 1
            if blank_run > 1:
                return False
            continue
        if not line.detail and line.text.rstrip().endswith(":"):
            return False
        blank_run = 0
    return item - last_item <= 40


def _item_end(lines: list[_Line], items: list[int], k: int, text_len: int) -> int:
    if k + 1 < len(items):
        return lines[items[k + 1]].start
    # The last item runs to the next blank line followed by a non-indented paragraph.
    for j in range(items[k] + 1, len(lines)):
        if not lines[j].text.strip():
            return lines[j].start
    return text_len


def _lead_in(text: str, lines: list[_Line], before: int) -> str:
    """The prose line(s) just above a list: its lead-in sentence."""
    j = before
    while j >= 0 and not lines[j].text.strip():
        j -= 1
    collected: list[str] = []
    while j >= 0 and lines[j].text.strip() and len(collected) < 3:
        collected.insert(0, lines[j].text)
        j -= 1
    return _last_sentence(" ".join(collected))


def _has_problem(prose: str, rules: SplitRules) -> dict[str, Any] | None:
    for s in rules.of_kind("problem"):
        if s.pattern is not None:
            m = s.pattern.search(prose)
            if m:
                return {"id": s.id, "kind": s.kind, "weight": s.weight, "match": m.group(0)}
    return None


def _item_is_problem(prose: str, rules: SplitRules, announced: bool = False) -> bool:
    """Does a list item state a problem of its own?

    It does when a ``problem`` signal fires in it, or when it is a full sentence long enough to
    be one (a step or a symptom is short and has no subject). Under a lead that announces
    several problems, a plain request of some length will do ("1. A public sign-up page that
    the admin approves").
    """
    body = prose.strip()
    if _has_problem(body, rules):
        return True
    if announced and _length(body) >= 2 * rules.min_issue_chars:
        return True
    return _length(body) >= 3 * rules.min_issue_chars and body.endswith(_SENTENCE_END)


# A part that asks for something: a question, or a request.
_ASKS = re.compile(r"(?i)[?？]|\b(?:please|pls|can you|could you|would you|i'?d like|i would like|i'?d love|is it possible|would be (?:nice|great|good|helpful|useful))\b")

# Words that tie a statement to what came before: "no bounce either", "it shows this instead".
_GOES_ON = re.compile(
    r"(?i)\b(?:either|instead(?! of)|still|even (?:after|when|if|though)|as well|again|also happens"
    r"|the same(?! (?:update|upgrade|release|version|day|time|week|server|machine|host|installation|install|setup)\b))\b"
)

_AFTER_MARKER = re.compile(r"[\s,.:;!-]*")
# A marker and what follows it in one sentence: no line break, no "?" or "!" between them.
_SAME_SENTENCE = re.compile(r"[^\n?!？！]*")

_UNWRAPPED = 100  # characters: a longer line was not wrapped by a mail program


def _asks_or_stands_alone(text: str, lines: list[_Line], start: int) -> bool:
    """Does the paragraph at ``start`` ask for something, or say something without tying it
    to what came before?"""
    end = text.find("\n\n", start)
    paragraph = _prose(text, lines, start, len(text) if end < 0 else end)
    return bool(_ASKS.search(paragraph)) or not _GOES_ON.search(paragraph)


def _ends_unwrapped_paragraph(line: str) -> bool:
    stripped = line.rstrip()
    return len(stripped) > _UNWRAPPED and stripped.endswith(_SENTENCE_END)


def _candidates(text: str, lines: list[_Line], rules: SplitRules, form: bool) -> dict[int, _Candidate]:
    cands: dict[int, _Candidate] = {}
    # Paragraph and sentence starts in prose. A line break after a long line that ends a
    # sentence starts a paragraph too: nobody wraps at that width, so the writer put it there.
    previous_blank = True
    previous: _Line | None = None
    for line in lines:
        stripped = line.text.strip()
        if not stripped:
            previous_blank = True
            continue
        if previous is not None and not previous.detail and _ends_unwrapped_paragraph(previous.text):
            previous_blank = True
        previous = line
        if not line.detail:
            lead = line.start + len(line.text) - len(line.text.lstrip())
            starts = [lead] + [line.start + m.end() for m in _SENTENCE_START.finditer(line.text)]
            for k, pos in enumerate(starts):
                c = _Candidate(pos, paragraph_start=(k == 0 and previous_blank))
                at = _MARKUP.match(text, pos).end()  # type: ignore[union-attr]
                # What follows a weak marker is read again, for markers ("P.S. Unrelated, ...")
                # and for vetoes ("PS: the logs show nothing").
                heads = [at]
                for head in heads:
                    # Markers only in the same sentence: "And how do I fix it?\nP.S. ..." is two.
                    if head != at and (not _SAME_SENTENCE.fullmatch(text, at, head)):
                        continue
                    for s in rules.of_kind("boundary"):
                        m = s.pattern.match(text, head) if s.pattern is not None else None
                        if m and not any(f["id"] == s.id for f in c.fired):
                            c.add(s, pos)
                            if s.weight < rules.threshold:
                                heads.append(_AFTER_MARKER.match(text, m.end()).end())  # type: ignore[union-attr]
                for s in rules.of_kind("veto"):
                    if s.pattern is not None and any(s.pattern.match(text, h) for h in heads):
                        c.add(s, pos, -s.weight)
                if c.fired or c.paragraph_start:
                    cands[pos] = c
        previous_blank = False
    # The writer calls the whole message one problem ("How can I resolve this issue?"): a
    # list, or paragraphs announced by a lead, are then parts of it.
    whole = _prose(text, lines, 0, len(text))
    one_issue = [
        {"id": s.id, "kind": s.kind, "weight": -s.weight, "match": m.group(0)}
        for s in rules.of_kind("one_issue")
        if s.pattern is not None and (m := s.pattern.search(whole))
    ]
    # Enumerations of separate problems.
    for before, items in _list_groups(text, lines, rules):
        lead = _lead_in(text, lines, before)
        first = lines[items[0]].start
        steps: list[dict[str, Any]] = []
        for s in rules.of_kind("step"):
            if s.pattern is None:
                continue
            m = s.pattern.search(lead)
            if m:
                steps.append({"id": s.id, "kind": s.kind, "weight": -s.weight, "at": first, "match": m.group(0)})
            for i in items:
                if s.pattern.match(lines[i].text) and s.id.endswith("item"):
                    steps.append({"id": s.id, "kind": s.kind, "weight": -s.weight, "at": lines[i].start})
        # Every item must be a problem of its own (see _item_is_problem). Under a lead that
        # announces several problems ("Here are my issues:"), most items will do.
        lead_bonus = [s for s in rules.of_kind("list_lead") if s.pattern is not None and s.pattern.search(lead)]
        problems = [
            _item_is_problem(_prose(text, lines, lines[i].start, _item_end(lines, items, k, len(text))), rules, bool(lead_bonus))
            for k, i in enumerate(items)
        ]
        # A lead that counts the items ("these three things:" over three items) vouches for each.
        counted = any(s.pattern is not None and (m := s.pattern.search(lead)) and _count_in(m.group(0)) == len(items) for s in lead_bonus)
        all_problems = all(problems) or counted or (bool(lead_bonus) and 2 * sum(problems) >= len(problems))
        # Unannounced, a list under a lead that states a problem itself ("Sync for two of
        # the mailboxes does not work:") elaborates that problem; so does a list in a form.
        if not lead_bonus and (form or _has_problem(lead, rules)):
            all_problems = False
        for k, i in enumerate(items):
            line = lines[i]
            pos = line.start + len(line.text) - len(line.text.lstrip())
            c = cands.setdefault(pos, _Candidate(pos, paragraph_start=True))
            c.counted = counted
            for s in rules.of_kind("list"):
                if s.pattern is not None and s.pattern.match(line.text):
                    c.add(s, pos, s.weight if all_problems else 0.0)
                    break
            for s in lead_bonus:
                c.add(s, pos)
            for step in [*steps, *({**o, "at": pos} for o in one_issue)]:
                c.note(step)
    _announced_paragraphs(text, lines, rules, cands, one_issue)
    _kind_sections(lines, rules, cands)
    # Nor does a weak marker ("Also, ...", "Btw ...") that needs a change of subject to split:
    # only a marker strong enough on its own ("Another question:") outweighs the writer's word.
    for c in cands.values():
        marker = sum(f["weight"] for f in c.fired if f["kind"] == "boundary")
        if 0 < marker < rules.threshold and not any(f["kind"] in ("list", "list_lead") for f in c.fired):
            for o in one_issue:
                c.note({**o, "at": c.pos})
    return cands


_COUNT_WORDS = {"two": 2, "2": 2, "three": 3, "3": 3, "four": 4, "4": 4}


def _count_in(announcement: str) -> int | None:
    """How many problems an announcement ("two questions", "these 3 things") counts, if any."""
    return next((n for w, n in _COUNT_WORDS.items() if re.search(rf"\b{w}\b", announcement, re.I)), None)


def _announced_paragraphs(
    text: str, lines: list[_Line], rules: SplitRules, cands: dict[int, _Candidate], one_issue: list[dict[str, Any]]
) -> None:
    """Paragraphs after a lead that announces several problems ("Two questions:").

    A prose line ending in a colon whose last sentence matches a ``list_lead`` signal lends
    that signal's weight to the starts of the paragraphs that follow it (as many as it
    announces, or all of them for "a few"), less the weight of the ``step`` signals that fire
    in the lead ("a few problems since the upgrade:" may be symptoms of one failure).
    """
    leads = rules.of_kind("list_lead")
    for i, line in enumerate(lines):
        stripped = line.text.strip()
        if line.detail or not stripped.endswith(":"):
            continue
        lead = _last_sentence(stripped)
        fired = [(s, m) for s in leads if s.pattern is not None and (m := s.pattern.search(lead))]
        if not fired:
            continue
        steps = [s for s in rules.of_kind("step") if s.pattern is not None and s.pattern.search(lead)]
        if i + 1 < len(lines) and lines[i + 1].text.strip():
            continue  # a list or text right under the lead: handled as a list or one paragraph
        below = next((line for line in lines[i + 1:] if line.text.strip()), None)
        if below is not None and _is_item(below.text, rules):
            continue  # a list after a blank line: handled as a list
        count = _count_in(fired[0][1].group(0)) or rules.max_issues
        starts = sorted(p for p, c in cands.items() if p > line.start and c.paragraph_start)
        for pos in starts[:count]:
            for s, _ in fired:
                cands[pos].add(s, pos)
            for s in steps:
                cands[pos].add(s, pos, -s.weight)
            for o in one_issue:
                cands[pos].note({**o, "at": pos})


def _kind_sections(lines: list[_Line], rules: SplitRules, cands: dict[int, _Candidate]) -> None:
    """Headings that name the kind of each part ("**Bug:**", "__Feature request:__",
    "### Question"): when a text has headings of two or more kinds, each heading starts an
    issue. One kind alone is a template's heading or a label for the whole message.

    The kind is the name of the pattern's group that matched (``(?P<question>...)``), or the
    heading's own words when the pattern names no group.
    """
    for s in rules.of_kind("section"):
        if s.pattern is None:
            continue
        found = [(line, m) for line in lines if not line.fenced and (m := s.pattern.match(line.text))]
        kinds = {m.lastgroup or m.group(0).strip().lower() for _, m in found}
        if len(kinds) < 2:
            continue
        for line, _ in found:
            pos = line.start + len(line.text) - len(line.text.lstrip())
            cands.setdefault(pos, _Candidate(pos, paragraph_start=True)).add(s, pos)


def _is_form(text: str, lines: list[_Line], rules: SplitRules) -> bool:
    """Is the text a filled-in report form ("### Expected behavior", "**Version:**", ...)?"""
    hits = 0
    for line in lines:
        if any(s.pattern is not None and s.pattern.match(line.text) for s in rules.of_kind("form")):
            hits += 1
            if hits >= rules.form_min_lines:
                return True
    return False


def _segments(bounds: list[int], length: int) -> list[tuple[int, int]]:
    edges = [0, *bounds, length]
    return [(edges[k], edges[k + 1]) for k in range(len(edges) - 1)]


def split_issues(text: str, rules: SplitRules) -> SplitResult:
    """Split the new text of a message into the problems it states (one when in doubt)."""
    text = text.strip("\n")
    if not text.strip():
        return SplitResult(issues=[text.strip()], signals=[], starts=[0])
    lines = _lines(text)
    form = _is_form(text, lines, rules)
    cands = _candidates(text, lines, rules, form)
    # In a filled-in report form, inside a paragraph, and at a paragraph that continues the
    # one before (it starts in lower case: "f.ex. just change ..."), only explicit markers split.
    topic = () if form else rules.of_kind("topic")
    question = () if form else rules.of_kind("question")
    topic_weight = sum(s.weight for s in topic) + sum(s.weight for s in question)
    # Boundaries that could reach the threshold with the neighbourhood signals.
    potential = sorted(p for p, c in cands.items() if c.score + topic_weight >= rules.threshold and p > 0)
    accepted: list[int] = []
    segs = _segments(potential, len(text))
    seen: set[str] = set()  # the words of everything before the candidate
    for k, p in enumerate(potential):
        c = cands[p]
        before = _prose(text, lines, *segs[k])
        seen |= _words(before)
        # Only a paragraph can start a new subject: a sentence inside a paragraph goes on
        # with it, and so does a paragraph that starts in lower case.
        # (A marker at the start counts whatever the case: "ps . is there ...", "btw ...".)
        marked = any(f["kind"] == "boundary" for f in c.fired)
        continues = (text[p:p + 1].islower() and not marked) or not c.paragraph_start
        if c.score < rules.threshold and not continues:
            after = _prose(text, lines, *segs[k + 1])
            # A new subject is new against everything written before it, not only against
            # the paragraph next to it.
            after_words = _words(after)
            overlap = _overlap_of(seen, after_words) if len(after_words) >= rules.min_topic_words else 1.0
            # After a weak marker ("Also, ...", "PS: ...") a new subject is a new issue when that
            # paragraph asks for something, or states something without tying it to what came
            # before; "PS: no bounce either", "now it shows this instead" add a symptom.
            asks = not marked or _asks_or_stands_alone(text, lines, p)
            for s in topic:
                if c.score < rules.threshold and overlap <= rules.max_topic_overlap and asks:
                    c.add(s, p)
            for s in question:
                if (
                    c.score < rules.threshold
                    and s.pattern is not None
                    and s.pattern.search(before)
                    and s.pattern.search(after)
                    and overlap <= rules.max_topic_overlap * 2
                ):
                    c.add(s, p)
        if c.score >= rules.threshold:
            accepted.append(p)
    # Every part must state a problem in prose and be long enough; otherwise it joins the
    # part before it, which is then checked again as it now reads. A first part without a
    # problem is the shared preamble.
    def states_a_problem(start: int, end: int) -> bool:
        body = _prose(text, lines, start, end)
        fired = cands[start].fired
        is_item = any(f["kind"] == "list" and f["weight"] > 0 for f in fired)
        announced = any(f["kind"] == "list_lead" for f in fired)
        # A heading that names the kind of the part ("Feature request:") says what it is.
        headed = any(f["kind"] == "section" for f in fired)
        states = (cands[start].counted or _item_is_problem(body, rules, announced)) if is_item else headed or _has_problem(body, rules)
        return bool(states) and _length(text[start:end].strip()) >= rules.min_issue_chars

    kept: list[int] = []
    for p, end in zip(accepted, [*accepted[1:], len(text)]):
        kept.append(p)
        while kept and not states_a_problem(kept[-1], end):
            kept.pop()
    accepted = kept
    segs = _segments(accepted, len(text))
    preamble = ""
    issue_segs = segs
    first_prose = _prose(text, lines, *segs[0])
    opens_list = bool(accepted) and any(f["kind"] == "list" for f in cands[accepted[0]].fired)
    # A list that opens the text (no lead-in, no greeting): its first item is an issue, not
    # a preamble ("1. Outlook connector crashes ...\n2. How do I move a mailbox ...").
    first_is_item = any(
        not text[:p].strip() and any(f["kind"] == "list" and f["weight"] > 0 for f in c.fired)
        for p, c in cands.items()
    )
    # The first part is a shared preamble when it leads into a list, or when, greeting and
    # generic pleas aside, it is too short to be a problem ("Hi team," / "Dear support, a question:").
    substance = _GREETING.sub("", first_prose)
    # A generic plea ("can you give me a little help here?") asks for help with what follows;
    # like a greeting it states no problem of its own.
    for plea in rules.of_kind("preamble"):
        if plea.pattern is not None:
            substance = plea.pattern.sub("", substance)
    substance = substance.strip()
    if len(segs) > 1 and not first_is_item and (opens_list or _length(substance) < rules.min_issue_chars):
        preamble = text[segs[0][0]: segs[0][1]].strip()
        issue_segs = segs[1:]
    if len(issue_segs) > rules.max_issues:
        issue_segs = [*issue_segs[: rules.max_issues - 1], (issue_segs[rules.max_issues - 1][0], len(text))]
    if len(issue_segs) < 2:
        return SplitResult(issues=[text.strip()], signals=_dedupe(cands, []), starts=[0])
    issues = []
    for a, b in issue_segs:
        body = text[a:b].strip()
        issues.append(f"{preamble}\n\n{body}" if preamble else body)
    starts = [a for a, _ in issue_segs]
    return SplitResult(issues=issues, signals=_dedupe(cands, accepted), starts=starts)


def _dedupe(cands: dict[int, _Candidate], accepted: list[int]) -> list[dict[str, Any]]:
    """The signals that fired anywhere, with ``split`` saying whether their place became a boundary."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    for p in sorted(cands):
        for f in cands[p].fired:
            if (f["weight"] == 0.0 and f["kind"] == "list") or (f["id"], f["at"]) in seen:
                continue
            seen.add((f["id"], f["at"]))
            entry = dict(f)
            entry["split"] = p in accepted
            out.append(entry)
    return out
