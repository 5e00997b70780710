"""Mail text from jinja2 templates, one template per event in ``templates/``.

A template's first lines are ``Subject: ...`` then a blank line, then the plain-text body.
The admin's ``templates_dir`` comes first in the search path, so any shipped template can
be overridden by a file of the same name.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from gateway.errors import ConfigError


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


class Renderer:
    def __init__(self, search_path: Sequence[Path]) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(p) for p in search_path]),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,  # plain-text mail, never HTML
        )

    def render(self, event: str, **context: Any) -> Rendered:
        name = f"{event}.txt"
        try:
            text = self.env.get_template(name).render(**context)
        except jinja2.TemplateNotFound:
            raise ConfigError(name, event, "template not found", "copy it from the shipped templates/ folder") from None
        except jinja2.TemplateError as exc:
            raise ConfigError(name, event, f"template error: {exc}", "fix the template") from None
        head, sep, body = text.partition("\n\n")
        if not head.startswith("Subject:") or not sep:
            raise ConfigError(name, "Subject", "a template starts with 'Subject: ...' and a blank line", "add the subject line")
        return Rendered(head[len("Subject:"):].strip().replace("\n", " "), body.strip() + "\n")

    def check(self) -> list[str]:
        """Names of templates that do not compile (for start-up and `rules check`)."""
        bad = []
        for name in self.env.list_templates(extensions=["txt"]):
            try:
                self.env.get_template(name)
            except jinja2.TemplateError as exc:
                bad.append(f"{name}: {exc}")
        return bad
