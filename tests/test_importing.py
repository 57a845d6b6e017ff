"""The bulk-load path of carecli.data.importing: indexes and search triggers come back, and the index covers new rows."""

from __future__ import annotations

import pytest

from carecli.core import store
from carecli.core.errors import StoreError
from carecli.data import importing, searching
from carecli.schema import database


def _schema(conn):
    return conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY name"
    ).fetchall()


def test_bulk_load_restores_indexes_and_triggers_and_indexes_the_new_rows(shop, db_path):
    conn = database.connect(db_path)
    before = _schema(conn)
    with store.transaction(conn):
        with importing.BulkLoad(conn):
            assert not [row for row in _schema(conn) if row[0] == "trigger" and "fts" in row[1]]
            conn.execute(
                "INSERT INTO tickets (customer_id, subject, channel, category, priority, status, created_at, "
                "updated_at) VALUES (1, 'Orchids arrived frozen', 'email', 'other', 'normal', 'open', "
                "'2026-03-01T00:00:00+00:00', '2026-03-01T00:00:00+00:00')"
            )
    assert _schema(conn) == before
    assert [hit["ref"] for hit in searching.search(conn, "orchids")] == ["#2"]
    conn.execute("UPDATE tickets SET subject = 'Roses arrived frozen' WHERE id = 2")  # the triggers work again
    assert searching.search(conn, "orchids") == []


def test_bulk_load_is_undone_with_its_transaction(shop, db_path):
    conn = database.connect(db_path)
    before = _schema(conn)
    try:
        with store.transaction(conn):
            with importing.BulkLoad(conn):
                raise RuntimeError("killed")
    except RuntimeError:
        pass
    assert _schema(conn) == before


def test_bulk_load_checks_the_references_it_let_through(shop, db_path):
    """Row-by-row foreign key checks are off during a bulk load; the new rows are checked at the end."""
    conn = database.connect(db_path)
    tickets = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
    with pytest.raises(StoreError, match="1 tickets row.*missing customers"):
        with importing.import_transaction(conn, bulk=True):
            conn.execute(
                "INSERT INTO tickets (customer_id, subject, channel, category, priority, status, created_at, "
                "updated_at) VALUES (999, 'Nobody''s order', 'email', 'other', 'normal', 'open', "
                "'2026-03-01T00:00:00+00:00', '2026-03-01T00:00:00+00:00')"
            )
    assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == tickets
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1  # enforcement is back on for the connection


def test_a_bulk_load_says_which_long_step_runs(shop, db_path):
    conn = database.connect(db_path)
    stages: list[str] = []
    with importing.import_transaction(conn, bulk=True, stage=stages.append):
        conn.execute(
            "INSERT INTO tickets (customer_id, subject, channel, category, priority, status, created_at, "
            "updated_at) VALUES (1, 'Tulips', 'email', 'other', 'normal', 'open', "
            "'2026-03-01T00:00:00+00:00', '2026-03-01T00:00:00+00:00')"
        )
    assert stages[0].startswith("rebuilding ") and stages[0].endswith(" indexes")
    assert stages[1:] == ["indexing the new rows for search", "checking references", "writing to disk"]


def test_progress_shows_a_stage_on_a_terminal_only():
    import io

    from carecli.cli.progress import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    shown, hidden = Terminal(), io.StringIO()
    for stream in (shown, hidden):
        progress = Progress("importing tickets", None, stream=stream)
        progress.stage("rebuilding 30 indexes")
        progress.done()
    assert shown.getvalue() == "\r\033[Kimporting tickets: rebuilding 30 indexes\r\033[K"
    assert hidden.getvalue() == ""


def test_imported_year_first_dates_are_never_day_first(tmp_path):
    """With `dayfirst = true`, 2026/12/04 is still 4 December (as when users type it); 04/12/2026 is too."""
    from datetime import datetime

    from carecli.core import config

    path = tmp_path / "config.toml"
    path.write_text("dayfirst = true\n")
    values = importing.values.Values(importing.Mapping({}, {}), ["at"], config.load(str(path)), "f.csv")
    assert values.parse_time("2026/12/04 09:00") == datetime(2026, 12, 4, 9, 0)
    assert values.parse_time("04/12/2026 09:00") == datetime(2026, 12, 4, 9, 0)
