"""Care of the database file itself: online backups, integrity checks, facts, explicit migrations."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Backup:
    path: Path
    attachments: int  # files copied into <path>.attachments/
    missing: int  # files the database names that were not in its attachments folder


def backup(conn: sqlite3.Connection, target: str | os.PathLike) -> Backup:
    """A consistent copy through SQLite's online backup API, safe while other processes write,
    with the files of the mail attachments its rows name (`<target>.attachments/`).

    Written to a private temporary file next to the target (unique, see core.files; those of killed
    backups are removed) and renamed into place only once the copy passes `PRAGMA quick_check`: a
    crash never leaves half a backup under the final name, and a damaged database is never
    declared backed up. The attachments are copied before that rename, so a backup under its final
    name is complete; they are content-addressed and never change, so the ones the snapshot names
    are all there, whatever is filed meanwhile.
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
        copied, missing = _copy_attachments(temp, database_file(conn), target)
        os.chmod(temp, files.PRIVATE)
        os.replace(temp, target)
    except BaseException:
        for path in (temp, Path(f"{temp}-journal")):
            path.unlink(missing_ok=True)
        raise
    return Backup(target, copied, missing)


def _copy_attachments(snapshot: Path, source_db: str, target: Path) -> tuple[int, int]:
    """Copy the attachment files that the snapshot's rows name; (copied, missing from the source)."""
    copy = sqlite3.connect(snapshot)
    try:
        has_table = copy.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'attachments'").fetchone()
        digests = (
            [row[0] for row in copy.execute("SELECT DISTINCT sha256 FROM attachments WHERE stored = 1")]
            if has_table
            else []
        )
    finally:
        copy.close()
    source, destination = files.attachments_folder(source_db), files.attachments_folder(target)
    copied = missing = 0
    for digest in digests:
        original, duplicate = files.attachment_path(source, digest), files.attachment_path(destination, digest)
        try:
            data = original.read_bytes()
        except FileNotFoundError:
            missing += 1
            continue
        except OSError as exc:
            raise StoreError(
                f"cannot read the attachment {original} ({exc.strerror})", "check its folder's permissions"
            ) from None
        if not duplicate.exists():  # left by an earlier, interrupted backup to the same path: the same bytes
            try:
                files.private_folders(destination, duplicate.parent)
                files.write_private_bytes(duplicate, data)
            except OSError as exc:
                raise files.write_error(duplicate, exc) from None
        copied += 1
    return copied, missing


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
    problems.extend(_missing_attachment_files(conn))
    return problems


def _missing_attachment_files(conn: sqlite3.Connection) -> list[str]:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'attachments'").fetchone():
        return []  # a database from before mail attachments, not yet migrated
    folder = files.attachments_folder(database_file(conn))
    rows = conn.execute("SELECT id, sha256 FROM attachments WHERE stored = 1 ORDER BY id").fetchall()
    return [
        f"attachment {row[0]}: its file {files.attachment_path(folder, row[1])} is missing (restore it from a backup)"
        for row in rows
        if not files.attachment_path(folder, row[1]).exists()
    ]


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
