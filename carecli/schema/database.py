"""Opening a carecli database: a connection from the store, with every due migration applied.

This is the one place that opens the database for the rest of carecli.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Callable

from carecli.core import store
from carecli.core.errors import StoreError
from carecli.schema import migrations

BeforeMigration = Callable[[sqlite3.Connection], None]


def connect(
    path: str | os.PathLike,
    *,
    create: bool = False,
    migrate: bool = True,
    before_migration: BeforeMigration | None = None,
) -> sqlite3.Connection:
    """Open the carecli database at `path`, ready for use (every due migration applied).

    `before_migration` runs (holding the write lock) only when a step is really due: the CLI
    backs up a database holding data there, so no command changes a schema without a backup.

    Only `create=True` (init, demo, import, the bench generator) makes a new database, at a missing
    path or in an empty file. Anything else is refused before a byte is written: a missing file,
    and an SQLite file of another program (it must not get our tables, nor be switched to WAL).
    """
    conn = store.open_connection(path, create=create)
    try:
        applied = _applied_names(conn)
        if not applied:
            if not _is_blank(conn):
                raise StoreError(
                    f"{path} is not a carecli database (an SQLite file that carecli did not make)",
                    "pass --db with a carecli database, or a new path to carecli init",
                )
            if not create:
                raise store.missing_database(path)
        store.use_wal(conn)
        if migrate and [name for name in migrations.NAMES if name not in applied]:
            apply_migrations(conn, before=before_migration)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise store.store_error(exc, Path(path)) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _applied_names(conn: sqlite3.Connection) -> set[str]:
    """The carecli migration steps recorded in the file: none means it is not (yet) a carecli database."""
    try:
        return {
            row[0]
            for row in conn.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (migrations.MIGRATION_SET,)
            )
        }
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        return set()


def _is_blank(conn: sqlite3.Connection) -> bool:
    """Nothing in the file yet: no table, index or view, no version or application id set.

    That is a new file (or one whose first `init` was interrupted), safe to make a carecli database.
    """
    return (
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        and conn.execute("PRAGMA user_version").fetchone()[0] == 0
        and conn.execute("PRAGMA application_id").fetchone()[0] == 0
    )


def pending_migrations(conn: sqlite3.Connection) -> list[str]:
    """Names of migration steps not yet recorded; cheap (one query, no sqlite-utils)."""
    applied = _applied_names(conn)
    return [name for name in migrations.NAMES if name not in applied]


def applied_migrations(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(name, applied_at) of every recorded step, oldest first."""
    try:
        return [
            (row[0], row[1])
            for row in conn.execute(
                "SELECT name, applied_at FROM _sqlite_migrations WHERE migration_set = ? ORDER BY rowid",
                (migrations.MIGRATION_SET,),
            )
        ]
    except sqlite3.OperationalError:
        return []


def apply_migrations(conn: sqlite3.Connection, *, before: BeforeMigration | None = None) -> list[str]:
    """Apply every pending step in one immediate transaction; returns the names applied.

    Taking the write lock first means two processes opening a new database at once do not
    both try to create the schema (nor both back it up): the second waits, then finds nothing
    pending. `before(conn)` runs inside, once steps are due and before the first one; as the
    lock is held, nothing is written between it and the migration.
    """
    from sqlite_utils import Database

    with store.transaction(conn):
        due = pending_migrations(conn)
        if due:
            if before is not None:
                before(conn)
            migrations.migrations().apply(Database(conn, execute_plugins=False))
    return due
