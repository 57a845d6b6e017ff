"""Per-invocation state shared by the commands: where the database and config are, opened lazily."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Iterator

from carecli.cli.output import message
from carecli.core import config as config_module

if TYPE_CHECKING:
    from carecli.text.when import Yearless


class State:
    def __init__(self) -> None:
        self.db_path: str | None = None
        self.db_typed = False  # --db given on the command line, not by CARECLI_DB
        self.config_path: str | None = None
        self._settings: config_module.Settings | None = None
        self._conn: sqlite3.Connection | None = None
        self._now: datetime | None = None
        self.argv: list[str] = []  # the command line after `carecli` and its global options

    def reset(self, db_path: str | None, config_path: str | None, argv: list[str] | None = None) -> None:
        self.__init__()  # type: ignore[misc]  # STATE is one instance of this very class
        self.db_path, self.config_path = db_path, config_path
        self.argv = list(argv or [])

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write command: one transaction, recorded as one step of the undo log (the
        command line is what `carecli undo --list` shows)."""
        from carecli.core import store, undolog
        from carecli.text.clock import to_db

        conn = self.conn
        with store.transaction(conn):
            with undolog.recording(conn, self.argv, to_db(self.now)):
                yield conn

    @property
    def settings(self) -> config_module.Settings:
        if self._settings is None:
            self._settings = config_module.load(self.config_path)
            for warning in self._settings.warnings:
                message(f"warning: {warning}")
        return self._settings

    @property
    def db_file(self) -> str:
        return self.db_path or str(config_module.default_db_path())

    @property
    def conn(self) -> sqlite3.Connection:
        """The database, which must exist: a mistyped path is an error, not a new empty shop."""
        return self.open()

    def open(self, *, create: bool = False) -> sqlite3.Connection:
        """Open the database once per invocation; only `init`, `demo` and `import` pass `create`."""
        if self._conn is None:
            from carecli.schema.database import connect

            self._conn = connect(self.db_file, create=create, before_migration=self.backup_before_migration)
            self.prepare_writes(self._conn)
        return self._conn

    def prepare_writes(self, conn: sqlite3.Connection) -> None:
        """What every write on this connection does besides its own work: before it commits, keep
        the business-time cache current (so that no read ever has to write it); while it waits
        for another process's write, say so; and name this command to the others waiting."""
        import shlex
        import sys

        from carecli.core.store import Connection

        if not isinstance(conn, Connection):
            return
        conn.before_commit.append(self._keep_business_time_current)
        conn.on_wait = message
        conn.command = shlex.join(["carecli", *sys.argv[1:]])

    def _keep_business_time_current(self, conn: sqlite3.Connection) -> None:
        from carecli.core.errors import ConfigError
        from carecli.measure import clocks

        try:
            hours = clocks.BusinessHours.from_settings(self.settings)
        except ConfigError:
            return  # [business_hours] cannot be used: the reads that need it say why
        clocks.keep_current(conn, hours)

    def backup_before_migration(self, conn: sqlite3.Connection) -> None:
        """Back up a database holding data before its schema changes (automatically or by `db migrate`).

        `conn` holds the write lock (see `apply_migrations`), and SQLite's online backup cannot read
        through a connection in a write transaction, so the copy is read through a second one: it
        sees every committed row, and nothing can be written until the migration is done.
        """
        from carecli.core import store
        from carecli.data import maintenance

        if maintenance.is_empty(conn):
            return
        reader = store.open_connection(self.db_file)
        try:
            saved = maintenance.backup(reader, maintenance.default_backup_path(self.db_file, self.now)).path
        finally:
            reader.close()
        message(f"backed up to {saved} before migrating its schema")

    @property
    def now(self) -> datetime:
        """One 'now' per invocation, so every record a command writes carries the same time."""
        if self._now is None:
            from carecli.text.clock import now_utc

            self._now = now_utc()
        return self._now

    def when(
        self,
        text: str | None,
        *,
        yearless: Yearless = "past",
        end_of_day: bool = False,
        option: str = "--at",
    ) -> datetime:
        """Parse a time the user typed (None = now); errors name the option.

        ``yearless`` says what a date without a year means: ``"past"`` (its most recent
        occurrence: --at, --since, --date) or ``"next"`` (planning: --due, snooze, --due-by).
        """
        if text is None:
            return self.now
        from carecli.core.errors import InvalidInput
        from carecli.text.vocabulary import TimeParseError
        from carecli.text.when import parse_when

        try:
            return parse_when(
                text,
                now=self.now,
                tz=self.settings.tz,
                yearless=yearless,
                dayfirst=self.settings["dayfirst"],
                end_of_day=end_of_day,
            )
        except TimeParseError as exc:
            raise InvalidInput(f"{option}: {exc}") from None

    def happened(self, text: str | None, *, option: str = "--at") -> datetime:
        """When something that already happened happened (None = now): a time the user typed, not
        more than a minute in the future (a reply cannot be logged for the day after tomorrow)."""
        moment = self.when(text, option=option)
        from carecli.text.clock import format_local, in_the_future

        if in_the_future(moment, self.now):
            from carecli.core.errors import InvalidInput

            raise InvalidInput(
                f"{option} {format_local(moment, self.settings.tz)} is in the future; it records what already happened",
                f"give a time up to now ({format_local(self.now, self.settings.tz)}), or leave {option} out for now",
            )
        return moment

    def until(self, text: str, *, since: datetime | None) -> datetime:
        """The end of a reporting window (a date means up to its end). A date without a year is
        its most recent occurrence, unless that falls before ``since``: then the next one, so
        ``--since 1/11 --until 30/11`` in mid-November is this November, not last year's."""
        end = self.when(text, end_of_day=True, option="--until")
        if since is not None and end <= since:
            end = self.when(text, yearless="next", end_of_day=True, option="--until")
        return end

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


STATE = State()
