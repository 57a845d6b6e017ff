"""The one place that opens SQLite files and runs transactions: WAL, busy timeout, foreign keys, mode 0600,
temporary tables in memory.

Everyday reads and writes use the standard sqlite3 module; sqlite-utils is loaded only when a
migration is due (or by the modules that do bulk work).
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from carecli.core.errors import DamagedDatabase, StoreError, TemporaryStoreError

BUSY_TIMEOUT_S = 5.0
# How long a write waits for another process's write to finish: longer than anything carecli
# itself holds the write lock for (an import of a million tickets takes about 30 s on the
# benchmark machine, README "Measured"), so a reply typed during an import or a migration waits
# and is stored instead of failing. Reads never wait: in WAL mode they do not take the lock.
WRITE_WAIT_S = 600.0
# A write that did not get the lock within this long says what it is waiting for.
NOTICE_AFTER_S = 1.0


class Connection(sqlite3.Connection):
    """A carecli connection: what each write runs just before it commits, how long a write waits
    for the write lock, whom to tell that it waits, and which command it is (for the others)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_commit: list[Callable[[sqlite3.Connection], None]] = []
        self.write_wait_s = WRITE_WAIT_S
        self.on_wait: Callable[[str], None] | None = None
        self.command = "carecli"


MAX_ID = 2**63 - 1  # SQLite's largest integer: a bigger id cannot exist (and cannot even be bound)


def open_connection(path: str | os.PathLike, *, create: bool = False, read_only: bool = False) -> sqlite3.Connection:
    """Open the SQLite file at `path` with a busy timeout and foreign keys, writing nothing to it.
    `read_only` opens it so that SQLite refuses every write (shell completion reads through it).

    A missing (or empty) file is an error unless `create`: then the file and its folder are made,
    private. WAL is not turned on here (`use_wal` does), so that `carecli.schema.database.connect`
    can first check that the file is a carecli database: another program's file is never changed.
    """
    refuse_memory(path)
    given, path = path, Path(path)  # messages quote the path as given
    if path.is_dir():
        raise StoreError(f"{os.fspath(given)} is a directory, not a database file", "pass --db with the database file")
    if create:
        _create_private_file(path)
    elif not path.exists() or path.stat().st_size == 0:
        raise missing_database(given)
    try:
        # mode=rw: SQLite must never create the file itself (a missing one is the check above's,
        # and a file it creates would not be private). isolation_level=None: we issue
        # BEGIN IMMEDIATE / COMMIT ourselves (see `transaction`).
        conn = sqlite3.connect(
            f"{path.absolute().as_uri()}?mode={'ro' if read_only else 'rw'}",
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,
            uri=True,
            factory=Connection,
        )
    except sqlite3.DatabaseError as exc:
        raise store_error(exc, path) from None
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        # Temporary tables and indexes (the business-hours offsets, big sorts) in memory: a read
        # must not need free disk space, nor a writable temp directory.
        conn.execute("PRAGMA temp_store = MEMORY")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise store_error(exc, path) from None
    return conn


def use_wal(conn: sqlite3.Connection) -> None:
    """Turn on WAL (written into the file once; it persists) and synchronous NORMAL."""
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        _switch_to_wal(conn)
    conn.execute("PRAGMA synchronous = NORMAL")


def refuse_memory(path: str | os.PathLike) -> None:
    """`:memory:` would be a database that vanishes when the command ends: everything "added" lost."""
    if os.fspath(path) == ":memory:":
        raise StoreError(
            "--db :memory: would keep nothing: an in-memory database is gone when the command ends",
            "pass --db (or CARECLI_DB) the path of a database file",
        )


def missing_database(path: str | os.PathLike) -> StoreError:
    return StoreError(
        f"no carecli database at {path}",
        f"check the path, or create one with carecli init --db {shlex.quote(os.fspath(path))}",
    )


