"""Imports from spreadsheets and other helpdesks: CSV or JSONL rows mapped onto carecli's fields.

A mapping (TOML, see docs/import-mapping.md) names the source column of each field and translates
source values (`"Solved" = "closed"`). Rows stream through in batches of tuples into `executemany`,
all inside the caller's one transaction: either every row lands or none does. Imported tickets get
the same stored fields and events the domain writes, so every KPI works on them.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from carecli.config import Settings
from carecli.errors import InvalidInput

ENTITIES = ("customers", "tickets", "interactions")
ON_DUPLICATE = ("skip", "update", "error")
PRESET_DIR = Path(__file__).with_name("presets")
BATCH = 5000
EXTRA = "\0extra"  # marks a CSV record with more fields than the header

FIELDS: dict[str, tuple[str, ...]] = {
    "customers": ("external_id", "name", "email", "phone", "tags", "notes", "created_at", "lost_at", "lost_reason"),
    "tickets": ("external_id", "customer_name", "customer_email", "subject", "channel", "category", "priority",
                "status", "tags", "created_at", "first_response_at", "first_response_minutes", "first_closed_at",
                "closed_at", "resolution_minutes", "updated_at", "replies", "reopens", "csat", "ces",
                "resolution", "message"),
    "interactions": ("customer_name", "customer_email", "ticket_external_id", "ticket_id", "direction", "channel",
                     "body", "at"),
}
SCORE_RANGES = {"csat": (1, 5), "ces": (1, 7)}
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
    names = sorted({p.name.split(".")[0] for p in PRESET_DIR.glob("*.toml")
                    if entity is None or p.name.endswith(f".{entity}.toml")})
    return names


def load_mapping(entity: str, *, path: str | None = None, preset: str | None = None) -> Mapping:
    """The preset (if any) with the mapping file laid over it, checked against the entity's fields."""
    if entity not in ENTITIES:
        raise InvalidInput(f"cannot import '{entity}'", f"import one of: {', '.join(ENTITIES)}")
    if path is None and preset is None:
        raise InvalidInput("no mapping given", f"pass --map MAPPING.toml (see docs/import-mapping.md) or --preset "
                                               f"({', '.join(preset_names(entity))})")
    merged: dict = {}
    sources = []
    if preset is not None:
        preset_file = PRESET_DIR / f"{preset}.{entity}.toml"
        if not preset_file.exists():
            raise InvalidInput(f"no preset '{preset}' for {entity}",
                               f"presets for {entity}: {', '.join(preset_names(entity)) or 'none'}")
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
        raise InvalidInput(f"{source}: unknown section [{sorted(unknown_sections)[0]}]", "use [columns], [values.FIELD] and [time]")
    columns: dict[str, list[str]] = {}
    for name, headers in (data.get("columns") or {}).items():
        if name not in known:
            raise InvalidInput(f"{source}: [columns] has unknown field '{name}'", f"{entity} fields: {', '.join(known)}")
        headers = [headers] if isinstance(headers, str) else headers
        if not isinstance(headers, list) or not headers or not all(isinstance(h, str) and h for h in headers):
            raise InvalidInput(f"{source}: [columns] {name} must be a column name or a list of them")
        columns[name] = headers
    values: dict[str, dict[str, str]] = {}
    for name, table in (data.get("values") or {}).items():
        if name not in known or not isinstance(table, dict):
            raise InvalidInput(f"{source}: [values.{name}] does not name a {entity} field", f"fields: {', '.join(known)}")
        values[name] = {str(k).strip().lower(): str(v) for k, v in table.items()}
    time_section = data.get("time") or {}
    unknown_time = set(time_section) - {"timezone", "format"}
    if unknown_time:
        raise InvalidInput(f"{source}: unknown key '{sorted(unknown_time)[0]}' in [time]", "use timezone and format")
    return Mapping(columns, values, time_section.get("timezone"), time_section.get("format"), source)


# ---------------------------------------------------------------- reading the file

