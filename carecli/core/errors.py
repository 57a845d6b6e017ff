"""Errors users see: each carries a one-line message, an optional hint and an exit code."""

from __future__ import annotations

# Named exit codes, in one place.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_BREACH = 3  # `report daily --fail-on-breach` when an SLA is breached
# sysexits.h codes, which mail systems understand (`mail ingest -`)
EXIT_DATAERR = 65  # the message cannot be parsed (it is kept in the quarantine)
EXIT_TEMPFAIL = 75  # try again later: the database stayed busy, the disk is full


class CareError(Exception):
    """An expected failure: bad input, unknown id, invalid state change.

    The CLI prints it as one `error:` line (plus the hint) and exits with `exit_code`.
    """

    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class NotFound(CareError):
    """A referenced customer, ticket or follow-up does not exist."""


class InvalidInput(CareError):
    """A value the user typed cannot be used as given."""


class UsageError(CareError):
    """The command line itself is incomplete or contradictory (exit 2, as click's own usage errors)."""

    exit_code = EXIT_USAGE


class Conflict(CareError):
    """The change is not allowed in the record's current state (close twice, reopen an open ticket)."""


class ConfigError(CareError):
    """The configuration file or an environment override is unreadable or invalid."""


class StoreError(CareError):
    """The database cannot be opened or written (not SQLite, read-only, disk full)."""


class DamagedDatabase(StoreError):
    """An SQLite file that carecli can open but not read through: a damaged page."""


class TemporaryStoreError(StoreError):
    """The database stayed locked past the wait, or the disk is full: trying later may work, and
    the exit code (75, EX_TEMPFAIL) tells cron and mail systems so."""

    exit_code = EXIT_TEMPFAIL


class ServerUnavailable(CareError):
    """A mail server could not be reached, or dropped the connection: trying later may work."""

    exit_code = EXIT_TEMPFAIL
