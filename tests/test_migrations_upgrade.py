"""A database made by any earlier schema version opens with the current code, every row intact."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from carecli.schema import database

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("schema-*.db"))


def snapshot(path: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "AND name <> '_sqlite_migrations' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' "
                "AND name NOT LIKE '%_fts_%'"
            )
        ]  # the search index is derived data, rebuilt by its migration
        result = {}
        for table in tables:
            names = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            result[table] = (names, conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall())
        return result
    finally:
        conn.close()


def test_there_is_a_fixture_for_the_first_schema():
    assert any(f.name == "schema-m001.db" for f in FIXTURES)


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_an_old_database_upgrades_with_every_row_intact(fixture, tmp_path):
    path = tmp_path / fixture.name
    shutil.copy(fixture, path)
    before = snapshot(path)
    assert before["tickets"][1], "the fixture holds data"

    conn = database.connect(path)
    assert database.pending_migrations(conn) == []
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()

    after = snapshot(path)
    for table, (names, rows) in before.items():
        assert table in after, f"table {table} was dropped"
        conn = sqlite3.connect(path)
        kept = conn.execute(f"SELECT {', '.join(names)} FROM {table} ORDER BY rowid").fetchall()
        conn.close()
        assert kept == rows, f"rows of {table} changed"


def _old_shop(db_path: Path) -> dict:
    shutil.copy(FIXTURES[0], db_path)
    return snapshot(db_path)


def test_any_command_on_an_old_database_backs_it_up_before_migrating(run_without_db, db_path):
    before = _old_shop(db_path)
    result = run_without_db("customer", "list", "--format", "json")
    assert result.exit_code == 0, result.stderr
    backups = sorted(db_path.parent.glob("care-backup-*.db"))
    assert len(backups) == 1, "one backup, next to the database"
    assert f"backed up to {backups[0]}" in result.stderr
    assert (backups[0].stat().st_mode & 0o777) == 0o600
    assert snapshot(backups[0]) == before, "the backup is the database as it was before the migration"
    conn = sqlite3.connect(backups[0])
    assert [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")] == ["m001_initial"]
    conn.close()
    again = run_without_db("customer", "list", "--format", "json")
    assert again.exit_code == 0 and "backed up" not in again.stderr  # migrated once, backed up once
    assert len(list(db_path.parent.glob("care-backup-*.db"))) == 1


def test_an_old_database_whose_backup_cannot_be_written_is_not_migrated(run_without_db, db_path, monkeypatch):
    _old_shop(db_path)
    from carecli.core.errors import StoreError
    from carecli.data import maintenance

    def full_disk(conn, target):
        raise StoreError(f"cannot write backup {target}: No space left on device")

    monkeypatch.setattr(maintenance, "backup", full_disk)
    result = run_without_db("customer", "list")
    assert result.exit_code == 1 and "No space left on device" in result.stderr
    conn = sqlite3.connect(db_path)
    assert [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")] == ["m001_initial"]
    conn.close()


def test_an_old_database_without_data_migrates_without_a_backup(run_without_db, db_path):
    _old_shop(db_path)
    conn = sqlite3.connect(db_path)
    guard = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_append_only_delete'").fetchone()[0]
    conn.execute("DROP TRIGGER events_append_only_delete")
    for table in ("surveys", "followups", "events", "interactions", "tickets", "customers"):
        conn.execute(f"DELETE FROM {table}")
    conn.execute(guard)
    conn.commit()
    conn.close()
    result = run_without_db("customer", "list")
    assert result.exit_code == 0, result.stderr
    assert "backed up" not in result.stderr and not list(db_path.parent.glob("care-backup-*"))


def test_a_migration_run_again_within_the_same_second_backs_up_under_a_second_name(run_without_db, db_path):
    """A killed `db migrate` leaves its backup; the next run (same second: CARECLI_NOW) must not fail on it."""
    _old_shop(db_path)
    shutil.copy(FIXTURES[0], db_path.with_name(f"{db_path.stem}-backup-20260314-100000.db"))  # the killed run's
    result = run_without_db("db", "migrate")
    assert result.exit_code == 0, result.stderr
    assert db_path.with_name(f"{db_path.stem}-backup-20260314-100000-2.db").exists()


def test_m019_makes_rows_of_an_old_database_findable_by_their_other_forms(tmp_path):
    from carecli.data import searching

    path = tmp_path / "old.db"
    shutil.copy(FIXTURES[0], path)
    conn = database.connect(path)
    refs = {hit["ref"] for hit in searching.search(conn, "charge", limit=100) if hit["kind"] == "ticket"}
    assert "#2" in refs  # "Charged twice", indexed before m019 existed
    conn.close()
