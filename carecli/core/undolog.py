"""The undo log's machinery: record what one write command changes, and put it back.

While a step records, TEMP triggers on the write connection copy the before-image of every older
row the command updates or deletes into `undo_rows` (migration m012), inside the command's own
transaction; rows it inserts are found afterwards as the id range above each table's maximum at
the start, so an import of 200,000 rows adds no row to the log for them. The layers above decide
what a step means (records/undo.py); this module only knows tables, ids and rows.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from carecli.core import store

# The tables a command writes, in the order a row's parents come before it. The trail tables
# (APPEND_ONLY) are never deleted from: an undo marks the rows a step appended instead.
TRACKED = (
    "customers",
    "customer_addresses",
    "tickets",
    "followups",
    "interactions",
    "surveys",
    "events",
    "followup_due_changes",
    "mail_messages",
    "attachments",
    "outbox",
    "consent",
    "orders",
    "order_lines",
    "assets",
    "services",
    "trash",
    "trash_rows",
)
APPEND_ONLY = ("events", "followup_due_changes")


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def present(conn: sqlite3.Connection) -> list[str]:
    """The tracked tables this database has (mail_messages came with m009)."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return [table for table in TRACKED if table in names]


def max_id(conn: sqlite3.Connection, table: str) -> int:
    return store.scalar(conn, f"SELECT max(id) FROM {table}") or 0


def _install(conn: sqlite3.Connection, tables: Sequence[str]) -> None:
    """The capturing triggers, once per connection. They fire only while temp.undo_current holds
    the recording step, and only for rows older than the step (newer ones are its id range)."""
    if store.scalar(conn, "SELECT 1 FROM temp.sqlite_master WHERE name = 'undo_current'"):
        return
    conn.execute("CREATE TEMP TABLE undo_current (step INTEGER NOT NULL)")
    conn.execute("CREATE TEMP TABLE undo_marks (tbl TEXT PRIMARY KEY, top INTEGER NOT NULL) WITHOUT ROWID")
    for table in tables:
        image = ", ".join(f"'{name}', old.{name}" for name in columns(conn, table))
        older = f"(SELECT top FROM temp.undo_marks WHERE tbl = '{table}')"
        step = "(SELECT step FROM temp.undo_current)"
        log = "INSERT INTO undo_rows (step_id, tbl, row_id, op, before_json)"
        conn.execute(
            f"CREATE TEMP TRIGGER undo_{table}_update AFTER UPDATE ON main.{table} "
            f"WHEN old.id <= {older} BEGIN {log} SELECT {step}, '{table}', old.id, 'update', "
            f"json_object({image}); END"
        )
        conn.execute(
            f"CREATE TEMP TRIGGER undo_{table}_delete AFTER DELETE ON main.{table} "
            f"WHEN old.id <= {older} BEGIN {log} SELECT {step}, '{table}', old.id, 'delete', "
            f"json_object({image}); END"
        )
        # An older id inserted again (a restore from the trash) is below the range: log it.
        conn.execute(
            f"CREATE TEMP TRIGGER undo_{table}_insert AFTER INSERT ON main.{table} "
            f"WHEN new.id <= {older} BEGIN {log} SELECT {step}, '{table}', new.id, 'insert', NULL; END"
        )


