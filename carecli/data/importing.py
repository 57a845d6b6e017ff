"""Imports from spreadsheets and other helpdesks: CSV or JSONL rows mapped onto carecli's fields.

A mapping (TOML, see docs/import-mapping.md) names the source column of each field and translates
source values (`"Solved" = "closed"`). Rows stream through in batches of tuples into `executemany`,
all inside the caller's one transaction: either every row lands or none does. A big CSV file of
tickets is read and checked by a second process while this one writes (`parse_aside`). Imported
tickets get the same stored fields and events the domain writes, so every KPI works on them.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import sqlite3
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from carecli.core.config import Settings
from carecli.core.errors import InvalidInput, StoreError
from carecli.text.when import to_db

ENTITIES = ("customers", "tickets", "interactions")
ON_DUPLICATE = ("skip", "update", "error")
PRESET_DIR = Path(__file__).with_name("presets")
BATCH = 5000
CUSTOMER_CACHE = 200_000  # customers remembered by e-mail during an import (bounds memory)
EXTRA = "\0extra"  # marks a CSV record with more fields than the header

FIELDS: dict[str, tuple[str, ...]] = {
    "customers": ("external_id", "name", "email", "phone", "tags", "notes", "created_at", "lost_at", "lost_reason"),
    "tickets": (
        "external_id",
        "customer_name",
        "customer_email",
        "subject",
        "channel",
        "category",
        "priority",
        "status",
        "tags",
        "created_at",
        "first_response_at",
        "first_response_minutes",
        "first_closed_at",
        "closed_at",
        "resolution_minutes",
        "updated_at",
        "replies",
        "reopens",
        "csat",
        "ces",
        "resolution",
        "message",
    ),
    "interactions": (
        "customer_name",
        "customer_email",
        "ticket_external_id",
        "ticket_id",
        "direction",
        "channel",
        "body",
        "at",
    ),
}
SCORE_RANGES = {"csat": (1, 5), "ces": (1, 7)}
RESPONSE_AFTER_CLOSE = "first response stamped after the close (imported as it is)"
BEFORE_OPENED = "a time before the ticket was opened (imported as it is; durations negative)"
csv.field_size_limit(16 * 1024 * 1024)  # long descriptions are real


class RowError(Exception):
    def __init__(self, field_name: str, value: Any, reason: str):
        super().__init__(reason)
        self.field, self.value, self.reason = field_name, value, reason


# ---------------------------------------------------------------- the mapping


@dataclass
class Mapping:
    columns: dict[str, list[str]]  # field -> source headers, first non-empty wins
    values: dict[str, dict[str, str]]  # field -> lower-cased source value -> ours
    timezone: str | None = None
    time_format: str | None = None
    source: str = ""


def preset_names(entity: str | None = None) -> list[str]:
    names = sorted(
        {
            p.name.split(".")[0]
            for p in PRESET_DIR.glob("*.toml")
            if entity is None or p.name.endswith(f".{entity}.toml")
        }
    )
    return names


def load_mapping(entity: str, *, path: str | None = None, preset: str | None = None) -> Mapping:
    """The preset (if any) with the mapping file laid over it, checked against the entity's fields."""
    if entity not in ENTITIES:
        raise InvalidInput(f"cannot import '{entity}'", f"import one of: {', '.join(ENTITIES)}")
    if path is None and preset is None:
        raise InvalidInput(
            "no mapping given",
            f"pass --map MAPPING.toml (see docs/import-mapping.md) or --preset ({', '.join(preset_names(entity))})",
        )
    merged: dict = {}
    sources = []
    if preset is not None:
        preset_file = PRESET_DIR / f"{preset}.{entity}.toml"
        if not preset_file.exists():
            raise InvalidInput(
                f"no preset '{preset}' for {entity}",
                f"presets for {entity}: {', '.join(preset_names(entity)) or 'none'}",
            )
        merged = _read_toml(preset_file)
        sources.append(f"preset {preset}")
    if path is not None:
        _merge(merged, _read_toml(Path(path)))
        sources.append(str(path))
    return _check_mapping(entity, merged, " + ".join(sources))


def _read_toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"mapping file {path} does not exist", "see docs/import-mapping.md for an example") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read mapping file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"invalid TOML in mapping file {path}: {exc}") from None


def _merge(base: dict, over: dict) -> None:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _check_mapping(entity: str, data: dict, source: str) -> Mapping:
    known = FIELDS[entity]
    unknown_sections = set(data) - {"columns", "values", "time"}
    if unknown_sections:
        raise InvalidInput(
            f"{source}: unknown section [{sorted(unknown_sections)[0]}]", "use [columns], [values.FIELD] and [time]"
        )
    columns: dict[str, list[str]] = {}
    for name, headers in (data.get("columns") or {}).items():
        if name not in known:
            raise InvalidInput(
                f"{source}: [columns] has unknown field '{name}'", f"{entity} fields: {', '.join(known)}"
            )
        headers = [headers] if isinstance(headers, str) else headers
        if not isinstance(headers, list) or not headers or not all(isinstance(h, str) and h for h in headers):
            raise InvalidInput(f"{source}: [columns] {name} must be a column name or a list of them")
        columns[name] = headers
    values: dict[str, dict[str, str]] = {}
    for name, table in (data.get("values") or {}).items():
        if name not in known or not isinstance(table, dict):
            raise InvalidInput(
                f"{source}: [values.{name}] does not name a {entity} field", f"fields: {', '.join(known)}"
            )
        values[name] = {str(k).strip().lower(): str(v) for k, v in table.items()}
    time_section = data.get("time") or {}
    unknown_time = set(time_section) - {"timezone", "format"}
    if unknown_time:
        raise InvalidInput(f"{source}: unknown key '{sorted(unknown_time)[0]}' in [time]", "use timezone and format")
    return Mapping(columns, values, time_section.get("timezone"), time_section.get("format"), source)


# ---------------------------------------------------------------- reading the file


class SourceRow:
    """One record: the line it starts on and its cells in header order (a JSON Lines row keeps its object)."""

    __slots__ = ("line", "record", "header", "extra", "obj")

    def __init__(self, line: int, record: list[str] | None, header: list[str], extra: int = 0, obj: dict | None = None):
        self.line, self.record, self.header, self.extra, self.obj = line, record, header, extra, obj

    @property
    def values(self) -> dict[str, str]:
        if self.obj is not None:
            return self.obj
        return dict(zip(self.header, self.record))


