"""What the pipeline decided about one message: the JSON that ``ingest`` prints."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OUTCOMES = ("opened", "appended", "rejected", "declined", "held", "ignored", "answered", "quarantined", "duplicate")


@dataclass
class Outcome:
    outcome: str
    tickets: list[int] = field(default_factory=list)
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"outcome": self.outcome, "tickets": self.tickets, "reason": self.reason}
        out.update(self.details)
        return out