@contextmanager
def recording(conn: sqlite3.Connection, argv: Sequence[str], at: str) -> Iterator[int]:
    """Record the changes made inside the block, which runs in the caller's transaction, as one
    step; yields its id. A step that changed nothing leaves no trace."""
    if not conn.in_transaction:
        raise RuntimeError("recording() runs inside a transaction")
    tables = present(conn)
    _install(conn, tables)
    step = store.insert(conn, "undo_steps", {"at": at, "argv": json.dumps(list(argv))})
    tops = {table: max_id(conn, table) for table in tables}
    conn.executemany("INSERT INTO temp.undo_marks (tbl, top) VALUES (?, ?)", tops.items())
    conn.execute("INSERT INTO temp.undo_current (step) VALUES (?)", (step,))
    try:
        yield step
    finally:
        conn.execute("DELETE FROM temp.undo_current")
        conn.execute("DELETE FROM temp.undo_marks")
    inserted = {}
    for table, top in tops.items():
        last = max_id(conn, table)
        if last > top:
            inserted[table] = [top + 1, last]
    if inserted:
        store.update(conn, "undo_steps", step, {"inserted": json.dumps(inserted)})
    elif store.scalar(conn, "SELECT 1 FROM undo_rows WHERE step_id = ? LIMIT 1", (step,)) is None:
        conn.execute("DELETE FROM undo_steps WHERE id = ?", (step,))


