"""Importing interactions: messages, calls and notes, each on a ticket (by id or external id) or a customer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from carecli.data.importing.reading import SourceRow
from carecli.data.importing.values import RowError
from carecli.records import activity
from carecli.text.clock import in_the_future

if TYPE_CHECKING:
    from carecli.data.importing.importer import Importer


class InteractionRows:
    required: tuple[tuple[str, ...], ...] = (
        ("body",),
        ("at",),
        ("customer_email", "customer_name", "ticket_id", "ticket_external_id"),
    )
    group: Callable[[list[str]], str | None] | None = None  # one record each

    def __init__(self, importer: Importer):
        self.importer = importer

    def parser(self) -> Callable[[list[str]], Any]:
        return lambda record: self.parse()

    def parse(self) -> tuple:
        """The current record (`Values.record`) as an interaction, in activity.INTERACTION_COLUMNS order."""
        importer = self.importer
        v, conn = importer.v, importer.conn
        body = (v.text("body") or "").strip()
        if not body:
            raise v.error("body", "the message text is empty")
        at = v.time("at")
        if at is None:
            raise v.error("at", "an interaction needs the time it happened")
        if in_the_future(at, importer.now):
            raise v.error("at", "a time in the future; an interaction has already happened")
        at_text = at.isoformat()  # the getters give UTC in whole seconds: the stored form
        direction = (v.text("direction") or "in").lower()
        if direction not in activity.DIRECTIONS:
            raise v.error("direction", "use in, out or note (or map it in [values.direction])")
        ticket_id, customer_id = None, None
        external = v.text("ticket_external_id")
        if external:
            hit = conn.execute("SELECT id, customer_id FROM tickets WHERE external_id = ?", (external,)).fetchone()
            if hit is None:
                raise v.error("ticket_external_id", "no ticket with this external id; import the tickets first")
            ticket_id, customer_id = hit
        elif v.text("ticket_id"):
            number = v.integer("ticket_id", 1)
            hit = conn.execute("SELECT id, customer_id FROM tickets WHERE id = ?", (number,)).fetchone()
            if hit is None:
                raise v.error("ticket_id", "no such ticket")
            ticket_id, customer_id = hit
        if v.text("customer_email") or v.text("customer_name"):
            customer_id = importer.customer_for(v.text("customer_email"), v.text("customer_name"), at_text)
        if customer_id is None:
            raise v.error("customer_email", "no customer or ticket given")
        channel = v.choice("channel", "channels", "default_channel")
        return (customer_id, ticket_id, None, direction, channel, body, at_text)

    def flush(self, batch: list[tuple[SourceRow, tuple]]) -> None:
        importer = self.importer
        importer.flush_new_customers()
        rows = []
        seen: set[tuple] = set()
        for row, rec in batch:
            customer_id, ticket_id, _, direction, _, body, at = rec
            key = (customer_id, ticket_id, direction, at, body)
            # No external id: the same message at the same time for the same customer is a duplicate.
            hit = (
                key in seen
                or importer.conn.execute(
                    "SELECT 1 FROM interactions WHERE customer_id = ? AND ticket_id IS ? AND direction = ? AND at = ? "
                    "AND body = ?",
                    key,
                ).fetchone()
            )
            if hit:
                try:
                    importer.duplicate(row, body[:40], "interactions")
                except RowError as exc:
                    importer.reject(row, exc)
                continue
            seen.add(key)
            rows.append(rec)
        if rows:
            activity.add_interactions(importer.conn, rows)
            importer.report.created += len(rows)
