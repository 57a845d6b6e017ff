"""Care of the database file itself: online backups, integrity checks, facts, explicit migrations."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime
from pathlib import Path

from carecli.core import files
from carecli.core.errors import InvalidInput, StoreError
from carecli.schema import database, migrations

# Tables a user may read with sqlite3, sqlite-utils or Datasette; their columns are the documented schema.
USER_TABLES = ("customers", "tickets", "interactions", "events", "followups", "surveys")


def default_backup_path(db_file: str | os.PathLike, now: datetime) -> Path:
    """A dated name beside the database, not yet taken: a second backup within the same second
    (a migration run again after it was killed) gets `-2`, `-3`, ... rather than failing."""
    db = Path(db_file)
    stem = f"{db.stem}-backup-{now.strftime('%Y%m%d-%H%M%S')}"
    suffix = db.suffix or ".db"
    path, number = db.with_name(stem + suffix), 1
    while path.exists():
        number += 1
        path = db.with_name(f"{stem}-{number}{suffix}")
    return path


def backup(conn: sqlite3.Connection, target: str | os.PathLike) -> Path:
    """A consistent copy through SQLite's online backup API, safe while other processes write.

    Written to a private temporary file next to the target (unique, see core.files; those of killed
    backups are removed) and renamed into place only once the copy passes `PRAGMA quick_check`: a
    crash never leaves half a backup under the final name, and a damaged database is never
    declared backed up. Errors writing the copy name the target, not the database.
    """
    target = Path(target)
    if os.path.lexists(target):
        raise InvalidInput(f"{target} already exists", "give another path or remove it first")
    files.remove_stale_temps(target.parent)
    temp = files.temp_path(target)
    try:
        os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, files.PRIVATE))
    except OSError as exc:
        raise files.write_error(target, exc) from None
    try:
        problems = _copy(conn, temp, target)
        if problems:
            source = database_file(conn)
            raise StoreError(
                f"{source} is damaged ({problems[0]}{'; ...' if len(problems) > 1 else ''}); no backup written",
                "`carecli db check` lists the problems; restore an earlier backup",
            )
        os.chmod(temp, files.PRIVATE)
        os.replace(temp, target)
    except BaseException:
        for path in (temp, Path(f"{temp}-journal")):
            path.unlink(missing_ok=True)
        raise
    return target


def _copy(conn: sqlite3.Connection, temp: Path, target: Path) -> list[str]:
    """Copy the database into `temp`; what `PRAGMA quick_check` finds wrong with the copy, which is
    the source page for page (one snapshot, whatever others write meanwhile)."""
    try:
        copy = sqlite3.connect(temp)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot write the backup {target} ({exc})", files.WRITE_HINT) from None
    try:
        try:
            conn.backup(copy)  # one step: the copy is one snapshot
            copy.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
        except sqlite3.DatabaseError as exc:
            text = str(exc)
            if "malformed" in text or "not a database" in text:
                return [text]
            if "full" in text:
                raise StoreError(
                    f"the disk holding {target} is full; no backup written",
                    "free some space there, or back up elsewhere",
                ) from None
            raise StoreError(f"cannot write the backup {target} ({text})", files.WRITE_HINT) from None
        try:
            return [row[0] for row in copy.execute("PRAGMA quick_check") if row[0] != "ok"]
        except sqlite3.DatabaseError as exc:  # too damaged even to check
            return [str(exc)]
    finally:
        copy.close()


def database_file(conn: sqlite3.Connection) -> str:
    return next((row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"), "the database")


# Events that record a correction (records/ticket_queries.CORRECTIONS) may name a record no longer there.
_CORRECTION_KINDS = ("undone", "deleted", "restored", "merged", "moved", "edited")


def _left_behind(conn: sqlite3.Connection, table: str, rowid: int) -> bool:
    """A trail row whose record went to the trash or was undone: the trail is append-only, so it
    stays, out of the figures (voided) or saying what happened (a correction's own event)."""
    if table == "followup_due_changes":
        return bool(
            conn.execute("SELECT voided_by IS NOT NULL FROM followup_due_changes WHERE rowid = ?", (rowid,)).fetchone()[
                0
            ]
        )
    marks = ", ".join("?" * len(_CORRECTION_KINDS))
    row = conn.execute(
        f"SELECT voided_by IS NOT NULL OR kind IN ({marks}) OR EXISTS (SELECT 1 FROM trash_rows WHERE tbl = 'tickets'"
        " AND row_id = e.ticket_id) OR EXISTS (SELECT 1 FROM trash_rows WHERE tbl = 'customers' AND row_id = e.customer_id)"
        " FROM events e WHERE rowid = ?",
        (*_CORRECTION_KINDS, rowid),
    ).fetchone()
    return bool(row and row[0])


def check(conn: sqlite3.Connection) -> list[str]:
    """Every problem found: integrity, foreign keys, migrations; empty means healthy."""
    problems = [f"integrity: {finding}" for finding in _integrity_findings(conn)]
    try:
        for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check"):
            if table in ("events", "followup_due_changes") and _left_behind(conn, table, rowid):
                continue
            problems.append(f"foreign key: {table} row {rowid} points to a missing {parent} row")
    except sqlite3.DatabaseError as exc:
        problems.append(f"foreign keys: not checked, a page cannot be read ({exc})")
    try:
        pending = database.pending_migrations(conn)
        unknown = [name for name, _ in database.applied_migrations(conn) if name not in migrations.NAMES]
    except sqlite3.DatabaseError as exc:
        problems.append(f"migrations: not checked, a page cannot be read ({exc})")
        return problems
    if pending:
        problems.append(f"migrations not applied: {', '.join(pending)} (run `carecli db migrate`)")
    if unknown:
        problems.append(f"migrations from a newer carecli: {', '.join(unknown)}")
    return problems


def _integrity_findings(conn: sqlite3.Connection) -> list[str]:
    """integrity_check's findings, one line each (SQLite puts several in one row).

    On some damage (a table's root page) SQLite raises "malformed" instead of answering, once past
    a few findings: then list as many as it gives, found by bisecting its limit, and say so."""
    try:
        rows, stopped = conn.execute("PRAGMA integrity_check").fetchall(), None
    except sqlite3.DatabaseError as exc:
        rows, stopped, answered, refused = [], exc, 0, 100
        while answered + 1 < refused:
            limit = (answered + refused) // 2
            try:
                rows, answered = conn.execute(f"PRAGMA integrity_check({limit})").fetchall(), limit
            except sqlite3.DatabaseError:
                refused = limit
    findings = [
        line for row in rows for line in str(row[0]).splitlines() if line != "ok" and not line.startswith("*** ")
    ]
    if stopped is not None:
        findings.append(f"the check stopped at a page it cannot read ({stopped})")
    return findings


def info(conn: sqlite3.Connection, db_file: str | os.PathLike) -> dict:
    path = Path(db_file)
    applied = database.applied_migrations(conn)
    size = path.stat().st_size if path.exists() else 0
    wal = Path(f"{path}-wal")
    return {
        "path": str(path.resolve()),
        "size_bytes": size + (wal.stat().st_size if wal.exists() else 0),
        "schema_version": applied[-1][0] if applied else None,
        "migrations_applied": len(applied),
        "migrations_pending": database.pending_migrations(conn),
        "sqlite_version": sqlite3.sqlite_version,
        "rows": {table: _count(conn, table) for table in USER_TABLES},
    }


def _count(conn: sqlite3.Connection, table: str) -> int | None:
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except sqlite3.OperationalError:  # a table a later migration adds
        return None


def is_empty(conn: sqlite3.Connection) -> bool:
    return all(not _count(conn, table) for table in USER_TABLES)