@dataclass
class SourceRow:
    line: int
    values: dict[str, str]


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

    def rows() -> Iterator[SourceRow]:
        start = reader.line_num + 1
        width = len(header)
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InvalidInput(f"line {start}: unreadable CSV ({exc})", "check the quoting on that line") from None
            except UnicodeDecodeError:
                raise InvalidInput(f"line {start}: not UTF-8 text", "save the file as UTF-8 and import it again") from None
            if record:
                if len(record) > width and any(record[width:]):
                    values = dict(zip(header, record))
                    values[EXTRA] = str(len(record) - width)
                else:
                    values = dict(zip(header, record))
                yield SourceRow(start, values)
            start = reader.line_num + 1

    return header, rows()


def _jsonl_rows(stream) -> tuple[list[str], Iterator[SourceRow]]:
    lines = enumerate(stream, 1)
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
        return SourceRow(number, {k: "" if v is None else (json.dumps(v) if isinstance(v, (list, dict)) else str(v))
                                  for k, v in obj.items()})

    head = parse(*first)

    def rows() -> Iterator[SourceRow]:
        yield head
        for number, text in lines:
            if text.strip():
                yield parse(number, text)

    return list(head.values), rows()


# ---------------------------------------------------------------- value parsing

class Values:
    """Turns one source row into typed field values, through the mapping."""

    def __init__(self, mapping: Mapping, header: list[str] | None, settings: Settings, file_label: str):
        from carecli.timeparse import get_zone

        self.mapping, self.settings = mapping, settings
        if header is None:  # JSON Lines: each object may leave out keys
            header = [h for headers in mapping.columns.values() for h in headers]
        for name, headers in mapping.columns.items():
            if all(h not in header for h in headers):
                raise InvalidInput(
                    f"{file_label}: column '{headers[0]}' (mapped to {name}) is not in the header",
                    f"the file's columns are: {', '.join(header)}")
        self.columns = {name: [h for h in headers if h in header] for name, headers in mapping.columns.items()}
        self.zone = get_zone(mapping.timezone) if mapping.timezone else settings.tz
        self.row: SourceRow | None = None

    def has(self, name: str) -> bool:
        return name in self.columns

    def header_of(self, name: str) -> str:
        headers = self.columns.get(name) or self.mapping.columns.get(name) or [name]
        return headers[0]

    def text(self, name: str) -> str | None:
        for header in self.columns.get(name, ()):
            value = self.row.values.get(header, "")
            if value is not None and value.strip():
                value = value.strip()
                translated = self.mapping.values.get(name, {}).get(value.lower())
                if translated is not None:
                    return translated or None
                return value
        return None

    def raw(self, name: str) -> str:
        for header in self.columns.get(name, ()):
            if (self.row.values.get(header) or "").strip():
                return self.row.values[header]
        return ""

    def error(self, name: str, reason: str) -> RowError:
        return RowError(self.header_of(name), self.raw(name), reason)

    def choice(self, name: str, list_key: str, default_key: str) -> str:
        value = self.text(name)
        if value is None:
            return self.settings[default_key]
        value = value.lower()
        if value not in self.settings[list_key]:
            raise self.error(name, f"unknown {name}; map it in [values.{name}] or use one of: "
                                   f"{', '.join(self.settings[list_key])}")
        return value

    def integer(self, name: str, low: int | None = None, high: int | None = None) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            number = float(value)  # real exports write scores as 3.0
            if number != int(number):
                raise ValueError
            number = int(number)
        except (ValueError, OverflowError):
            raise self.error(name, "not a whole number") from None
        if (low is not None and number < low) or (high is not None and number > high):
            raise self.error(name, f"out of range {low}..{high}")
        return number

    def minutes(self, name: str) -> timedelta | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return timedelta(minutes=float(value))
        except (ValueError, OverflowError):
            raise self.error(name, "not a number of minutes") from None

    def time(self, name: str) -> datetime | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return self._parse_time(value)
        except (ValueError, OverflowError):
            hint = f"expected format {self.mapping.time_format}" if self.mapping.time_format else \
                "write it like 2026-03-14 09:30 or set [time] format in the mapping"
            raise self.error(name, f"not a time ({hint})") from None

    def _parse_time(self, value: str) -> datetime:
        if self.mapping.time_format:
            moment = datetime.strptime(value, self.mapping.time_format)
        else:
            try:
                moment = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in "Zz" else value)
            except ValueError:
                from dateutil import parser

                moment = parser.parse(value, dayfirst=self.settings["dayfirst"])
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return moment.astimezone(timezone.utc).replace(microsecond=0)


