"""The import: rows in, checked, matched to customers, and handed to the entity's writer in batches.

`Importer` drives; what is particular to customers, tickets or interactions (which fields they
need, how a record becomes values, how a batch is written) is in the module of that name, picked
from `ENTITY_ROWS`. Everything runs inside the caller's one transaction (see `bulk`).
"""

from __future__ import annotations

import gc
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator, Protocol

from carecli.core.config import Settings
from carecli.core.errors import InvalidInput
from carecli.data.importing.customers import CustomerRows
from carecli.data.importing.interactions import InteractionRows
from carecli.data.importing.mapping import Mapping
from carecli.data.importing.reading import SourceRow
from carecli.data.importing.tickets import TicketRows
from carecli.data.importing.values import RowError, Values, describe
from carecli.records import customers as customer_records

ON_DUPLICATE = ("skip", "update", "error")
BATCH = 5000
CUSTOMER_CACHE = 200_000  # customers remembered by e-mail during an import (bounds memory)


class EntityRows(Protocol):
    """What one kind of record brings to an import."""

    # Each tuple: fields of which the mapping must name at least one.
    required: tuple[tuple[str, ...], ...]

    def parser(self) -> Callable[[list[str]], Any]:
        """A function from a record (cells in the mapping's header order) to its values; it raises
        RowError for a bad row. The Values' current record is set to the same cells first."""
        ...

    def flush(self, batch: list[tuple[SourceRow, Any]]) -> None:
        """Write a batch of (row, values): duplicates skipped, updated or rejected, the rest inserted."""
        ...


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
        conn: sqlite3.Connection | None,
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
        if entity not in ENTITY_ROWS:
            raise InvalidInput(f"cannot import '{entity}'", f"import one of: {', '.join(ENTITY_ROWS)}")
        self._conn, self.settings, self.entity = conn, settings, entity
        self.on_duplicate, self.now, self.file_label = on_duplicate, now, file_label
        self.v = Values(mapping, header, settings, file_label)
        self.report = Report(entity)
        self.progress = progress or (lambda n: None)
        self._customers: dict[str, int] = {}
        self._customer_names: dict[int, str] = {}
        self._emails: dict[str, str | None] = {}
        self._new_customers: list[tuple] = []
        self._next_customer_id: int | None = None
        self.rows: EntityRows = ENTITY_ROWS[entity](self)
        self._check_required()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("this Importer only reads and checks rows (the worker's); it has no database")
        return self._conn

    def _check_required(self) -> None:
        for options in self.rows.required:
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
        from carecli.data.importing.worker import batches_from_worker  # it builds Importers itself

        collecting = gc.isenabled()
        gc.disable()
        try:
            flush = self.rows.flush
            for batch in batches_from_worker(self, path) if path else self.parsed(rows):
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
        parse = self.rows.parser()
        header = v.header
        for row in rows:
            if row.record is None:  # JSON Lines: lay the object out in the mapping's header order
                obj = row.obj or {}
                row.record = [obj.get(h, "") for h in header]
                row.header = header
            v.record = row.record
            try:
                if row.extra:
                    raise RowError("", "", f"{row.extra} more fields than the header has")
                if "\x00" in "".join(row.record):  # one C-level scan; cells are looked at only when it hits
                    raise _nul_error(header, row.record)
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

    def reject(self, row: SourceRow, exc: RowError) -> None:
        self.report.rejected += 1
        if len(self.report.rejects) < 100_000:
            self.report.rejects.append((row, exc))

    def existing(self, table: str, external_ids: list[str | None]) -> dict[str, int]:
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

    def duplicate(self, row: SourceRow, external_id: str, table: str) -> None:
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

        from_email = email.split("@")[0] if email else ""
        try:
            display = clean_name(name) if name else from_email
        except InvalidInput:
            display = from_email or name or ""
        if self._next_customer_id is None:
            self._next_customer_id = (self.conn.execute("SELECT max(id) FROM customers").fetchone()[0] or 0) + 1
        customer_id = self._next_customer_id
        self._next_customer_id += 1
        self._new_customers.append((customer_id, display, email, at))
        self.report.customers_created += 1
        return self._remember(key, customer_id, display)

    def flush_new_customers(self) -> None:
        if self._new_customers:
            customer_records.add_many(self.conn, ("id", "name", "email", "created_at"), self._new_customers)
            self._new_customers = []

    def _check_name(self, customer_id: int, email: str | None, name: str | None) -> None:
        if name and email:
            known = self._customer_names.get(customer_id, name)
            if known != name and known != " ".join(name.split()):  # the cheap test first: most rows repeat the name
                self.report.warn("an e-mail already known under another name: matched by e-mail, the first name kept")

    def customer_ids(self, wanted: list[tuple[str | None, str | None, str]]) -> list[int]:
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


def _nul_error(header: list[str], record: list[str]) -> RowError:
    """SQLite and CSV readers end text at a NUL: refused, rather than stored cut short."""
    column, cell = next(((h, cell) for h, cell in zip(header, record) if "\x00" in cell), ("", ""))
    return RowError(column, cell, "contains a NUL character, which would cut the text short; remove it")


def write_rejects(stream, header: list[str], rejects: list[tuple[SourceRow, RowError]], file_label: str) -> None:
    from carecli.core.csvfile import writer as csv_writer  # the rule every carecli CSV follows

    writer = csv_writer(stream)
    writer.writerow(["line", "reason", *header])
    for row, exc in rejects:
        writer.writerow([row.line, describe(exc, row, file_label), *(row.values.get(h, "") for h in header)])


ENTITY_ROWS: dict[str, Callable[[Importer], EntityRows]] = {
    "customers": CustomerRows,
    "tickets": TicketRows,
    "interactions": InteractionRows,
}
