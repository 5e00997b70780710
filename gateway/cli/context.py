"""What a CLI command needs, built lazily: the config, the rules, the store, the clock.

Commands that only compute (``sla deadline``, ``split``) never open a database.
"""
from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.clock import SystemClock
from gateway.config import Config, load_config, shipped
from gateway.rulebook.numbers import PolicyNumbers, load_numbers

if TYPE_CHECKING:
    from gateway.desk import Desk
    from gateway.store.db import Database


class CliContext:
    def __init__(self, config_path: str | None) -> None:
        self._config_path = config_path
        self._db: Database | None = None

    @cached_property
    def config_file(self) -> Path | None:
        if self._config_path:
            return Path(self._config_path)
        default = Path("gateway.toml")
        return default if default.exists() else None

    @cached_property
    def config(self) -> Config:
        if self.config_file is None:
            from gateway.errors import ConfigError

            raise ConfigError("(none)", "--config", "this command needs a configuration file", "pass --config FILE or set TICKET_GATEWAY_CONFIG")
        return load_config(self.config_file)

    @cached_property
    def rules_dir(self) -> Path:
        """The configured rules folder, or the shipped one when no config is given."""
        if self.config_file is None:
            return Path(os.environ.get("TICKET_GATEWAY_RULES") or shipped("rules") or "rules")
        return self.config.rules_dir

    @cached_property
    def numbers(self) -> PolicyNumbers:
        return load_numbers(self.rules_dir)

    @property
    def db(self) -> "Database":
        """The configured database, migrated to the newest schema on first use."""
        if self._db is None:
            from gateway.store.db import Database

            self._db = Database(self.config.database_url)
            self._db.migrate()
        return self._db

    @cached_property
    def desk(self) -> "Desk":
        from gateway.desk import build_desk

        return build_desk(self.config, self.numbers)

    @cached_property
    def clock(self) -> SystemClock:
        return SystemClock()

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
