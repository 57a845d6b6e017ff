"""Opening a carecli database: a connection from the store, with every due migration applied.

This is the one place that opens the database for the rest of carecli.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from carecli.core import store
from carecli.schema import migrations


def connect(path: str | os.PathLike, *, migrate: bool = True) -> sqlite3.Connection:
    """Open (creating on first use) the database at `path`, ready for use."""
    conn = store.open_connection(path)
    if migrate:
        try:
            if pending_migrations(conn):
                apply_migrations(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise store.store_error(exc, Path(path)) from None
    return conn


def pending_migrations(conn: sqlite3.Connection) -> list[str]:
    """Names of migration steps not yet recorded; cheap (one query, no sqlite-utils)."""
    try:
        applied = {
            row[0]
            for row in conn.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (migrations.MIGRATION_SET,)
            )
        }
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        applied = set()
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


def apply_migrations(conn: sqlite3.Connection) -> list[str]:
    """Apply every pending step in one immediate transaction; returns the names applied.

    Taking the write lock first means two processes opening a new database at once do not
    both try to create the schema: the second waits, then finds nothing pending.
    """
    from sqlite_utils import Database

    with store.transaction(conn):
        due = pending_migrations(conn)
        if due:
            migrations.migrations().apply(Database(conn, execute_plugins=False))
    return due
