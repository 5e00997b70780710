"""The scope rules engine: ordered rules from ``rules/scope.toml`` decide a new message (P5, P6).

Place in the flow: after the new text is separated from quotes (``policy.newtext``) and
before any points are spent, the pipeline calls :func:`evaluate` with the rulebook that
``gateway.rulebook.scope.load_rulebook`` read at start-up. The :class:`Decision` says
accept (open a ticket, kind incident or feature), decline (no ticket, no charge, category
named in the reply) or reject_not_current (no ticket, the reply lists current releases),
and records every rule that matched and the one that decided, so "why was this declined?"
has an answer in the database (:func:`explain`) and in the reply.

Editions (P6) are data too: :func:`channel_allowed` and :func:`channel_refusal` answer
whether an account's edition may open an incident on a channel.

Pure: no storage, network, templates or CLI; same input, same decision.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from gateway.policy.actions import ACTIONS, Category, FinalAction
from gateway.policy.predicates import Catalogue, Facts, MessageFacts, Predicate

__all__ = [
    "Decision",
    "Edition",
    "Editions",
    "MessageFacts",
    "Rule",
    "Rulebook",
    "channel_allowed",
    "channel_refusal",
    "channels_note",
    "current_releases",
    "decision_from_dict",
    "decision_to_dict",
    "evaluate",
    "explain",
]

Kind = Literal["incident", "feature"]


@dataclass(frozen=True)
class Rule:
    """One ``[[rule]]``: an id, a condition tree and an action (with a category for some)."""

    id: str
    condition: Predicate
    action: str
    category: str | None = None
    note: str = ""  # the rule's ``description``, shown by explain


@dataclass(frozen=True)
class Rulebook:
    """Everything the engine needs, as loaded and validated by ``gateway.rulebook.scope``."""

    rules: tuple[Rule, ...]
    categories: Mapping[str, Category]
    catalogue: Catalogue
    source: str = "rules/scope.toml"

    def category_label(self, category_id: str | None) -> str | None:
        if category_id is None:
            return None
        cat = self.categories.get(category_id)
        return cat.label if cat else category_id


@dataclass(frozen=True)
class Decision:
    """What the scope rules decided about one message."""

    action: FinalAction
    category: str | None
    matched: list[str]
    decided_by: str | None
    product: str | None
    release: str | None
    kind: Kind
    explanation: str
    # Not-current replies list these: "Scalix Server: 12.7, 12.6".
    current_releases: list[str] = field(default_factory=list)


def evaluate(rulebook: Rulebook, message: MessageFacts) -> Decision:
    """Walk the rules in file order. Every rule is checked so ``matched`` lists all that hold;
    the first terminal action decides, non-terminal actions before it annotate the decision.
    No terminal rule matching means accept."""
    facts = Facts(message, rulebook.catalogue)
    matched: list[str] = []
    decided: Rule | None = None
    kind: Kind = "incident"
    ticket_category: str | None = None
    for rule in rulebook.rules:
        if not rule.condition.check(facts):
            continue
        matched.append(rule.id)
        if decided is not None:
            continue
        spec = ACTIONS[rule.action]
        if spec.terminal:
            decided = rule
        elif rule.action == "classify_feature":
            kind = "feature"
        elif rule.action == "set_category" and ticket_category is None:
            ticket_category = rule.category

    # The release recorded is a current one when any is named ("from 11.4 to 12.7").
    releases = facts.releases
    chosen = next((r for r in releases if r.status == "current"), releases[0] if releases else None)
    product = chosen.product if chosen else (facts.products[0] if facts.products else None)
    release = chosen.release if chosen else None

    action: FinalAction = "accept"
    category = ticket_category
    if decided is not None:
        action = decided.action  # type: ignore[assignment]
        if action == "decline":
            category = decided.category
        elif action == "reject_not_current":
            category = None
    currents: list[str] = []
    if action == "reject_not_current":
        currents = current_releases(rulebook.catalogue, product)
    explanation = _explanation(rulebook, action, category, kind, decided, chosen and (chosen.product_name, chosen.release))
    return Decision(
        action=action,
        category=category,
        matched=matched,
        decided_by=decided.id if decided else None,
        product=product,
        release=release,
        kind=kind if action == "accept" else "incident",
        explanation=explanation,
        current_releases=currents,
    )


def decision_to_dict(decision: Decision) -> dict[str, object]:
    """A JSON-ready form for storage and ``ticket show --json``."""
    return {
        "action": decision.action,
        "category": decision.category,
        "matched": list(decision.matched),
        "decided_by": decision.decided_by,
        "product": decision.product,
        "release": decision.release,
        "kind": decision.kind,
        "explanation": decision.explanation,
        "current_releases": list(decision.current_releases),
    }


def decision_from_dict(raw: Mapping[str, object]) -> Decision:
    """The inverse of :func:`decision_to_dict` (missing optional keys take their defaults)."""
    return Decision(
        action=raw["action"],  # type: ignore[arg-type]
        category=raw.get("category"),  # type: ignore[arg-type]
        matched=list(raw.get("matched") or []),  # type: ignore[call-overload]
        decided_by=raw.get("decided_by"),  # type: ignore[arg-type]
        product=raw.get("product"),  # type: ignore[arg-type]
        release=raw.get("release"),  # type: ignore[arg-type]
        kind=raw.get("kind", "incident"),  # type: ignore[arg-type]
        explanation=str(raw.get("explanation", "")),
        current_releases=list(raw.get("current_releases") or []),  # type: ignore[call-overload]
    )


def current_releases(catalogue: Catalogue, product_id: str | None = None) -> list[str]:
    """"Scalix Server: 12.7, 12.6" lines, for one product or all of them."""
    products = [p for p in catalogue.products if product_id in (None, p.id)] or list(catalogue.products)
    return [f"{p.name}: {', '.join(p.current)}" for p in products]


def _explanation(
    rulebook: Rulebook,
    action: str,
    category: str | None,
    kind: Kind,
    decided: Rule | None,
    release: tuple[str, str] | None,
) -> str:
    by = f" (rule {decided.id})" if decided else ""
    if action == "decline":
        return f"Declined as {rulebook.category_label(category)}{by}."
    if action == "reject_not_current":
        assert release is not None or decided is not None
        named = f"{release[0]} {release[1]}" if release else "the release named"
        return f"{named} is not a current release{by}."
    what = "feature request" if kind == "feature" else "incident"
    text = f"Accepted as {what}"
    if category:
        text += f", category {rulebook.category_label(category)}"
    if release:
        text += f", {release[0]} {release[1]}"
    return text + (by or " (no rule declined it)") + "."


def explain(decision: Decision, rule_notes: Mapping[str, str] | None = None) -> list[str]:
    """Human-readable lines for ``explain`` and ``ticket show``; ``rule_notes`` maps rule ids
    to their descriptions (``{r.id: r.note for r in rulebook.rules}``) when the caller has them."""
    notes = rule_notes or {}
    lines = [decision.explanation]
    lines.append(f"action: {decision.action}; kind: {decision.kind}")
    if decision.category:
        lines.append(f"category: {decision.category}")
    if decision.product:
        lines.append(f"product: {decision.product}" + (f", release {decision.release}" if decision.release else ", no release named"))
    if decision.current_releases:
        lines.append("current releases: " + "; ".join(decision.current_releases))
    lines.append(f"decided by: {decision.decided_by or '(no deciding rule: default accept)'}")
    if decision.matched:
        lines.append("rules matched, in order:")
        for rule_id in decision.matched:
            mark = " <- decided" if rule_id == decision.decided_by else ""
            note = f": {notes[rule_id]}" if notes.get(rule_id) else ""
            lines.append(f"  - {rule_id}{note}{mark}")
    else:
        lines.append("rules matched: none")
    return lines


# --------------------------------------------------------------------------- editions (P6)


@dataclass(frozen=True)
class Edition:
    name: str
    label: str
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Editions:
    """``rules/editions.toml``: which channels each edition may use."""

    editions: Mapping[str, Edition]
    default: str  # the edition assumed for an account without one
    channel_labels: Mapping[str, str] = field(default_factory=dict)

    def get(self, edition: str | None) -> Edition:
        """The edition's entry; an unknown or missing edition gets the default (the narrowest)."""
        return self.editions.get((edition or self.default).lower(), self.editions[self.default])


def channel_allowed(editions: Editions, edition: str | None, channel: str) -> bool:
    """May an account of ``edition`` (None: the default edition) open an incident on ``channel``?"""
    return channel.lower() in editions.get(edition).channels


def channel_refusal(editions: Editions, edition: str | None, channel: str) -> str:
    """The refusal shown to a technician or admin who logs an incident on a channel the edition
    does not include, e.g. a phone incident for a Community account."""
    ed = editions.get(edition)
    label = editions.channel_labels
    allowed = " or ".join(label.get(c, c) for c in ed.channels)
    return (
        f"Refused: {ed.label} accounts may open incidents by {allowed} only; "
        f"a {label.get(channel.lower(), channel)} incident cannot be logged for this account. "
        f"Ask the customer to open the incident by {allowed}."
    )


def channels_note(editions: Editions, edition: str | None) -> str:
    """One sentence for acknowledgements: "Support for Community Edition is by e-mail."."""
    ed = editions.get(edition)
    return f"Support for {ed.label} is by " + " or ".join(editions.channel_labels.get(c, c) for c in ed.channels) + "."