def _db(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _tags(text: str | None) -> str:
    from carecli.customers import normalize_tags

    if not text:
        return ""
    return normalize_tags(t for t in text.replace(",", " ").split() if t)


# ---------------------------------------------------------------- bulk loads

BULK_TABLES = ("customers", "tickets", "interactions", "events", "surveys")


class BulkLoad:
    """Inside the import's transaction: set aside secondary indexes and FTS triggers, load, then
    rebuild them from their own stored SQL. Measured: far faster for loads larger than the tables
    (1M tickets: see README). DDL is transactional in SQLite, so a crash undoes this too.
    """

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        marks = ", ".join("?" * len(BULK_TABLES))
        self.indexes = conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
            BULK_TABLES).fetchall()
        self.triggers = conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%fts%' AND tbl_name IN ({marks})",
            BULK_TABLES).fetchall()
        self.first_ids = {table: (conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0) + 1
                          for table in ("customers", "tickets", "interactions")}

    def __enter__(self) -> "BulkLoad":
        for name, _ in self.indexes:
            # Unique indexes stay: duplicate detection and ON CONFLICT need them.
            if not self._unique(name):
                self.conn.execute(f'DROP INDEX "{name}"')
        for name, _ in self.triggers:
            self.conn.execute(f'DROP TRIGGER "{name}"')
        return self

    def _unique(self, name: str) -> bool:
        return bool(self.conn.execute("SELECT \"unique\" FROM pragma_index_list((SELECT tbl_name FROM sqlite_master "
                                      "WHERE name = ?)) WHERE name = ?", (name, name)).fetchone()[0])

    def __exit__(self, kind, exc, tb) -> None:
        if kind is not None:
            return  # the transaction rolls back, and the dropped objects come back with it
        conn = self.conn
        for name, sql in self.indexes:
            conn.execute(sql.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1).replace(
                "CREATE UNIQUE INDEX", "CREATE UNIQUE INDEX IF NOT EXISTS", 1))
        if self.triggers:
            conn.execute("INSERT INTO tickets_fts (rowid, subject) SELECT id, subject FROM tickets WHERE id >= ?",
                         (self.first_ids["tickets"],))
            conn.execute("INSERT INTO interactions_fts (rowid, body) SELECT id, body FROM interactions WHERE id >= ?",
                         (self.first_ids["interactions"],))
            conn.execute("INSERT INTO customers_fts (rowid, name, notes) SELECT id, name, notes FROM customers "
                         "WHERE id >= ?", (self.first_ids["customers"],))
            for _, sql in self.triggers:
                conn.execute(sql)


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
        return {"entity": self.entity, "created": self.created, "updated": self.updated, "skipped": self.skipped,
                "rejected": self.rejected, "customers_created": self.customers_created,
                "warnings": [{"warning": k, "rows": v} for k, v in self.warnings.items()]}


