"""The desk's services in one bundle, built by the faces and passed down the flow.

Holds the configuration, the policy numbers and rules, the template renderer and the
business calendars. Nothing here is a module-level singleton: the CLI and the daemon each
build one :class:`Desk` and hand it to the pipeline, the timed work and the commands.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gateway.config import Config, shipped
from gateway.outbound.render import Renderer
from gateway.policy.calendar import BusinessCalendar
from gateway.policy.splitting import SplitRules
from gateway.rulebook.numbers import PolicyNumbers
from gateway.policy.rules_engine import Editions, Rulebook
from gateway.rulebook.scope import load_editions, load_rulebook
from gateway.rulebook.splitting import load_split_rules


@dataclass
class Desk:
    config: Config
    numbers: PolicyNumbers
    renderer: Renderer
    split_rules: SplitRules
    rulebook: Rulebook
    editions: Editions
    _calendars: dict[tuple[str, str, str | None], BusinessCalendar] = field(default_factory=dict)

    def calendar(self, tz: str, country: str | None, subdiv: str | None) -> BusinessCalendar:
        """The business calendar of an account; the desk's default country when it has none."""
        if not country:
            country, subdiv = self.config.default_country, self.config.default_subdiv
        key = (tz, country, subdiv)
        cal = self._calendars.get(key)
        if cal is None:
            cal = self._calendars[key] = BusinessCalendar.from_numbers(self.numbers, tz, country, subdiv)
        return cal

    def token_address(self, token: str) -> str:
        local, _, domain = self.config.desk_address.partition("@")
        return f"{local}+{token}@{domain}"


def template_path(config: Config) -> list[Path]:
    """The admin's templates first, then the shipped ones, so any file can be overridden."""
    default = shipped("templates")
    paths = [config.templates_dir]
    if default is not None and default.resolve() != config.templates_dir.resolve():
        paths.append(default)
    return paths


def build_desk(config: Config, numbers: PolicyNumbers) -> Desk:
    rules = config.rules_dir
    return Desk(
        config=config,
        numbers=numbers,
        renderer=Renderer(template_path(config)),
        split_rules=load_split_rules(rules),
        rulebook=load_rulebook(rules),
        editions=load_editions(rules),
    )
