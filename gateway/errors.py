"""The small set of exceptions that tell a caller what to do next.

Used across the package: intake maps them to SMTP replies and sysexits, the pipeline to
outcomes, the CLI to exit codes.
"""
from __future__ import annotations


class GatewayError(Exception):
    """Base class for errors the gateway raises on purpose."""


class ConfigError(GatewayError):
    """A configuration or rules file is wrong. Names the file, the key and the fix."""

    def __init__(self, file: str, key: str, problem: str, fix: str = "") -> None:
        self.file = file
        self.key = key
        self.problem = problem
        self.fix = fix
        message = f"{file}: {key}: {problem}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)


class RetryLater(GatewayError):
    """A temporary failure: the sender keeps the message and tries again (SMTP 451, EX_TEMPFAIL)."""


class RejectPermanently(GatewayError):
    """The input can never be accepted as it is (SMTP 5xx, EX_DATAERR)."""


class Quarantine(GatewayError):
    """The message is stored but cannot be processed; it is kept with this reason."""


class UserError(GatewayError):
    """A command-line or technician request that cannot be carried out, with the reason to show."""
