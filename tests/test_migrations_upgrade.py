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
