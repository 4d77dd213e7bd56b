"""Errors the agent reports to the admin, each with a sentence that says what to do.

HealthAgentError            base of every error the CLI turns into a clean message
├── ConfigError             the config file is wrong (file, key path, what was expected)
├── SheetError              the sheet cannot be used as it is (missing tab, key column...)
│   └── SheetAccessError    credentials, sharing, unknown spreadsheet id (not retried)
├── TransientError          the outside world failed for now (429, 5xx, reset); retry later
│   └── UnsureWrite         a change sent whose answer was lost: made or not, the next pass sees
├── PlaybookError           a playbook file cannot be parsed
├── MailError               the digest could not be sent
└── AlreadyRunningError     another agent holds the state folder
"""

from __future__ import annotations


class HealthAgentError(Exception):
    """Base of every error the agent reports; the message says how to fix things."""

    exit_code = 1


class ConfigError(HealthAgentError):
    """The configuration file is invalid."""


class SheetError(HealthAgentError):
    """The sheet (tab, columns, keys) cannot be used as it is."""


class SheetAccessError(SheetError):
    """The sheet cannot be reached with these credentials (401/403/404)."""


class TransientError(HealthAgentError):
    """A failure that may go away by itself (rate limit, server error, network)."""


class UnsureWrite(TransientError):
    """A change sent to Google whose answer was lost: it may or may not have been made."""


class PlaybookError(HealthAgentError):
    """A playbook file is broken."""


class MailError(HealthAgentError):
    """The digest email could not be sent."""


class AlreadyRunningError(HealthAgentError):
    """Another agent already runs on this state folder."""