class Importer:
    def __init__(self, conn: sqlite3.Connection, settings: Settings, entity: str, mapping: Mapping,
                 header: list[str] | None, *, on_duplicate: str, now: datetime, file_label: str,
                 progress: Callable[[int], None] | None = None):
        if on_duplicate not in ON_DUPLICATE:
            raise InvalidInput(f"--on-duplicate must be one of {', '.join(ON_DUPLICATE)}")
        self.conn, self.settings, self.entity = conn, settings, entity
        self.on_duplicate, self.now, self.file_label = on_duplicate, now, file_label
        self.v = Values(mapping, header, settings, file_label)
        self.report = Report(entity)
        self.progress = progress or (lambda n: None)
        self._customers: dict[str, int] = {}
        self._customer_names: dict[int, str] = {}
        self._check_required()

    def _check_required(self) -> None:
        need = {"customers": [("name", "email")], "tickets": [("subject",), ("created_at",),
                                                             ("customer_email", "customer_name")],
                "interactions": [("body",), ("at",), ("customer_email", "customer_name", "ticket_id", "ticket_external_id")]}
        for options in need[self.entity]:
            if not any(self.v.has(o) for o in options):
                raise InvalidInput(f"the mapping has no column for {' or '.join(options)}",
                                   f"add it to [columns], e.g. {options[0]} = \"Column header\"")

    # -------------------------------------------------------- driving

    def run(self, rows: Iterable[SourceRow]) -> Report:
        batch: list[tuple[SourceRow, dict]] = []
        handle = getattr(self, f"_parse_{self.entity}")
        flush = getattr(self, f"_flush_{self.entity}")
        for row in rows:
            self.v.row = row
            try:
                if EXTRA in row.values:
                    raise RowError("", "", f"{row.values[EXTRA]} more fields than the header has")
                batch.append((row, handle()))
            except RowError as exc:
                self.reject(row, exc)
            except InvalidInput as exc:  # e.g. an invalid tag or e-mail from a domain helper
                self.reject(row, RowError("", "", exc.message))
            if len(batch) >= BATCH:
                flush(batch)
                self.progress(len(batch))
                batch = []
        if batch:
            flush(batch)
            self.progress(len(batch))
        return self.report

    def reject(self, row: SourceRow, exc: RowError) -> None:
        self.report.rejected += 1
        if len(self.report.rejects) < 100_000:
            self.report.rejects.append((row, exc))

    def _existing(self, table: str, external_ids: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        ids = [e for e in external_ids if e is not None]
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for external_id, row_id in self.conn.execute(
                    f"SELECT external_id, id FROM {table} WHERE external_id IN ({marks})", chunk):
                found[external_id] = row_id
        return found

    def _duplicate(self, row: SourceRow, external_id: str, table: str) -> None:
        if self.on_duplicate == "error":
            raise RowError(self.v.header_of("external_id"), external_id,
                           f"already imported ({table}); pass --on-duplicate skip or update")
        self.report.skipped += 1

    # -------------------------------------------------------- customers

    def customer_for(self, email: str | None, name: str | None, at: str) -> int:
        from carecli.customers import clean_email, clean_name

        if email:
            try:
                email = clean_email(email)
            except InvalidInput:
                raise self.v.error("customer_email", "not an e-mail address") from None
        key = (email or "").lower() or f"\0name:{name}"
        customer_id = self._customers.get(key)
        if customer_id is None:
            if email:
                row = self.conn.execute("SELECT id, name FROM customers WHERE email = ?", (email,)).fetchone()
            else:
                row = self.conn.execute("SELECT id, name FROM customers WHERE name = ? COLLATE NOCASE ORDER BY id LIMIT 1",
                                        (name,)).fetchone()
            if row is not None:
                customer_id = row[0]
                self._customer_names[customer_id] = row[1]
            else:
                try:
                    display = clean_name(name) if name else email.split("@")[0]
                except InvalidInput:
                    display = email.split("@")[0] if email else name
                customer_id = self.conn.execute(
                    "INSERT INTO customers (name, email, created_at) VALUES (?, ?, ?)", (display, email, at)).lastrowid
                self._customer_names[customer_id] = display
                self.report.customers_created += 1
            self._customers[key] = customer_id
        if name and email and self._customer_names.get(customer_id) != " ".join(name.split()):
            self.report.warn("an e-mail already known under another name: matched by e-mail, the first name kept")
        return customer_id

    def _parse_customers(self) -> dict:
        from carecli.customers import clean_email, clean_name

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
        return {"external_id": v.text("external_id"), "name": name, "email": email, "phone": v.text("phone"),
                "tags": tags, "notes": v.text("notes") or "", "created_at": _db(created),
                "lost_at": _db(v.time("lost_at")), "lost_reason": v.text("lost_reason")}

    def _flush_customers(self, batch: list[tuple[SourceRow, dict]]) -> None:
        conn = self.conn
        inserts = []
        by_external = self._existing("customers", [r["external_id"] for _, r in batch])
        seen: dict[str, int] = {}
        for row, rec in batch:
            self.v.row = row
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
                    conn.execute(f"UPDATE customers SET {', '.join(f'{k} = ?' for k in changes)} WHERE id = ?",
                                 (*changes.values(), existing))
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

    def _parse_tickets(self) -> dict:
        v = self.v
        subject = " ".join((v.text("subject") or "").split())
        if not subject:
            raise v.error("subject", "a ticket needs a subject")
        created = v.time("created_at")
        if created is None:
            raise v.error("created_at", "a ticket needs the time it was opened")
        first_response = v.time("first_response_at")
        if first_response is None and (minutes := v.minutes("first_response_minutes")) is not None:
            first_response = created + minutes
        closed = v.time("closed_at")
        if closed is None and (minutes := v.minutes("resolution_minutes")) is not None:
            closed = created + minutes
        first_closed = v.time("first_closed_at") or closed
        status = (v.text("status") or ("closed" if closed else "open")).lower()
        if status not in ("open", "pending", "closed"):
            raise v.error("status", "unknown status; map it to open, pending or closed in [values.status]")
        if status == "closed" and closed is None:
            raise v.error("closed_at" if v.has("closed_at") else "status", "a closed ticket needs the time it was closed")
        if first_response is not None and closed is not None and first_response > closed:
            self.report.warn("first response stamped after the close (imported as it is)")
        for moment in (first_response, closed):
            if moment is not None and moment < created:
                self.report.warn("a time before the ticket was opened (imported as it is; durations negative)")
                break
        replies = v.integer("replies", 0)
        if replies is None:
            replies = 1 if first_response else 0
        scores = {kind: v.integer(kind, *SCORE_RANGES[kind]) for kind in ("csat", "ces")}
        try:
            tags = _tags(v.text("tags"))
        except InvalidInput as exc:
            raise v.error("tags", exc.message) from None
        updated = v.time("updated_at") or max(m for m in (created, first_response, closed) if m is not None)
        created_db = _db(created)
        customer_id = self.customer_for(v.text("customer_email"), v.text("customer_name"), created_db)
        return {
            "external_id": v.text("external_id"), "customer_id": customer_id, "subject": subject,
            "channel": v.choice("channel", "channels", "default_channel"),
            "category": v.choice("category", "categories", "default_category"),
            "priority": v.choice("priority", "priorities", "default_priority"),
            "status": status, "tags": tags, "resolution": v.text("resolution"),
            "created_at": created_db, "updated_at": _db(updated),
            "first_response_at": _db(first_response), "first_closed_at": _db(first_closed), "closed_at": _db(closed),
            "reopen_count": v.integer("reopens", 0) or 0, "reply_count": replies,
            "first_response_s": _seconds(created, first_response),
            "first_resolution_s": _seconds(created, first_closed), "resolution_s": _seconds(created, closed),
            "_scores": scores, "_message": v.text("message"),
        }

    TICKET_COLUMNS = ("id", "external_id", "customer_id", "subject", "channel", "category", "priority", "status", "tags",
                      "resolution", "created_at", "updated_at", "first_response_at", "first_closed_at", "closed_at",
                      "reopen_count", "reply_count", "first_response_s", "first_resolution_s", "resolution_s")

    def _flush_tickets(self, batch: list[tuple[SourceRow, dict]]) -> None:
        conn = self.conn
        existing = self._existing("tickets", [rec["external_id"] for _, rec in batch])
        next_id = (conn.execute("SELECT max(id) FROM tickets").fetchone()[0] or 0) + 1
        tickets, events, surveys, messages = [], [], [], []
        in_batch: set[str] = set()
        for row, rec in batch:
            self.v.row = row
            external_id = rec["external_id"]
            if external_id is not None and (external_id in existing or external_id in in_batch):
                try:
                    self._duplicate(row, external_id, "tickets")
                except RowError as exc:
                    self.reject(row, exc)
                    continue
                if self.on_duplicate == "update" and external_id in existing:
                    self.report.skipped -= 1
                    self.report.updated += 1
                    self._update_ticket(existing[external_id], rec)
                continue
            if external_id is not None:
                in_batch.add(external_id)
            ticket_id = next_id
            next_id += 1
            rec["id"] = ticket_id
            tickets.append(tuple(rec[c] for c in self.TICKET_COLUMNS))
            customer_id = rec["customer_id"]
            events.append((customer_id, ticket_id, "opened", rec["created_at"]))
            if rec["first_response_at"]:
                events.append((customer_id, ticket_id, "replied-first", rec["first_response_at"]))
            if rec["first_closed_at"]:
                events.append((customer_id, ticket_id, "closed", rec["first_closed_at"]))
            if rec["closed_at"] and rec["closed_at"] != rec["first_closed_at"]:
                events.append((customer_id, ticket_id, "closed", rec["closed_at"]))
            survey_at = rec["closed_at"] or rec["updated_at"]
            for kind, score in rec["_scores"].items():
                if score is not None:
                    surveys.append((kind, customer_id, ticket_id, score, survey_at))
            if rec["_message"]:
                messages.append((customer_id, ticket_id, "in", rec["channel"], rec["_message"], rec["created_at"]))
        if tickets:
            self._insert_many("tickets", self.TICKET_COLUMNS, tickets)
            self._insert_many("events", ("customer_id", "ticket_id", "kind", "at"), events)
            self._insert_many("surveys", ("kind", "customer_id", "ticket_id", "score", "at"), surveys)
            self._insert_many("interactions", ("customer_id", "ticket_id", "direction", "channel", "body", "at"), messages)
            self.report.created += len(tickets)

    def _update_ticket(self, ticket_id: int, rec: dict) -> None:
        conn = self.conn
        before = conn.execute("SELECT status, closed_at FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        columns = [c for c in self.TICKET_COLUMNS if c not in ("id", "external_id")]
        conn.execute(f"UPDATE tickets SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
                     (*(rec[c] for c in columns), ticket_id))
        if rec["closed_at"] and rec["closed_at"] != before[1]:
            conn.execute("INSERT INTO events (customer_id, ticket_id, kind, at) VALUES (?, ?, 'closed', ?)",
                         (rec["customer_id"], ticket_id, rec["closed_at"]))
        for kind, score in rec["_scores"].items():
            if score is not None:
                conn.execute(
                    "INSERT INTO surveys (kind, customer_id, ticket_id, score, at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (kind, ticket_id) WHERE ticket_id IS NOT NULL DO UPDATE SET score = excluded.score",
                    (kind, rec["customer_id"], ticket_id, score, rec["closed_at"] or rec["updated_at"]))

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
        return {"customer_id": customer_id, "ticket_id": ticket_id, "direction": direction, "channel": channel,
                "body": body, "at": _db(at)}

    def _flush_interactions(self, batch: list[tuple[SourceRow, dict]]) -> None:
        rows = []
        seen: set[tuple] = set()
        for row, rec in batch:
            self.v.row = row
            key = (rec["customer_id"], rec["ticket_id"], rec["direction"], rec["at"], rec["body"])
            # No external id: the same message at the same time for the same customer is a duplicate.
            hit = key in seen or self.conn.execute(
                "SELECT 1 FROM interactions WHERE customer_id = ? AND ticket_id IS ? AND direction = ? AND at = ? "
                "AND body = ?", key).fetchone()
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


def _seconds(start: datetime, end: datetime | None) -> int | None:
    return None if end is None else int((end - start).total_seconds())


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
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["line", "reason", *header])
    for row, exc in rejects:
        writer.writerow([row.line, describe(exc, row, file_label), *(row.values.get(h, "") for h in header)])
