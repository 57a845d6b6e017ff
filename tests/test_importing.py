"""The bulk-load path of carecli.importing: indexes and search triggers come back, and the index covers new rows."""

from __future__ import annotations

from carecli import importing, searching, store


def _schema(conn):
    return conn.execute("SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY name").fetchall()


def test_bulk_load_restores_indexes_and_triggers_and_indexes_the_new_rows(shop, db_path):
    conn = store.connect(db_path)
    before = _schema(conn)
    with store.transaction(conn):
        with importing.BulkLoad(conn):
            assert not [row for row in _schema(conn) if row[0] == "trigger" and "fts" in row[1]]
            conn.execute("INSERT INTO tickets (customer_id, subject, channel, category, priority, status, created_at, "
                         "updated_at) VALUES (1, 'Orchids arrived frozen', 'email', 'other', 'normal', 'open', "
                         "'2026-03-01T00:00:00+00:00', '2026-03-01T00:00:00+00:00')")
    assert _schema(conn) == before
    assert [hit["ref"] for hit in searching.search(conn, "orchids")] == ["#2"]
    conn.execute("UPDATE tickets SET subject = 'Roses arrived frozen' WHERE id = 2")  # the triggers work again
    assert searching.search(conn, "orchids") == []


def test_bulk_load_is_undone_with_its_transaction(shop, db_path):
    conn = store.connect(db_path)
    before = _schema(conn)
    try:
        with store.transaction(conn):
            with importing.BulkLoad(conn):
                raise RuntimeError("killed")
    except RuntimeError:
        pass
    assert _schema(conn) == before