def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """Turn on WAL (once per database file; it persists).

    SQLite answers "database is locked" at once, without its busy handler, when another process
    has the new file open at the same moment, so wait here as the busy timeout would.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


def _create_private_file(path: Path) -> None:
    """Create the file readable by its owner only, before SQLite creates it with the umask."""
    if path.exists():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass  # another process created it between our check and open
    except OSError as exc:
        raise StoreError(
            f"cannot create database {path}: {exc.strerror}", "check the directory exists and is writable, or pass --db"
        ) from None


def store_error(exc: sqlite3.Error, path: str | os.PathLike) -> StoreError:
    text = str(exc)
    if "not a database" in text:
        return StoreError(f"{path} is not a carecli database ({text})", "pass --db with the right file")
    if "malformed" in text:  # an SQLite file, damaged: another --db would not help
        return DamagedDatabase(
            f"database {path} is damaged ({text})",
            "`carecli db check` lists the problems; restore a backup (carecli db backup makes them)",
        )
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return StoreError(f"cannot write to database {path} ({text})", _read_only_hint(Path(path)))
    if "locked" in text or "busy" in text:
        return TemporaryStoreError(
            f"database {path} stayed locked for {BUSY_TIMEOUT_S:.0f}s ({text})",
            "try again when the other carecli command is done",
        )
    if "disk" in text and "full" in text:
        return TemporaryStoreError(f"the disk holding {path} is full", "free some space and try again")
    return StoreError(f"database error in {path}: {text}")


def _read_only_hint(path: Path) -> str:
    """What to make writable. A read of a read-only database leaves its -wal and -shm files
    read-only too (SQLite gives them the database's mode), and they block writes after the
    database itself is writable again: then they, not the database, are what to fix."""
    if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
        stuck = [
            side
            for side in (Path(f"{path}-wal"), Path(f"{path}-shm"))
            if side.exists() and not os.access(side, os.W_OK)
        ]
        if stuck:
            names = " ".join(shlex.quote(os.fspath(side)) for side in stuck)
            return (
                f"{' and '.join(side.name for side in stuck)} beside it {'are' if len(stuck) > 1 else 'is'} read-only "
                f"(left by a read while the database was): make {'them' if len(stuck) > 1 else 'it'} writable "
                f"with chmod u+w {names} (or delete {'them' if len(stuck) > 1 else 'it'} while no carecli runs)"
            )
    # Even a read needs this: in WAL mode SQLite keeps -wal and -shm files beside the database.
    return "carecli needs write access to the file and its directory, even to read"


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write = one transaction, taking the write lock up front (BEGIN IMMEDIATE), waiting for
    another process's write as long as `Connection.write_wait_s`. The connection's `before_commit`
    steps run inside it, so what they keep current (the business-time cache) commits with the write."""
    if conn.in_transaction:  # nested use joins the outer transaction
        yield conn
        return
    _begin(conn)
    note = _announce(conn)
    try:
        yield conn
        for step in getattr(conn, "before_commit", ()):
            step(conn)
    except BaseException:
        if conn.in_transaction:  # an error may already have ended it
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")
    finally:
        _withdraw(note)


def _locked(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def _begin(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE: at once when no one else writes; else, after NOTICE_AFTER_S, say what we
    wait for (`on_wait`) and wait up to `write_wait_s` in all; then a TemporaryStoreError."""
    wait = getattr(conn, "write_wait_s", BUSY_TIMEOUT_S)
    first = min(NOTICE_AFTER_S, wait)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(first * 1000)}")
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _locked(exc):
                raise
        holder = _holder(conn)
        if wait > first:
            tell = getattr(conn, "on_wait", None)
            if tell is not None:
                tell(f"waiting for {holder} to finish writing (up to {_minutes(wait)})...")
            conn.execute(f"PRAGMA busy_timeout = {int((wait - first) * 1000)}")
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _locked(exc):
                    raise
        raise TemporaryStoreError(
            f"database {file_of(conn)} stayed locked for {_minutes(wait)}: {holder} kept writing",
            "try again when the other command is done",
        )
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f}s"


# ---------------------------------------------------------------- who holds the write lock
# While a carecli write holds the lock, a small note beside the database names its command and
# process, so a write that has to wait can say what for ("waiting for `carecli import tickets
# big.csv` (process 4242) to finish writing"). Best effort: a note that cannot be written, or one
# left by a killed process (its pid is gone), only makes the message vaguer.


def writer_note_path(db_file: str | os.PathLike) -> Path:
    path = Path(db_file)
    return path.with_name(f".{path.name}.carecli-writer")


def _announce(conn: sqlite3.Connection) -> Path | None:
    if not isinstance(conn, Connection):
        return None
    try:
        db_file = file_of(conn)
        if db_file is None:
            return None
        note = writer_note_path(db_file)
        fd = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)  # never through a planted link
        with os.fdopen(fd, "w") as out:
            json.dump({"pid": os.getpid(), "command": conn.command}, out)
        return note
    except (OSError, sqlite3.Error):
        return None


def _withdraw(note: Path | None) -> None:
    if note is not None:
        try:
            note.unlink()
        except OSError:
            pass


def _holder(conn: sqlite3.Connection) -> str:
    """What holds the write lock, as the note beside the database says."""
    try:
        db_file = file_of(conn)
        if db_file is None:
            return "another program"
        held = json.loads(writer_note_path(db_file).read_text())
        pid = int(held["pid"])
        os.kill(pid, 0)  # the process is still there
        return f"`{held['command']}` (process {pid})"
    except (OSError, ValueError, KeyError, TypeError, sqlite3.Error):
        return "another program"


def containing(text: str) -> str:
    """A LIKE pattern matching values that contain `text` literally: its `%` and `_` are escaped,
    so write the condition as `column LIKE ? ESCAPE '\\'`."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def one(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
    return conn.execute(sql, params).fetchone()


def the_row(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row:
    """The row a query must find (one just written, say); a missing one is a bug, not bad input."""
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise LookupError(f"expected a row from: {sql}")
    return row


def scalar(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> Any:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def insert(conn: sqlite3.Connection, table: str, values: dict[str, Any]) -> int:
    """Insert one row from a dict and return its id."""
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    cursor = conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(values.values()))
    assert cursor.lastrowid is not None  # an INSERT into a rowid table always sets it
    return cursor.lastrowid


def update(conn: sqlite3.Connection, table: str, row_id: int, values: dict[str, Any]) -> None:
    assignments = ", ".join(f"{name} = ?" for name in values)
    conn.execute(f"UPDATE {table} SET {assignments} WHERE id = ?", (*values.values(), row_id))


def insert_many(conn: sqlite3.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert rows (in `columns` order) with one executemany: the batched writers' one statement."""
    cursor = conn.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows
    )
    return cursor.rowcount


def file_of(conn: sqlite3.Connection) -> Path | None:
    """The file of the connection's main database (None in memory): for the folders kept beside it."""
    row = conn.execute("PRAGMA database_list").fetchone()
    return Path(row[2]) if row is not None and row[2] else None