def arm(conn: sqlite3.Connection, argv: Sequence[str], at: str) -> None:
    """Make each later transaction that enters `armed` one step (a command that writes in many
    transactions, such as mail ingest's one per message)."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS undo_armed (argv TEXT NOT NULL, at TEXT NOT NULL)")
    conn.execute("DELETE FROM temp.undo_armed")
    conn.execute("INSERT INTO temp.undo_armed (argv, at) VALUES (?, ?)", (json.dumps(list(argv)), at))


@contextmanager
def armed(conn: sqlite3.Connection) -> Iterator[None]:
    """Inside a transaction: record it as a step when the connection was armed, else nothing."""
    has = store.scalar(conn, "SELECT 1 FROM temp.sqlite_master WHERE name = 'undo_armed'")
    row = store.one(conn, "SELECT argv, at FROM temp.undo_armed") if has else None
    if (
        row is None
        or store.scalar(conn, "SELECT 1 FROM temp.sqlite_master WHERE name = 'undo_current'")
        and (store.scalar(conn, "SELECT 1 FROM temp.undo_current"))
    ):
        yield
        return
    with recording(conn, json.loads(row["argv"]), row["at"]):
        yield


@contextmanager
def unchecked_references(conn: sqlite3.Connection) -> Iterator[None]:
    """Foreign keys off for one transaction (SQLite switches them only outside one): a ticket
    moved to the trash leaves its append-only events behind, pointing at an id kept for it. The
    callers check the references they change themselves (`orphans`)."""
    if conn.in_transaction:
        yield
        return
    enforced = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA foreign_keys = {'ON' if enforced else 'OFF'}")


def references(conn: sqlite3.Connection, parent: str) -> list[tuple[str, str]]:
    """(child table, column) pairs pointing at `parent`, trail tables aside."""
    found = []
    for table in present(conn):
        if table in APPEND_ONLY:
            continue
        for row in conn.execute('SELECT "table", "from" FROM pragma_foreign_key_list(?)', (table,)):
            if row[0] == parent:
                found.append((table, row[1]))
    return found


def orphans(
    conn: sqlite3.Connection, parent: str, lo: int, hi: int, *, own: dict[str, list[int]]
) -> tuple[str, int] | None:
    """A live row (table, id) pointing at a `parent` id in [lo, hi], other than the rows in the
    `own` id ranges (what the same step inserted), or None."""
    for child, column in references(conn, parent):
        mine = own.get(child, [0, -1])
        if child == parent:
            mine = [min(mine[0], lo), max(mine[1], hi)] if child in own else [lo, hi]
        row = store.one(
            conn,
            f"SELECT id FROM {child} WHERE {column} BETWEEN ? AND ? AND id NOT BETWEEN ? AND ? LIMIT 1",
            (lo, hi, *mine),
        )
        if row is not None:
            return child, row[0]
    return None


# Columns derived from the others by a cache the writes keep current (the business durations,
# measure/clocks.py): never put back from an image, which may be of other [business_hours].
# Left out, they are NULL in a row put back, and cleared by their trigger where the times an
# overwrite puts back differ; the write's own before-commit step computes them again.
DERIVED = {"tickets": frozenset({"first_response_bs", "first_resolution_bs", "resolution_bs", "paused_bs"})}


def put_back(conn: sqlite3.Connection, table: str, image: dict[str, Any]) -> None:
    """Insert a whole row as it was (same id), but for its DERIVED columns."""
    derived = DERIVED.get(table, frozenset())
    names = [name for name in columns(conn, table) if name in image and name not in derived]
    # A customer put back gets its first address again from a trigger (m009), under a new id;
    # the address's own row, put back after it, takes its place.
    verb = "INSERT OR REPLACE" if table == "customer_addresses" else "INSERT"
    conn.execute(
        f"{verb} INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        [image[name] for name in names],
    )


def overwrite(conn: sqlite3.Connection, table: str, image: dict[str, Any]) -> None:
    """Give the row with the image's id the image's values. Only the columns that differ are
    set: SQLite rewrites the entries of every index on a column named in SET, and tickets have
    twenty (undoing a customer merge of 1,000 tickets: 2 s -> well under 1 s)."""
    now = store.one(conn, f"SELECT * FROM {table} WHERE id = ?", (image["id"],))
    if now is None:
        put_back(conn, table, image)
        return
    derived = DERIVED.get(table, frozenset())
    names = [
        name
        for name in now.keys()
        if name in image and name != "id" and name not in derived and now[name] != image[name]
    ]
    if names:
        conn.execute(
            f"UPDATE {table} SET {', '.join(f'{name} = ?' for name in names)} WHERE id = ?",
            [*(image[name] for name in names), image["id"]],
        )


def rows(conn: sqlite3.Connection, table: str, column: str, values: Sequence[Any]) -> list[dict]:
    """Whole rows of `table` whose `column` is one of `values`."""
    if not values:
        return []
    return [
        dict(row)
        for row in conn.execute(
            f"SELECT * FROM {table} WHERE {column} IN (SELECT value FROM json_each(?)) ORDER BY id",
            (json.dumps(list(values)),),
        )
    ]


def delete_ids(conn: sqlite3.Connection, table: str, ids: Sequence[int]) -> None:
    conn.execute(f"DELETE FROM {table} WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(list(ids)),))


def void(conn: sqlite3.Connection, table: str, mark: str, where: str, params: Sequence[Any]) -> int:
    """Mark the live rows of a trail table matching `where` as no longer counting."""
    cursor = conn.execute(f"UPDATE {table} SET voided_by = ? WHERE voided_by IS NULL AND ({where})", (mark, *params))
    return cursor.rowcount


def void_in(conn: sqlite3.Connection, table: str, mark: str, column: str, values: Sequence[Any]) -> int:
    return void(conn, table, mark, f"{column} IN (SELECT value FROM json_each(?))", (json.dumps(list(values)),))


def next_id(conn: sqlite3.Connection, table: str) -> int:
    """The id a new row gets: above the live rows, the ones waiting in the trash (which keep
    theirs) and the ones an undo removed (SQLite alone would give a deleted highest id to the
    next row)."""
    live = max_id(conn, table)
    if not store.scalar(conn, "SELECT 1 FROM sqlite_master WHERE name = 'trash_rows'"):
        return live + 1
    held = store.scalar(conn, "SELECT max(row_id) FROM trash_rows WHERE tbl = ?", (table,)) or 0
    retired = store.scalar(conn, "SELECT top FROM undo_retired WHERE tbl = ?", (table,)) or 0
    return max(live, held, retired) + 1


def retire(conn: sqlite3.Connection, table: str, top: int) -> None:
    """Keep ids up to `top` of `table` from being given again (see next_id)."""
    conn.execute(
        "INSERT INTO undo_retired (tbl, top) VALUES (?, ?) ON CONFLICT (tbl) DO UPDATE SET top = max(top, excluded.top)",
        (table, top),
    )
