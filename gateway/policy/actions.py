"""Rule actions: what a matching scope rule does to the decision (POLICY.md P5).

Place in the flow: the rules engine (``gateway.policy.rules_engine``) walks the ordered rules;
when a rule's condition holds it applies that rule's action from the fixed registry
:data:`ACTIONS`. Terminal actions (``decline``, ``reject_not_current``, ``accept``) decide
the message and later rules can no longer change it; the others (``classify_feature``,
``set_category``) annotate the decision and the walk goes on.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

CategoryKind = Literal["decline", "ticket"]


@dataclass(frozen=True)
class Category:
    """A category from ``[[category]]`` in scope.toml.

    ``kind = "decline"`` categories name why a message is declined (the reply quotes
    ``label``); ``kind = "ticket"`` categories sort accepted tickets (installation, ...).
    """

    id: str
    label: str
    kind: CategoryKind
    reply_hint: str = ""


@dataclass(frozen=True)
class ActionSpec:
    """One action name: whether it ends the walk and what kind of category it needs."""

    terminal: bool
    category: CategoryKind | None  # which kind of category the rule must name, or None for none
    help: str


ACTIONS: Mapping[str, ActionSpec] = {
    "decline": ActionSpec(True, "decline", "no ticket, no charge; the reply names the category's label"),
    "reject_not_current": ActionSpec(True, None, "no ticket; the reply lists the current releases"),
    "accept": ActionSpec(True, None, "open the ticket; later decline rules are not applied"),
    "classify_feature": ActionSpec(False, None, "the ticket is a feature request (kind = feature)"),
    "set_category": ActionSpec(False, "ticket", "file the ticket under a ticket category"),
}

# The actions a Decision can end with. No terminal rule matching means "accept".
FinalAction = Literal["accept", "decline", "reject_not_current"]
