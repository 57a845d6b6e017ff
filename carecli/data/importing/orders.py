"""Importing orders: one record per line item, the rows of an order next to each other (as Shopify's
and WooCommerce's exports write them). An order is known by the shop's order number, so importing
the same export again adds nothing; an order cancelled or refunded in the shop is not imported."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Callable, NamedTuple

from carecli.core.errors import InvalidInput
from carecli.data.importing.reading import SourceRow
from carecli.data.importing.values import RowError
from carecli.records import orders as order_records
from carecli.text.clock import latest_past, to_db

if TYPE_CHECKING:
    from carecli.data.importing.importer import Importer

# Status values (after [values.status]) of orders that are not imported: no purchase to care about.
NOT_BOUGHT = ("cancelled", "refunded")
NOT_BOUGHT_WARNING = "a line of an order cancelled or refunded in the shop (not imported)"


class ParsedLine(NamedTuple):
    """One line item read and checked, with whatever order-level fields its row carries (Shopify
    writes them on an order's first row only)."""

    ref: str
    customer_email: str | None
    customer_name: str | None
    ordered_at: tuple[datetime, str] | None
    total: float | None
    currency: str | None
    not_bought: bool
    product: str
    qty: int
    amount: float | None


def _first(lines: list[ParsedLine], field: str):
    """The order-level field from the first of the order's rows that has it (mostly the first row)."""
    for line in lines:
        value = getattr(line, field)
        if value is not None:
            return value
    return None


class OrderRows:
    required: tuple[tuple[str, ...], ...] = (
        ("ref",),
        ("product",),
        ("ordered_at",),
        ("customer_email", "customer_name", "customer_first_name"),
    )

    def __init__(self, importer: Importer):
        if importer.on_duplicate == "update":
            raise InvalidInput(
                "--on-duplicate update does not apply to orders: an imported order is kept as it is",
                "pass --on-duplicate skip (the default) or error",
            )
        self.importer = importer
        ref_of = importer.v.getter("ref")
        self.group: Callable[[list[str]], str | None] | None = lambda record: order_records.clean_ref(ref_of(record))
        preset = importer.v.mapping.preset
        # The shop the preset is for; carecli's own layout or a mapping of one's own is "carecli".
        self.source = preset if preset in order_records.SOURCES else "carecli"

    def parser(self) -> Callable[[list[str]], ParsedLine]:
        """One function per import from a record to its ParsedLine, getters looked up once here."""
        importer = self.importer
        v = importer.v
        text, amount_getter = v.getter, v.amount_getter
        ref_of, email_of, name_of = text("ref"), text("customer_email"), text("customer_name")
        first_name_of, last_name_of = text("customer_first_name"), text("customer_last_name")
        status_of, cancelled_of, currency_of, product_of = (
            text("status"),
            text("cancelled_at"),
            text("currency"),
            text("product"),
        )
        ordered_of = v.time_getter("ordered_at")
        qty_of = v.integer_getter("qty")
        total_of, price_of, amount_of = amount_getter("total"), amount_getter("price"), amount_getter("amount")
        email, clean_ref = importer.email, order_records.clean_ref
        latest = latest_past(importer.now)

        def parse(record: list[str]) -> ParsedLine:
            ref = clean_ref(ref_of(record))
            if ref is None:
                raise v.error("ref", "a line item needs its order's number")
            product = product_of(record)
            product = " ".join(product.split()) if product else ""
            if not product:
                raise v.error("product", "a line item needs a product name")
            qty = qty_of(record)
            if qty is None:
                qty = 1
            elif qty < 1:
                raise v.error("qty", "a quantity is a whole number of at least 1")
            amount, price = amount_of(record), price_of(record)
            if amount is None and price is not None:
                amount = round(price * qty, 2)  # the line's amount from the unit price (Shopify's)
            ordered = ordered_of(record)
            if ordered is not None and ordered[0] > latest:
                raise v.error("ordered_at", "a time in the future; an order has already been placed")
            currency = currency_of(record)
            if currency is not None:
                currency = currency.upper()
                if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
                    raise v.error("currency", "not a currency code (three letters, e.g. EUR)")
            name = name_of(record)
            if name is None:
                name = " ".join(part for part in (first_name_of(record), last_name_of(record)) if part) or None
            status = status_of(record)
            return ParsedLine(
                ref,
                email(email_of(record), "customer_email"),
                name,
                ordered,
                total_of(record),
                currency,
                (status is not None and status.lower() in NOT_BOUGHT) or cancelled_of(record) is not None,
                product,
                qty,
                amount,
            )

        return parse

    def flush(self, batch: list[tuple[SourceRow, ParsedLine]]) -> None:
        """Write the batch's orders (whole: the importer never splits one across batches)."""
        importer = self.importer
        conn, report, v = importer.conn, importer.report, importer.v
        orders: list[tuple[list[SourceRow], list[ParsedLine]]] = []
        for row, line in batch:
            if orders and orders[-1][1][0].ref == line.ref:
                orders[-1][0].append(row)
                orders[-1][1].append(line)
            else:
                orders.append(([row], [line]))
        existing = importer.existing("orders", [lines[0].ref for _, lines in orders], column="ref")
        kept: list[tuple[list[ParsedLine], tuple[datetime, str]]] = []
        for rows, lines in orders:
            ref = lines[0].ref
            try:
                if ref in existing:
                    importer.duplicate(rows[0], ref, "orders", "ref")
                    continue
                ordered = _first(lines, "ordered_at")
                if ordered is None:
                    raise RowError(v.header_of("ordered_at"), "", "an order needs the time it was placed")
                if _first(lines, "customer_email") is None and _first(lines, "customer_name") is None:
                    raise RowError(v.header_of("customer_email"), "", "an order needs its customer's e-mail or name")
            except RowError as exc:
                for row in rows:
                    importer.reject(row, exc)
                continue
            if any(line.not_bought for line in lines):
                for _ in rows:
                    report.warn(NOT_BOUGHT_WARNING)
                continue
            kept.append((lines, ordered))
        if not kept:
            return
        customer_ids = importer.customer_ids(
            [(_first(lines, "customer_email"), _first(lines, "customer_name"), ordered[1]) for lines, ordered in kept]
        )
        order_id, line_id = order_records.next_ids(conn)
        if report.first_new_id is None:
            report.first_new_id = order_id
        created_at = to_db(importer.now)
        order_rows, line_rows = [], []
        for (lines, ordered), customer_id in zip(kept, customer_ids):
            total = _first(lines, "total")
            if total is None and all(line.amount is not None for line in lines):
                total = round(sum(line.amount or 0.0 for line in lines), 2)
            order_rows.append(
                (
                    order_id,
                    customer_id,
                    lines[0].ref,
                    ordered[1],
                    total,
                    _first(lines, "currency"),
                    self.source,
                    created_at,
                )
            )
            for position, line in enumerate(lines, start=1):
                line_rows.append((line_id, order_id, position, line.product, line.qty, line.amount))
                line_id += 1
            order_id += 1
        order_records.add_many(conn, order_rows, line_rows)
        report.created += len(order_rows)