def read_rows(stream: io.TextIOBase, input_format: str) -> tuple[list[str], Iterator[SourceRow]]:
    """The header and a stream of rows, each with the line it starts on."""
    if input_format == "jsonl":
        return _jsonl_rows(stream)
    reader = csv.reader(stream)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InvalidInput("the file is empty", "a CSV import needs a header row") from None
    except csv.Error as exc:
        raise InvalidInput(f"line 1: {exc}") from None
    except UnicodeDecodeError:
        raise _not_utf8(1) from None

    def rows() -> Iterator[SourceRow]:
        start = reader.line_num + 1
        width = len(header)
        padding = [""] * width
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InvalidInput(f"line {start}: unreadable CSV ({exc})", "check the quoting on that line") from None
            except UnicodeDecodeError:
                raise _not_utf8(start) from None
            if record:
                size = len(record)
                if size == width:
                    yield SourceRow(start, record, header)
                elif size < width:  # short rows: the missing cells are empty
                    record += padding[size:]
                    yield SourceRow(start, record, header)
                else:
                    extra = size - width if any(record[width:]) else 0
                    yield SourceRow(start, record[:width], header, extra)
            start = reader.line_num + 1

    return header, rows()


def _not_utf8(line: int) -> InvalidInput:
    # Text is decoded a block at a time, ahead of the CSV reader: the bad byte is on this line or a
    # few after it.
    return InvalidInput(f"line {line} or soon after: not UTF-8 text", "save the file as UTF-8 and import it again")


def _numbered_lines(stream) -> Iterator[tuple[int, str]]:
    number = 0
    try:
        for number, text in enumerate(stream, 1):
            yield number, text
    except UnicodeDecodeError:
        raise _not_utf8(number + 1) from None


def _jsonl_rows(stream) -> tuple[list[str], Iterator[SourceRow]]:
    lines = _numbered_lines(stream)
    first = None
    for number, text in lines:
        if text.strip():
            first = (number, text)
            break
    if first is None:
        raise InvalidInput("the file is empty")

    def parse(number: int, text: str) -> SourceRow:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"line {number}: not JSON ({exc.msg})", "each line must be one JSON object") from None
        if not isinstance(obj, dict):
            raise InvalidInput(f"line {number}: not a JSON object")
        values = {
            k: "" if v is None else (json.dumps(v) if isinstance(v, (list, dict)) else str(v)) for k, v in obj.items()
        }
        return SourceRow(number, None, [], obj=values)  # cells are laid out by the importer's header

    head = parse(*first)

    def rows() -> Iterator[SourceRow]:
        yield head
        for number, text in lines:
            if text.strip():
                yield parse(number, text)

    return list(head.values), rows()


# ---------------------------------------------------------------- value parsing

# Formats tried, once, on a time only dateutil could read; one that reads it the same way is then used
# first for the rest of the file (dateutil costs ~50 µs a value, strptime a tenth of that).
LEARNABLE_FORMATS = (
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d %b %Y %H:%M",
    "%d %b %Y",
    "%b %d, %Y %I:%M %p",
    "%b %d, %Y",
    "%a, %d %b %Y %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S %Z",
)
_CACHE_LIMIT = 1000


def _none(record: list[str]) -> None:
    return None


