"""Importing customers: one record per customer, matched by external id or e-mail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from carecli.core.errors import InvalidInput
from carecli.data.importing.mapping import FIELDS
from carecli.data.importing.reading import SourceRow
from carecli.data.importing.values import RowError, stored, tag_list
from carecli.records import customers as customer_records
from carecli.text.clock import in_the_future

if TYPE_CHECKING:
    from carecli.data.importing.importer import Importer


class CustomerRows:
    required: tuple[tuple[str, ...], ...] = (("name", "email"),)
    group: Callable[[list[str]], str | None] | None = None  # one record each

    def __init__(self, importer: Importer):
        self.importer = importer

    def parser(self) -> Callable[[list[str]], Any]:
        return lambda record: self.parse()

    def parse(self) -> dict:
        """The current record (`Values.record`) as a customer's fields, in FIELDS["customers"] order."""
        v = self.importer.v
        email = v.text("email")
        try:
            email = customer_records.clean_email(email)
        except InvalidInput:
            raise v.error("email", "not an e-mail address") from None
        name = v.text("name") or (email.split("@")[0] if email else None)
        try:
            name = customer_records.clean_name(name or "")
        except InvalidInput as exc:
            raise v.error("name", exc.message) from None
        created = v.time("created_at") or self.importer.now
        lost = v.time("lost_at")
        for field_name, moment in (("created_at", created), ("lost_at", lost)):
            if moment is not None and in_the_future(moment, self.importer.now):
                raise v.error(field_name, "a time in the future; it has already happened")
        try:
            tags = tag_list(v.text("tags"))
        except InvalidInput as exc:
            raise v.error("tags", exc.message) from None
        return {
            "external_id": v.text("external_id"),
            "name": name,
            "email": email,
            "phone": v.text("phone"),
            "tags": tags,
            "notes": v.text("notes") or "",
            "created_at": stored(created),
            "lost_at": stored(lost),
            "lost_reason": v.text("lost_reason"),
        }

    def flush(self, batch: list[tuple[SourceRow, dict]]) -> None:
        importer = self.importer
        conn, report = importer.conn, importer.report
        inserts = []
        by_external = importer.existing("customers", [r["external_id"] for _, r in batch])
        seen: dict[str, int] = {}
        for row, rec in batch:
            existing = by_external.get(rec["external_id"]) if rec["external_id"] else None
            if existing is None and rec["email"]:
                hit = conn.execute("SELECT id FROM customers WHERE email = ?", (rec["email"],)).fetchone()
                existing = hit[0] if hit else seen.get(rec["email"].lower())
            if existing is None and rec["external_id"] in seen:
                existing = seen[rec["external_id"]]
            if existing is not None:
                try:
                    importer.duplicate(row, rec["external_id"] or rec["email"], "customers")
                except RowError as exc:
                    importer.reject(row, exc)
                    continue
                if importer.on_duplicate == "update":
                    report.skipped -= 1
                    report.updated += 1
                    changes = {k: val for k, val in rec.items() if val not in (None, "") and k != "created_at"}
                    customer_records.update_fields(conn, existing, changes)
                continue
            inserts.append(tuple(rec.values()))
            marker = -1 - len(inserts)
            if rec["email"]:
                seen[rec["email"].lower()] = marker
            if rec["external_id"]:
                seen[rec["external_id"]] = marker
        if inserts:
            customer_records.add_many(conn, FIELDS["customers"], inserts)
            report.created += len(inserts)
