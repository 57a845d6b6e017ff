"""Bulk loads: the import's one transaction, with indexes and search triggers set aside and rebuilt."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager, nullcontext
from typing import Callable, Iterator, Sequence

from carecli.core.errors import StoreError

# ---------------------------------------------------------------- bulk loads

BULK_TABLES = ("customers", "tickets", "interactions", "events", "surveys")
# What an import of each entity loads, when it is not BULK_TABLES. Only these tables' indexes are
# set aside: an import of orders into a database of 1M tickets rebuilt every ticket index (333 s).
ENTITY_TABLES = {"orders": ("orders", "order_lines")}
# The search index of each table the FTS triggers keep, and the columns it indexes.
SEARCH_INDEXES = {
    "tickets": ("tickets_fts", "subject"),
    "interactions": ("interactions_fts", "body"),
    "customers": ("customers_fts", "name, notes"),
}


class BulkLoad:
    """Inside the import's transaction: set aside secondary indexes and FTS triggers, load, then
    rebuild them from their own stored SQL, sorting on several threads. Measured: far faster for
    loads larger than the tables (1M tickets: see README). DDL is transactional in SQLite, so a
    crash undoes this too. Run it through `import_transaction`, which also moves the foreign key
    checks to the end.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        stage: Callable[[str], None] | None = None,
        tables: Sequence[str] = BULK_TABLES,
    ):
        self.conn, self.tables = conn, tuple(tables)
        self.stage = stage or (lambda text: None)  # says which long step runs (a progress line)
        marks = ", ".join("?" * len(self.tables))
        # Unique indexes stay: duplicate detection and ON CONFLICT need them.
        self.indexes = [
            (name, sql)
            for name, sql in conn.execute(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
                self.tables,
            ).fetchall()
            if not self._unique(name)
        ]
        self.triggers = conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%fts%' AND tbl_name IN ({marks})",
            self.tables,
        ).fetchall()
        self.first_ids = {
            table: (conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0) + 1 for table in self.tables
        }
        self.threads = conn.execute("PRAGMA threads").fetchone()[0]

    def __enter__(self) -> BulkLoad:
        for name, _ in self.indexes:
            self.conn.execute(f'DROP INDEX "{name}"')
        for name, _ in self.triggers:
            self.conn.execute(f'DROP TRIGGER "{name}"')
        return self

    def _unique(self, name: str) -> bool:
        return bool(
            self.conn.execute(
                'SELECT "unique" FROM pragma_index_list((SELECT tbl_name FROM sqlite_master '
                "WHERE name = ?)) WHERE name = ?",
                (name, name),
            ).fetchone()[0]
        )

    def __exit__(self, kind, exc, tb) -> None:
        if kind is not None:
            return  # the transaction rolls back, and the dropped objects come back with it
        conn = self.conn
        steps = getattr(conn, "before_commit", ())
        if steps:
            # What runs before the commit anyway (the business-time cache of the new tickets),
            # run now, while the indexes it would update row by row are set aside.
            self.stage("computing business times")
            for step in steps:
                step(conn)
        self.stage(f"rebuilding {len(self.indexes)} indexes")
        conn.execute("PRAGMA threads = 4")  # helper threads for the index sorts: 11 s -> 8 s of 1M tickets
        try:
            for _, sql in self.indexes:
                conn.execute(sql)
        finally:
            conn.execute(f"PRAGMA threads = {int(self.threads)}")
        if self.triggers:
            self.stage("indexing the new rows for search")
            for table in self.tables:
                if table in SEARCH_INDEXES:
                    index, indexed = SEARCH_INDEXES[table]
                    conn.execute(
                        f"INSERT INTO {index} (rowid, {indexed}) SELECT id, {indexed} FROM {table} WHERE id >= ?",
                        (self.first_ids[table],),
                    )
            for _, sql in self.triggers:
                conn.execute(sql)
        self.check_references()

    def check_references(self) -> None:
        """The foreign key checks SQLite skipped during the load, once over the new rows: each
        reference must name an existing row (NULL references none). The parent keys are read into
        a list first (`+key`), so this is a scan, not a random lookup per row."""
        conn = self.conn
        self.stage("checking references")
        for table in self.tables:
            for parent, column, key in conn.execute(
                'SELECT "table", "from", coalesce("to", \'id\') FROM pragma_foreign_key_list(?)', (table,)
            ).fetchall():
                orphans = conn.execute(
                    f"SELECT count(*) FROM {table} WHERE id >= ? AND {column} IS NOT NULL AND {column} NOT IN (SELECT +{key} FROM {parent})",
                    (self.first_ids[table],),
                ).fetchone()[0]
                if orphans:
                    raise StoreError(
                        f"the import would leave {orphans} {table} row(s) pointing at missing {parent}; "
                        "nothing imported",
                        "please report this as a bug",
                    )


@contextmanager
def import_transaction(
    conn: sqlite3.Connection,
    *,
    bulk: bool,
    stage: Callable[[str], None] | None = None,
    step: tuple[Sequence[str], str] | None = None,
    tables: Sequence[str] = BULK_TABLES,
) -> Iterator[None]:
    """The import's one transaction. A bulk load (see `worth_bulk_loading`) also runs in a
    BulkLoad, with SQLite's row-by-row foreign key checks off: they are a random read of the
    customers table per row (6 s of 1M tickets), and BulkLoad checks the new rows at the end
    instead. SQLite can switch the checks only outside a transaction, hence this wrapper.
    `stage` hears of the long steps after the rows (seconds each on a million). With `step`
    (command line, stored time) the import is one step of the undo log. `tables`: what the load
    writes (`bulk_tables`)."""
    from carecli.core import store, undolog

    recording = undolog.recording(conn, *step) if step else nullcontext()
    if not bulk:
        with store.transaction(conn), recording:
            yield
        return
    enforced = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        with store.transaction(conn), recording:
            with BulkLoad(conn, stage, tables):
                yield
            if stage:
                stage("writing to disk")
    finally:
        conn.execute(f"PRAGMA foreign_keys = {'ON' if enforced else 'OFF'}")


def bulk_tables(entity: str) -> tuple[str, ...]:
    """The tables whose indexes a bulk load of `entity` sets aside and whose new rows it checks."""
    return ENTITY_TABLES.get(entity, BULK_TABLES)


def worth_bulk_loading(conn: sqlite3.Connection, entity: str, input_bytes: int | None) -> bool:
    """Rebuilding indexes pays off when the file holds more rows than the table (~100 bytes a row)."""
    if not input_bytes or input_bytes < 5_000_000:
        return False
    existing = conn.execute(f"SELECT coalesce(max(id), 0) FROM {entity}").fetchone()[0]
    return input_bytes // 100 > existing


# ---------------------------------------------------------------- the import