class Values:
    """Turns source records into typed field values, through the mapping.

    Each field gets a getter compiled once per import (cell positions, value table, parsers and small
    caches bound in a closure), so the per-row work is a few list lookups and C-level parsing.
    `text(name)` and friends read the current `record` for the less hot paths.
    """

    def __init__(self, mapping: Mapping, header: list[str] | None, settings: Settings, file_label: str):
        from carecli.text.when import get_zone

        self.mapping, self.settings = mapping, settings
        if header is None:  # JSON Lines: each object may leave out keys
            header = list(dict.fromkeys(h for headers in mapping.columns.values() for h in headers))
        for name, headers in mapping.columns.items():
            if all(h not in header for h in headers):
                raise InvalidInput(
                    f"{file_label}: column '{headers[0]}' (mapped to {name}) is not in the header",
                    f"the file's columns are: {', '.join(header)}",
                )
        self.header = header
        position = {h: i for i, h in enumerate(header)}  # a repeated header: the last one wins
        self.columns = {name: [h for h in headers if h in position] for name, headers in mapping.columns.items()}
        self.positions = {name: tuple(position[h] for h in headers) for name, headers in self.columns.items()}
        self.zone = get_zone(mapping.timezone) if mapping.timezone else settings.tz
        self.learned_format: str | None = None
        self.record: list[str] = []
        self._getters: dict[str, Callable[[list[str]], str | None]] = {}

    def has(self, name: str) -> bool:
        return name in self.columns

    def header_of(self, name: str) -> str:
        headers = self.columns.get(name) or self.mapping.columns.get(name) or [name]
        return headers[0]

    def error(self, name: str, reason: str) -> RowError:
        return RowError(self.header_of(name), self.raw(name), reason)

    def raw(self, name: str) -> str:
        for i in self.positions.get(name, ()):
            if self.record[i].strip():
                return self.record[i]
        return ""

    # -------------------------------------------------------- compiled getters (record -> value)

    def getter(self, name: str) -> Callable[[list[str]], str | None]:
        """The field's text: first non-empty mapped cell, stripped, translated by [values.NAME]; None if empty."""
        get = self._getters.get(name)
        if get is None:
            get = self._getters[name] = self._compile_text(name)
        return get

    def _compile_text(self, name: str) -> Callable[[list[str]], str | None]:
        positions = self.positions.get(name, ())
        table = self.mapping.values.get(name)
        if not positions:
            return _none
        if len(positions) == 1 and not table:
            (i,) = positions

            def single(record: list[str]) -> str | None:
                return record[i].strip() or None

            return single
        table = table or {}

        def first(record: list[str]) -> str | None:
            for i in positions:
                value = record[i].strip()
                if value:
                    translated = table.get(value.lower())
                    if translated is not None:
                        return translated or None
                    return value
            return None

        return first

    def choice_getter(self, name: str, list_key: str, default_key: str) -> Callable[[list[str]], str]:
        get, allowed, default = self.getter(name), self.settings[list_key], self.settings[default_key]
        cache: dict[str, str] = {}

        def choice(record: list[str]) -> str:
            value = get(record)
            if value is None:
                return default
            known = cache.get(value)
            if known is None:
                known = value.lower()
                if known not in allowed:
                    raise self.error(
                        name, f"unknown {name}; map it in [values.{name}] or use one of: {', '.join(allowed)}"
                    )
                if len(cache) < _CACHE_LIMIT:
                    cache[value] = known
            return known

        return choice

    def integer_getter(
        self, name: str, low: int | None = None, high: int | None = None
    ) -> Callable[[list[str]], int | None]:
        get = self.getter(name)
        cache: dict[str, int] = {}

        def integer(record: list[str]) -> int | None:
            value = get(record)
            if value is None:
                return None
            number = cache.get(value)
            if number is None:
                try:
                    number = float(value)  # real exports write scores as 3.0
                    if number != int(number):
                        raise ValueError
                    number = int(number)
                except (ValueError, OverflowError):
                    raise self.error(name, "not a whole number") from None
                if (low is not None and number < low) or (high is not None and number > high):
                    raise self.error(name, f"out of range {low}..{high}")
                if len(cache) < _CACHE_LIMIT:
                    cache[value] = number
            return number

        return integer

    def minutes_getter(self, name: str) -> Callable[[list[str]], timedelta | None]:
        get = self.getter(name)

        def minutes(record: list[str]) -> timedelta | None:
            value = get(record)
            if value is None:
                return None
            try:
                return timedelta(minutes=float(value))
            except (ValueError, OverflowError):
                raise self.error(name, "not a number of minutes") from None

        return minutes

    def time_getter(self, name: str) -> Callable[[list[str]], tuple[datetime, str] | None]:
        """The field's time as (UTC datetime, stored text); text already in stored form is kept as it is."""
        get = self.getter(name)
        if get is _none:
            return _none
        parse, zone, utc = self.parse_time, self.zone, timezone.utc
        hint = (
            f"expected format {self.mapping.time_format}"
            if self.mapping.time_format
            else "write it like 2026-03-14 09:30 or set [time] format in the mapping"
        )

        def time(record: list[str]) -> tuple[datetime, str] | None:
            value = get(record)
            if value is None:
                return None
            try:
                moment = parse(value)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=zone)
                elif moment.microsecond == 0 and len(value) == 25 and value[10] == "T" and value[19:] == "+00:00":
                    return moment, value  # already how we store it
                moment = moment.astimezone(utc).replace(microsecond=0)
            except (ValueError, OverflowError):
                raise self.error(name, f"not a time ({hint})") from None
            return moment, moment.isoformat()

        return time

    def parse_time(self, value: str) -> datetime:
        """ISO text through the C parser, else the mapping's format, else a format learned from dateutil."""
        if self.mapping.time_format:
            return datetime.strptime(value, self.mapping.time_format)
        try:
            return datetime.fromisoformat(value[:-1] + "+00:00" if value[-1] in "Zz" else value)
        except ValueError:
            pass
        if self.learned_format:
            try:
                return datetime.strptime(value, self.learned_format)
            except ValueError:
                pass
        from dateutil import parser

        moment = parser.parse(value, dayfirst=self.settings["dayfirst"])
        if self.learned_format is None:
            self.learned_format = ""  # learn once
            for candidate in LEARNABLE_FORMATS:
                try:
                    if datetime.strptime(value, candidate) == moment:
                        self.learned_format = candidate
                        break
                except ValueError:
                    continue
        return moment

    # -------------------------------------------------------- the current record (less hot paths)

    def text(self, name: str) -> str | None:
        return self.getter(name)(self.record)

    def choice(self, name: str, list_key: str, default_key: str) -> str:
        return self.choice_getter(name, list_key, default_key)(self.record)

    def integer(self, name: str, low: int | None = None, high: int | None = None) -> int | None:
        return self.integer_getter(name, low, high)(self.record)

    def minutes(self, name: str) -> timedelta | None:
        return self.minutes_getter(name)(self.record)

    def time(self, name: str) -> datetime | None:
        moment = self.time_getter(name)(self.record)
        return None if moment is None else moment[0]


