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
from carecli.data.importing.orders import OrderRows
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
    # For records that come in groups (an order's line items): the group a record belongs to. The
    # rows of one group reach `flush` together, and are rejected together when one of them is bad.
    group: Callable[[list[str]], str | None] | None

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
    # The first record created (its id); the import's new records have the ids from there on.
    first_new_id: int | None = None
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
        if self.rows.group is not None:
            yield from self._parsed_in_groups(rows, self.rows.group)
            return
        batch: list[tuple[SourceRow, Any]] = []
        parse = self.rows.parser()
        for row in rows:
            try:
                batch.append((row, self._parse_row(row, parse)))
            except RowError as exc:
                self.reject(row, exc)
            if len(batch) >= BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    def _parse_row(self, row: SourceRow, parse: Callable[[list[str]], Any]) -> Any:
        """The row's parsed values, or RowError."""
        v = self.v
        if row.record is None:  # JSON Lines: lay the object out in the mapping's header order
            obj = row.obj or {}
            row.record = [obj.get(h, "") for h in v.header]
            row.header = v.header
        v.record = row.record
        try:
            if row.extra:
                raise RowError("", "", f"{row.extra} more fields than the header has")
            if "\x00" in "".join(row.record):  # one C-level scan; cells are looked at only when it hits
                raise _nul_error(v.header, row.record)
            return parse(row.record)
        except InvalidInput as exc:  # e.g. an invalid tag or e-mail from a domain helper
            raise RowError("", "", exc.message) from None

    def _parsed_in_groups(
        self, rows: Iterable[SourceRow], group_of: Callable[[list[str]], str | None]
    ) -> Iterator[list[tuple[SourceRow, Any]]]:
        """`parsed` for records in groups: consecutive rows with the same group key are one group,
        batches end only between groups, and one bad row rejects its whole group (an order imported
        without one of its lines would be a wrong order). A group whose key came earlier in the
        file, apart, is rejected: its rows must be next to each other."""
        parse = self.rows.parser()
        batch: list[tuple[SourceRow, Any]] = []
        group: list[tuple[SourceRow, Any, RowError | None]] = []
        key: str | None = None
        started: dict[str, int] = {}  # group key -> the line its group started on
        for row in rows:
            try:
                parsed, error = self._parse_row(row, parse), None
            except RowError as exc:
                parsed, error = None, exc
            row_key = group_of(row.record) if row.record is not None else None
            if group and (row_key is None or row_key != key):
                self._close_group(group, batch)
                group = []
                if len(batch) >= BATCH:
                    yield batch
                    batch = []
            key = row_key
            if not group and key is not None:
                first_line = started.setdefault(key, row.line)
                if first_line != row.line and error is None:
                    error = RowError(
                        self.v.header_of("ref"),
                        self.v.raw("ref"),
                        f"line {first_line} has rows of this order already; an order's rows must be next to each other",
                    )
            group.append((row, parsed, error))
        if group:
            self._close_group(group, batch)
        if batch:
            yield batch

    def _close_group(self, group: list[tuple[SourceRow, Any, RowError | None]], batch: list) -> None:
        bad_line = next((row.line for row, _, error in group if error is not None), None)
        if bad_line is None:
            batch.extend((row, parsed) for row, parsed, _ in group)
            return
        for row, _, error in group:
            self.reject(row, error or RowError("", "", f"not imported: line {bad_line} of the same order was rejected"))

    def reject(self, row: SourceRow, exc: RowError) -> None:
        self.report.rejected += 1
        if len(self.report.rejects) < 100_000:
            self.report.rejects.append((row, exc))

    def existing(self, table: str, external_ids: list[str | None], column: str = "external_id") -> dict[str, int]:
        """The ids of the rows already imported, by their source's id (`column`: orders know theirs by `ref`)."""
        found: dict[str, int] = {}
        ids = [e for e in external_ids if e is not None]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for external_id, row_id in self.conn.execute(
                f"SELECT {column}, id FROM {table} WHERE {column} IN ({marks})", chunk
            ):
                found[external_id] = row_id
        return found

    def duplicate(self, row: SourceRow, external_id: str, table: str, field_name: str = "external_id") -> None:
        if self.on_duplicate == "error":
            raise RowError(
                self.v.header_of(field_name),
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
                row = row or self._by_other_address([email]).get(email.lower())
            else:
                row = self.conn.execute(
                    "SELECT id, name FROM customers WHERE name = ? COLLATE NOCASE ORDER BY id LIMIT 1", (name,)
                ).fetchone()
            customer_id = (
                self._remember(key, row[0], row[1]) if row is not None else self._create_customer(key, email, name, at)
            )
        self._check_name(customer_id, email, name)
        return customer_id

    def _by_other_address(self, emails: list[str]) -> dict[str, tuple[int, str]]:
        """(id, name) by lower-cased e-mail of the customers who have these as another address (mail
        intake's identities, a merged customer's e-mail): one customer per address, as `resolve_customer`
        finds them."""
        found: dict[str, tuple[int, str]] = {}
        for start in range(0, len(emails), 500):
            chunk = emails[start : start + 500]
            for address, customer_id, name in self.conn.execute(
                "SELECT a.address, c.id, c.name FROM customer_addresses a JOIN customers c ON c.id = a.customer_id "
                f"WHERE a.kind = 'email' AND a.address IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                found[address.lower()] = (customer_id, name)
        return found

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
        found.update(self._by_other_address([email for email in unknown if email and email.lower() not in found]))
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
    "orders": OrderRows,
}