def _db(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _tags(text: str | None) -> str:
    from carecli.records.customers import normalize_tags

    if not text:
        return ""
    return normalize_tags(t for t in text.replace(",", " ").split() if t)


# ---------------------------------------------------------------- bulk loads

BULK_TABLES = ("customers", "tickets", "interactions", "events", "surveys")


class BulkLoad:
    """Inside the import's transaction: set aside secondary indexes and FTS triggers, load, then
    rebuild them from their own stored SQL, sorting on several threads. Measured: far faster for
    loads larger than the tables (1M tickets: see README). DDL is transactional in SQLite, so a
    crash undoes this too. Run it through `import_transaction`, which also moves the foreign key
    checks to the end.
    """

    def __init__(self, conn: sqlite3.Connection, stage: Callable[[str], None] | None = None):
        self.conn = conn
        self.stage = stage or (lambda text: None)  # says which long step runs (a progress line)
        marks = ", ".join("?" * len(BULK_TABLES))
        # Unique indexes stay: duplicate detection and ON CONFLICT need them.
        self.indexes = [
            (name, sql)
            for name, sql in conn.execute(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
                BULK_TABLES,
            ).fetchall()
            if not self._unique(name)
        ]
        self.triggers = conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%fts%' AND tbl_name IN ({marks})",
            BULK_TABLES,
        ).fetchall()
        self.first_ids = {
            table: (conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0) + 1 for table in BULK_TABLES
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
        self.stage(f"rebuilding {len(self.indexes)} indexes")
        conn.execute("PRAGMA threads = 4")  # helper threads for the index sorts: 11 s -> 8 s of 1M tickets
        try:
            for _, sql in self.indexes:
                conn.execute(sql)
        finally:
            conn.execute(f"PRAGMA threads = {int(self.threads)}")
        if self.triggers:
            self.stage("indexing the new rows for search")
            conn.execute(
                "INSERT INTO tickets_fts (rowid, subject) SELECT id, subject FROM tickets WHERE id >= ?",
                (self.first_ids["tickets"],),
            )
            conn.execute(
                "INSERT INTO interactions_fts (rowid, body) SELECT id, body FROM interactions WHERE id >= ?",
                (self.first_ids["interactions"],),
            )
            conn.execute(
                "INSERT INTO customers_fts (rowid, name, notes) SELECT id, name, notes FROM customers WHERE id >= ?",
                (self.first_ids["customers"],),
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
        for table in BULK_TABLES:
            for parent, column, key in conn.execute(
                'SELECT "table", "from", coalesce("to", \'id\') FROM pragma_foreign_key_list(?)', (table,)
            ).fetchall():
                orphans = conn.execute(
                    f"SELECT count(*) FROM {table} WHERE id >= ? AND {column} NOT IN (SELECT +{key} FROM {parent})",
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
    conn: sqlite3.Connection, *, bulk: bool, stage: Callable[[str], None] | None = None
) -> Iterator[None]:
    """The import's one transaction. A bulk load (see `worth_bulk_loading`) also runs in a
    BulkLoad, with SQLite's row-by-row foreign key checks off: they are a random read of the
    customers table per row (6 s of 1M tickets), and BulkLoad checks the new rows at the end
    instead. SQLite can switch the checks only outside a transaction, hence this wrapper.
    `stage` hears of the long steps after the rows (seconds each on a million)."""
    from carecli.core import store

    if not bulk:
        with store.transaction(conn):
            yield
        return
    enforced = conn.execute("PRAGMA foreign_keys").fetchone()[0]
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        with store.transaction(conn):
            with BulkLoad(conn, stage):
                yield
            if stage:
                stage("writing to disk")
    finally:
        conn.execute(f"PRAGMA foreign_keys = {'ON' if enforced else 'OFF'}")


def worth_bulk_loading(conn: sqlite3.Connection, entity: str, input_bytes: int | None) -> bool:
    """Rebuilding indexes pays off when the file holds more rows than the table (~100 bytes a row)."""
    if not input_bytes or input_bytes < 5_000_000:
        return False
    existing = conn.execute(f"SELECT coalesce(max(id), 0) FROM {entity}").fetchone()[0]
    return input_bytes // 100 > existing


# ---------------------------------------------------------------- the import


@dataclass
class Report:
    entity: str
    created: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    customers_created: int = 0
    warnings: dict[str, int] = field(default_factory=dict)
    rejects: list[tuple[SourceRow, RowError]] = field(default_factory=list)

    def warn(self, text: str) -> None:
        self.warnings[text] = self.warnings.get(text, 0) + 1

    def as_record(self) -> dict:
        return {
            "entity": self.entity,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "customers_created": self.customers_created,
            "warnings": [{"warning": k, "rows": v} for k, v in self.warnings.items()],
        }


class Importer:
    def __init__(
        self,
        conn: sqlite3.Connection,
        settings: Settings,
        entity: str,
        mapping: Mapping,
        header: list[str] | None,
        *,
        on_duplicate: str,
        now: datetime,
        file_label: str,
        progress: Callable[[int], None] | None = None,
    ):
        if on_duplicate not in ON_DUPLICATE:
            raise InvalidInput(f"--on-duplicate must be one of {', '.join(ON_DUPLICATE)}")
        self.conn, self.settings, self.entity = conn, settings, entity
        self.on_duplicate, self.now, self.file_label = on_duplicate, now, file_label
        self.stamp = to_db(now)  # when this import happened, as stored
        self.v = Values(mapping, header, settings, file_label)
        self.report = Report(entity)
        self.progress = progress or (lambda n: None)
        self._customers: dict[str, int] = {}
        self._customer_names: dict[int, str] = {}
        self._emails: dict[str, str] = {}
        self._new_customers: list[tuple] = []
        self._next_customer_id: int | None = None
        self._check_required()

    def _check_required(self) -> None:
        need = {
            "customers": [("name", "email")],
            "tickets": [("subject",), ("created_at",), ("customer_email", "customer_name")],
            "interactions": [
                ("body",),
                ("at",),
                ("customer_email", "customer_name", "ticket_id", "ticket_external_id"),
            ],
        }
        for options in need[self.entity]:
            if not any(self.v.has(o) for o in options):
                raise InvalidInput(
                    f"the mapping has no column for {' or '.join(options)}",
                    f'add it to [columns], e.g. {options[0]} = "Column header"',
                )

    # -------------------------------------------------------- driving

    def run(self, rows: Iterable[SourceRow], *, path: str | None = None) -> Report:
        """Import the rows; given the CSV file's `path` too (see `parse_aside`), a second process
        reads and checks them while this one writes."""
        # The rows are millions of short-lived tuples that form no cycles: the cyclic garbage
        # collector would run thousands of times for nothing (3 s of 1M tickets).
        collecting = gc.isenabled()
        gc.disable()
        try:
            flush = getattr(self, f"_flush_{self.entity}")
            for batch in self._batches_from_worker(path) if path else self.parsed(rows):
                flush(batch)
                self.progress(len(batch))
                del batch  # so the next batch does not share the memory with this one
            return self.report
        finally:
            if collecting:
                gc.enable()

    def parsed(self, rows: Iterable[SourceRow]) -> Iterator[list[tuple[SourceRow, Any]]]:
        """Batches of (row, its parsed values); a bad row goes to `reject` instead."""
        batch: list[tuple[SourceRow, Any]] = []
        v = self.v
        if self.entity == "tickets":
            parse = self._ticket_parser()
        else:
            handle = getattr(self, f"_parse_{self.entity}")
            parse = lambda record: handle()  # noqa: E731
        header = v.header
        for row in rows:
            if row.record is None:  # JSON Lines: lay the object out in the mapping's header order
                row.record = [row.obj.get(h, "") for h in header]
                row.header = header
            v.record = row.record
            try:
                if row.extra:
                    raise RowError("", "", f"{row.extra} more fields than the header has")
                batch.append((row, parse(row.record)))
            except RowError as exc:
                self.reject(row, exc)
            except InvalidInput as exc:  # e.g. an invalid tag or e-mail from a domain helper
                self.reject(row, RowError("", "", exc.message))
            if len(batch) >= BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    def _batches_from_worker(self, path: str) -> Iterator[list[tuple[SourceRow, Any]]]:
        """`parsed` run by a second process over the file at `path`: its batches, and its rejects
        handed to `reject` here. Reading and checking is a third of an import's time: 1M tickets
        took 36-38 s in one process and 29-32 s in two, on two cores."""
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited
        receiving, sending = context.Pipe(duplex=False)
        worker = context.Process(
            target=_parse_in_worker,
            daemon=True,
            args=(
                sending,
                path,
                self.settings,
                self.entity,
                self.v.mapping,
                self.on_duplicate,
                self.now,
                self.file_label,
            ),
        )
        worker.start()
        sending.close()  # only the worker writes: its death then ends recv() with EOFError
        header = self.v.header
        try:
            while True:
                try:
                    kind, payload, rejects = receiving.recv()
                except EOFError:
                    raise StoreError("the process reading the file stopped; nothing imported") from None
                count, kept = rejects
                for line, record, extra, (field_name, value, reason) in kept:
                    self.reject(SourceRow(line, record, header, extra), RowError(field_name, value, reason))
                self.report.rejected += count - len(kept)  # rows beyond what the worker's report keeps
                if kind == "rows":
                    yield [(SourceRow(line, None, header), parsed) for line, parsed in payload]
                elif kind == "error":
                    raise InvalidInput(*payload)
                elif kind == "crash":
                    raise RuntimeError(f"reading {self.file_label}: {payload}")
                else:
                    return
        finally:
            receiving.close()
            worker.join(timeout=5)
            if worker.is_alive():
                worker.kill()

    def reject(self, row: SourceRow, exc: RowError) -> None:
        self.report.rejected += 1
        if len(self.report.rejects) < 100_000:
            self.report.rejects.append((row, exc))

    def _existing(self, table: str, external_ids: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        ids = [e for e in external_ids if e is not None]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for external_id, row_id in self.conn.execute(
                f"SELECT external_id, id FROM {table} WHERE external_id IN ({marks})", chunk
            ):
                found[external_id] = row_id
        return found

    def _duplicate(self, row: SourceRow, external_id: str, table: str) -> None:
        if self.on_duplicate == "error":
            raise RowError(
                self.v.header_of("external_id"),
                external_id,
                f"already imported ({table}); pass --on-duplicate skip or update",
            )
        self.report.skipped += 1

    # -------------------------------------------------------- customers

    def email(self, text: str | None, field_name: str) -> str | None:
        """A checked e-mail address (checks cached: the same address comes back on many rows)."""
        if text is None:
            return None
        email = self._emails.get(text)
        if email is None:
            from carecli.records.customers import clean_email

            try:
                email = clean_email(text)
            except InvalidInput:
                raise self.v.error(field_name, "not an e-mail address") from None
            if len(self._emails) >= CUSTOMER_CACHE:
                self._emails.clear()
            self._emails[text] = email
        return email

    def customer_for(self, email: str | None, name: str | None, at: str) -> int:
        email = self.email(email, "customer_email")
        key = (email or "").lower() or f"\0name:{name}"
        self._trim_caches()
        customer_id = self._customers.get(key)
        if customer_id is None:
            self.flush_new_customers()
            if email:
                row = self.conn.execute("SELECT id, name FROM customers WHERE email = ?", (email,)).fetchone()
            else:
                row = self.conn.execute(
                    "SELECT id, name FROM customers WHERE name = ? COLLATE NOCASE ORDER BY id LIMIT 1", (name,)
                ).fetchone()
            customer_id = (
                self._remember(key, row[0], row[1]) if row is not None else self._create_customer(key, email, name, at)
            )
        self._check_name(customer_id, email, name)
        return customer_id

    def _trim_caches(self) -> None:
        if len(self._customers) >= CUSTOMER_CACHE:  # bounded memory on files with millions of customers
            self._customers.clear()
            self._customer_names.clear()

    def _remember(self, key: str, customer_id: int, name: str) -> int:
        self._customers[key] = customer_id
        self._customer_names[customer_id] = name
        return customer_id

    def _create_customer(self, key: str, email: str | None, name: str | None, at: str) -> int:
        """A new customer, written with the next flush_new_customers() (before anything refers to it)."""
        from carecli.records.customers import clean_name

        try:
            display = clean_name(name) if name else email.split("@")[0]
        except InvalidInput:
            display = email.split("@")[0] if email else name
        if self._next_customer_id is None:
            self._next_customer_id = (self.conn.execute("SELECT max(id) FROM customers").fetchone()[0] or 0) + 1
        customer_id = self._next_customer_id
        self._next_customer_id += 1
        self._new_customers.append((customer_id, display, email, at))
        self.report.customers_created += 1
        return self._remember(key, customer_id, display)

    def flush_new_customers(self) -> None:
        if self._new_customers:
            self._insert_many("customers", ("id", "name", "email", "created_at"), self._new_customers)
            self._new_customers = []

    def _check_name(self, customer_id: int, email: str | None, name: str | None) -> None:
        if name and email:
            known = self._customer_names.get(customer_id, name)
            if known != name and known != " ".join(name.split()):  # the cheap test first: most rows repeat the name
                self.report.warn("an e-mail already known under another name: matched by e-mail, the first name kept")

    def _customer_ids(self, wanted: list[tuple[str | None, str | None, str]]) -> list[int]:
        """Customer ids for (checked e-mail, name, created_at), in order, matched or created as customer_for
        does, but with one query per 500 unknown e-mails instead of one per row."""
        self._trim_caches()
        customers = self._customers
        keys = [email.lower() if email else None for email, _, _ in wanted]
        unknown = list(
            {key: email for key, (email, _, _) in zip(keys, wanted) if key and key not in customers}.values()
        )
        found: dict[str, tuple[int, str]] = {}
        for start in range(0, len(unknown), 500):
            chunk = unknown[start : start + 500]
            for customer_id, name, email in self.conn.execute(
                f"SELECT id, name, email FROM customers WHERE email IN ({','.join('?' * len(chunk))})", chunk
            ):
                found[email.lower()] = (customer_id, name)
        ids = []
        for key, (email, name, at) in zip(keys, wanted):
            if key:
                customer_id = customers.get(key)
                if customer_id is None:
                    hit = found.get(key)
                    customer_id = self._remember(key, *hit) if hit else self._create_customer(key, email, name, at)
                self._check_name(customer_id, email, name)
            else:
                customer_id = self.customer_for(None, name, at)
            ids.append(customer_id)
        self.flush_new_customers()
        return ids

    def _parse_customers(self) -> dict:
        from carecli.records.customers import clean_email, clean_name

        v = self.v
        email = v.text("email")
        try:
            email = clean_email(email)
        except InvalidInput:
            raise v.error("email", "not an e-mail address") from None
        name = v.text("name") or (email.split("@")[0] if email else None)
        try:
            name = clean_name(name or "")
        except InvalidInput as exc:
            raise v.error("name", exc.message) from None
        created = v.time("created_at") or self.now
        try:
            tags = _tags(v.text("tags"))
        except InvalidInput as exc:
            raise v.error("tags", exc.message) from None
        return {
            "external_id": v.text("external_id"),
            "name": name,
            "email": email,
            "phone": v.text("phone"),
            "tags": tags,
            "notes": v.text("notes") or "",
            "created_at": _db(created),
            "lost_at": _db(v.time("lost_at")),
            "lost_reason": v.text("lost_reason"),
        }

    def _flush_customers(self, batch: list[tuple[SourceRow, dict]]) -> None:
        conn = self.conn
        inserts = []
        by_external = self._existing("customers", [r["external_id"] for _, r in batch])
        seen: dict[str, int] = {}
        for row, rec in batch:
            self.v.record = row.record
            existing = by_external.get(rec["external_id"]) if rec["external_id"] else None
            if existing is None and rec["email"]:
                hit = conn.execute("SELECT id FROM customers WHERE email = ?", (rec["email"],)).fetchone()
                existing = hit[0] if hit else seen.get(rec["email"].lower())
            if existing is None and rec["external_id"] in seen:
                existing = seen[rec["external_id"]]
            if existing is not None:
                try:
                    self._duplicate(row, rec["external_id"] or rec["email"], "customers")
                except RowError as exc:
                    self.reject(row, exc)
                    continue
                if self.on_duplicate == "update":
                    self.report.skipped -= 1
                    self.report.updated += 1
                    changes = {k: val for k, val in rec.items() if val not in (None, "") and k != "created_at"}
                    conn.execute(
                        f"UPDATE customers SET {', '.join(f'{k} = ?' for k in changes)} WHERE id = ?",
                        (*changes.values(), existing),
                    )
                continue
            inserts.append(tuple(rec.values()))
            marker = -1 - len(inserts)
            if rec["email"]:
                seen[rec["email"].lower()] = marker
            if rec["external_id"]:
                seen[rec["external_id"]] = marker
        if inserts:
            self._insert_many("customers", FIELDS["customers"], inserts)
            self.report.created += len(inserts)

    def _insert_many(self, table: str, names: Iterable[str], rows: list[tuple]) -> None:
        names = list(names)
        self.conn.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", rows)

    # -------------------------------------------------------- tickets

    def _ticket_parser(self) -> Callable[[list[str]], tuple]:
        """One function per import that turns a record into the ticket's values (see TICKET_PARSED)."""
        v = self.v
        text, time, integer, minutes = v.getter, v.time_getter, v.integer_getter, v.minutes_getter
        external_id_of, email_of, name_of = text("external_id"), text("customer_email"), text("customer_name")
        subject_of, status_of, tags_of = text("subject"), text("status"), text("tags")
        resolution_of, message_of = text("resolution"), text("message")
        created_of, first_response_of, first_closed_of = (
            time("created_at"),
            time("first_response_at"),
            time("first_closed_at"),
        )
        closed_of, updated_of = time("closed_at"), time("updated_at")
        first_response_minutes_of, resolution_minutes_of = (
            minutes("first_response_minutes"),
            minutes("resolution_minutes"),
        )
        replies_of, reopens_of = integer("replies", 0), integer("reopens", 0)
        csat_of, ces_of = integer("csat", *SCORE_RANGES["csat"]), integer("ces", *SCORE_RANGES["ces"])
        channel_of = v.choice_getter("channel", "channels", "default_channel")
        category_of = v.choice_getter("category", "categories", "default_category")
        priority_of = v.choice_getter("priority", "priorities", "default_priority")
        closed_field = "closed_at" if v.has("closed_at") else "status"
        email = self.email

        def later(start: tuple[datetime, str], span: timedelta | None) -> tuple[datetime, str] | None:
            if span is None:
                return None
            moment = start[0] + span
            return moment, moment.isoformat()

        def parse(record: list[str]) -> tuple:
            subject = subject_of(record)
            subject = " ".join(subject.split()) if subject else ""
            if not subject:
                raise v.error("subject", "a ticket needs a subject")
            created = created_of(record)
            if created is None:
                raise v.error("created_at", "a ticket needs the time it was opened")
            first_response = first_response_of(record) or later(created, first_response_minutes_of(record))
            closed = closed_of(record) or later(created, resolution_minutes_of(record))
            first_closed = first_closed_of(record) or closed
            status = status_of(record)
            status = status.lower() if status else ("closed" if closed else "open")
            if status not in ("open", "pending", "closed"):
                raise v.error("status", "unknown status; map it to open, pending or closed in [values.status]")
            if status == "closed" and closed is None:
                raise v.error(closed_field, "a closed ticket needs the time it was closed")
            created_at = created[0]
            notes = ()  # warnings, counted only if the row lands (not for duplicates or rejects)
            if first_response is not None and closed is not None and first_response[0] > closed[0]:
                notes = (RESPONSE_AFTER_CLOSE,)
            if (first_response is not None and first_response[0] < created_at) or (
                closed is not None and closed[0] < created_at
            ):
                notes += (BEFORE_OPENED,)
            replies = replies_of(record)
            if replies is None:
                replies = 1 if first_response else 0
            csat, ces = csat_of(record), ces_of(record)
            tags = tags_of(record)
            if tags:
                try:
                    tags = _tags(tags)
                except InvalidInput as exc:
                    raise v.error("tags", exc.message) from None
            else:
                tags = ""
            updated = updated_of(record)
            if updated is None:
                updated = max((m for m in (created, first_response, closed) if m is not None), key=_first)
            return (
                external_id_of(record),
                email(email_of(record), "customer_email"),
                name_of(record),
                subject,
                channel_of(record),
                category_of(record),
                priority_of(record),
                status,
                tags,
                resolution_of(record),
                created[1],
                updated[1],
                first_response and first_response[1],
                first_closed and first_closed[1],
                closed and closed[1],
                reopens_of(record) or 0,
                replies,
                first_response and int((first_response[0] - created_at).total_seconds()),
                first_closed and int((first_closed[0] - created_at).total_seconds()),
                closed and int((closed[0] - created_at).total_seconds()),
                csat,
                ces,
                message_of(record),
                notes,
            )

        return parse

    TICKET_COLUMNS = (
        "id",
        "external_id",
        "customer_id",
        "subject",
        "channel",
        "category",
        "priority",
        "status",
        "tags",
        "resolution",
        "created_at",
        "updated_at",
        "first_response_at",
        "first_closed_at",
        "closed_at",
        "reopen_count",
        "reply_count",
        "first_response_s",
        "first_resolution_s",
        "resolution_s",
    )
    # A parsed ticket: (external_id, customer_email, customer_name, then TICKET_COLUMNS[3:] in order, csat, ces,
    # message, warnings)
    _STORED = slice(3, 20)

    def _flush_tickets(self, batch: list[tuple[SourceRow, tuple]]) -> None:
        conn = self.conn
        existing = self._existing("tickets", [parsed[0] for _, parsed in batch])
        kept: list[tuple[tuple, int | None]] = []  # (parsed, ticket to update or None for a new one)
        in_batch: set[str] = set()
        for row, parsed in batch:
            external_id = parsed[0]
            if external_id is not None and (external_id in existing or external_id in in_batch):
                try:
                    self._duplicate(row, external_id, "tickets")
                except RowError as exc:
                    self.reject(row, exc)
                    continue
                if self.on_duplicate == "update" and external_id in existing:
                    self.report.skipped -= 1
                    self.report.updated += 1
                    kept.append((parsed, existing[external_id]))
                continue
            if external_id is not None:
                in_batch.add(external_id)
            kept.append((parsed, None))
        warn = self.report.warn
        for parsed, _ in kept:
            for note in parsed[23]:
                warn(note)
        customer_ids = self._customer_ids([(parsed[1], parsed[2], parsed[10]) for parsed, _ in kept])
        first_id = next_id = (conn.execute("SELECT max(id) FROM tickets").fetchone()[0] or 0) + 1
        stored = self._STORED
        tickets, surveys, messages = [], [], []
        for (parsed, update_id), customer_id in zip(kept, customer_ids):
            if update_id is not None:
                self._update_ticket(update_id, customer_id, parsed)
                continue
            ticket_id = next_id
            next_id += 1
            tickets.append((ticket_id, parsed[0], customer_id, *parsed[stored]))
            csat, ces, message = parsed[20:23]
            if csat is not None:
                surveys.append(("csat", customer_id, ticket_id, csat, parsed[14] or parsed[11]))
            if ces is not None:
                surveys.append(("ces", customer_id, ticket_id, ces, parsed[14] or parsed[11]))
            if message:
                messages.append((customer_id, ticket_id, "in", parsed[4], message, parsed[10]))
        if tickets:
            self._insert_many("tickets", self.TICKET_COLUMNS, tickets)
            # The events every imported ticket has, written by SQLite from the rows just stored, in the
            # order the domain writes them (ticket by ticket: opened, replied-first, closed).
            conn.execute(
                """
                INSERT INTO events (customer_id, ticket_id, kind, at)
                SELECT customer_id, id, kind, at FROM (
                    SELECT customer_id, id, 1 AS step, 'opened' AS kind, created_at AS at FROM tickets WHERE id >= :first
                    UNION ALL SELECT customer_id, id, 2, 'replied-first', first_response_at FROM tickets
                              WHERE id >= :first AND first_response_at IS NOT NULL
                    UNION ALL SELECT customer_id, id, 3, 'closed', first_closed_at FROM tickets
                              WHERE id >= :first AND first_closed_at IS NOT NULL
                    UNION ALL SELECT customer_id, id, 4, 'closed', closed_at FROM tickets
                              WHERE id >= :first AND closed_at IS NOT NULL AND closed_at IS NOT first_closed_at)
                ORDER BY id, step""",
                {"first": first_id},
            )
            self._insert_many("surveys", ("kind", "customer_id", "ticket_id", "score", "at"), surveys)
            self._insert_many(
                "interactions", ("customer_id", "ticket_id", "direction", "channel", "body", "at"), messages
            )
            self.report.created += len(tickets)

    def _update_ticket(self, ticket_id: int, customer_id: int, parsed: tuple) -> None:
        conn = self.conn
        values = dict(zip(self.TICKET_COLUMNS[3:], parsed[self._STORED]), customer_id=customer_id)
        before = conn.execute(
            "SELECT created_at, first_response_at, closed_at FROM tickets WHERE id = ?", (ticket_id,)
        ).fetchone()
        conn.execute(
            f"UPDATE tickets SET {', '.join(f'{c} = ?' for c in values)} WHERE id = ?", (*values.values(), ticket_id)
        )
        # Events are append-only: what the source now says is appended, never rewritten. A first
        # answer or a (new) close gets its event; a moved opening or first answer gets a
        # 'corrected' event, stamped now, saying from what to what.
        events = []
        if values["first_response_at"] and before[1] is None:
            events.append(("replied-first", values["first_response_at"], None))
        if values["closed_at"] and values["closed_at"] != before[2]:
            events.append(("closed", values["closed_at"], None))
        corrected = {
            column: {"from": old, "to": values[column]}
            for column, old in zip(("created_at", "first_response_at"), before[:2])
            if old is not None and values[column] != old
        }
        if corrected:
            events.append(("corrected", self.stamp, json.dumps(corrected, sort_keys=True)))
        conn.executemany(
            "INSERT INTO events (customer_id, ticket_id, kind, at, detail) VALUES (?, ?, ?, ?, ?)",
            [(customer_id, ticket_id, kind, at, detail) for kind, at, detail in events],
        )
        for kind, score in zip(("csat", "ces"), parsed[20:22]):
            if score is not None:
                conn.execute(
                    "INSERT INTO surveys (kind, customer_id, ticket_id, score, at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (kind, ticket_id) WHERE ticket_id IS NOT NULL DO UPDATE SET score = excluded.score",
                    (kind, customer_id, ticket_id, score, values["closed_at"] or values["updated_at"]),
                )

    # -------------------------------------------------------- interactions

    def _parse_interactions(self) -> dict:
        v = self.v
        body = (v.text("body") or "").strip()
        if not body:
            raise v.error("body", "the message text is empty")
        at = v.time("at")
        if at is None:
            raise v.error("at", "an interaction needs the time it happened")
        direction = (v.text("direction") or "in").lower()
        if direction not in ("in", "out", "note"):
            raise v.error("direction", "use in, out or note (or map it in [values.direction])")
        ticket_id, customer_id = None, None
        external = v.text("ticket_external_id")
        if external:
            hit = self.conn.execute("SELECT id, customer_id FROM tickets WHERE external_id = ?", (external,)).fetchone()
            if hit is None:
                raise v.error("ticket_external_id", "no ticket with this external id; import the tickets first")
            ticket_id, customer_id = hit
        elif v.text("ticket_id"):
            number = v.integer("ticket_id", 1)
            hit = self.conn.execute("SELECT id, customer_id FROM tickets WHERE id = ?", (number,)).fetchone()
            if hit is None:
                raise v.error("ticket_id", "no such ticket")
            ticket_id, customer_id = hit
        if v.text("customer_email") or v.text("customer_name"):
            customer_id = self.customer_for(v.text("customer_email"), v.text("customer_name"), _db(at))
        if customer_id is None:
            raise v.error("customer_email", "no customer or ticket given")
        channel = v.choice("channel", "channels", "default_channel")
        return {
            "customer_id": customer_id,
            "ticket_id": ticket_id,
            "direction": direction,
            "channel": channel,
            "body": body,
            "at": _db(at),
        }

    def _flush_interactions(self, batch: list[tuple[SourceRow, dict]]) -> None:
        self.flush_new_customers()
        rows = []
        seen: set[tuple] = set()
        for row, rec in batch:
            self.v.record = row.record
            key = (rec["customer_id"], rec["ticket_id"], rec["direction"], rec["at"], rec["body"])
            # No external id: the same message at the same time for the same customer is a duplicate.
            hit = (
                key in seen
                or self.conn.execute(
                    "SELECT 1 FROM interactions WHERE customer_id = ? AND ticket_id IS ? AND direction = ? AND at = ? "
                    "AND body = ?",
                    key,
                ).fetchone()
            )
            if hit:
                try:
                    self._duplicate(row, rec["body"][:40], "interactions")
                except RowError as exc:
                    self.reject(row, exc)
                continue
            seen.add(key)
            rows.append(tuple(rec.values()))
        if rows:
            self._insert_many("interactions", ("customer_id", "ticket_id", "direction", "channel", "body", "at"), rows)
            self.report.created += len(rows)


def _first(pair: tuple) -> Any:
    return pair[0]


def parse_aside(entity: str, source_format: str, path: str, on_duplicate: str, *, bulk: bool) -> bool:
    """Whether to read and check the rows in a second process while this one writes: for bulk loads
    of tickets from a CSV file. Not with --on-duplicate error, whose rejects need every row's cells."""
    return bulk and entity == "tickets" and source_format == "csv" and path != "-" and on_duplicate != "error"


def _parse_in_worker(
    out, path: str, settings: Settings, entity: str, mapping: Mapping, on_duplicate: str, now: datetime, file_label: str
) -> None:
    """The second process of `Importer._batches_from_worker`: sends ("rows", [(line, parsed)],
    rejects) per batch, then ("done", None, rejects), or ("error", (message, hint), rejects), where
    rejects = (rows rejected since the last message, [(line, cells, extra, (column, value, reason))])."""
    import signal

    gc.disable()  # as in Importer.run
    # Ctrl-C reaches the whole process group: the importer handles it, and this process then stops
    # at its next send instead of printing a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    sent = 0

    def rejects() -> tuple[int, list]:
        """The rows rejected since the last call: how many, and those the report kept."""
        nonlocal sent
        report = importer.report
        kept = [(row.line, row.record, row.extra, (exc.field, exc.value, exc.reason)) for row, exc in report.rejects]
        report.rejects.clear()
        count, sent = report.rejected - sent, report.rejected
        return count, kept

    importer = None
    try:
        try:
            stream = open_input(path)
            header, rows = read_rows(stream, "csv")
            importer = Importer(
                None, settings, entity, mapping, header, on_duplicate=on_duplicate, now=now, file_label=file_label
            )
            for batch in importer.parsed(rows):
                out.send(("rows", [(row.line, parsed) for row, parsed in batch], rejects()))
            out.send(("done", None, rejects()))
        except InvalidInput as exc:
            out.send(("error", (exc.message, exc.hint), rejects() if importer else (0, [])))
        except OSError:
            raise
        except Exception as exc:  # a bug: reported by the importer, on one line like any other
            out.send(("crash", f"{type(exc).__name__}: {exc}", (0, [])))
    except OSError:
        pass  # the importer is gone (killed, or stopped on an error), and with it the point of going on


def describe(exc: RowError, row: SourceRow, file_label: str) -> str:
    """`file:line: column 'X' value 'v': reason` — what a person needs to find and fix it."""
    where = f"{file_label}:{row.line}"
    if exc.field:
        value = exc.value if len(str(exc.value)) <= 60 else str(exc.value)[:57] + "..."
        return f"{where}: column '{exc.field}' value {value!r}: {exc.reason}"
    return f"{where}: {exc.reason}"


def open_input(path: str, stdin=None) -> io.TextIOBase:
    """The input as text: UTF-8 with or without a BOM, newlines left to the CSV reader."""
    if path == "-":
        raw = (stdin or sys.stdin).buffer
        return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    try:
        return open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise InvalidInput(f"{path} does not exist", "give the path of the CSV or JSONL file, or - for stdin") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None


def guess_format(path: str, given: str | None) -> str:
    if given:
        return given
    return "jsonl" if path.lower().endswith((".jsonl", ".ndjson")) else "csv"


def write_rejects(stream, header: list[str], rejects: list[tuple[SourceRow, RowError]], file_label: str) -> None:
    from carecli.core.csvfile import writer as csv_writer  # the rule every carecli CSV follows

    writer = csv_writer(stream)
    writer.writerow(["line", "reason", *header])
    for row, exc in rejects:
        writer.writerow([row.line, describe(exc, row, file_label), *(row.values.get(h, "") for h in header)])
