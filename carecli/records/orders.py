"""Orders: what a customer bought, line by line. The only writer of `orders` and `order_lines`."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from carecli.core import store, undolog
from carecli.core.errors import Conflict, InvalidInput, NotFound
from carecli.text.clock import to_db

SOURCES = ("manual", "shopify", "woocommerce", "carecli")

ORDER_FIELDS = """
    o.id, o.ref, o.customer_id, c.name AS customer_name, c.email AS customer_email, o.ordered_at,
    (SELECT count(*) FROM order_lines l WHERE l.order_id = o.id) AS lines,
    o.total, o.currency, o.source, o.created_at
"""


@dataclass(frozen=True)
class Line:
    """One line item as given: a product, how many, and what the line cost (None: not known)."""

    product: str
    qty: int = 1
    amount: float | None = None


@dataclass(frozen=True)
class AddedOrder:
    """What add_order wrote: the order's id and its line ids in position order (plans hook here)."""

    order_id: int
    line_ids: list[int]


def check_line(line: Line) -> Line:
    product = " ".join(line.product.split())
    if not product:
        raise InvalidInput("a line item has no product name", "give one, e.g. --item 'orchid'")
    if line.qty < 1:
        raise InvalidInput(f"quantity {line.qty} for '{product}' is not a positive whole number", "e.g. --qty 2")
    if line.amount is not None and (not math.isfinite(line.amount) or line.amount < 0):
        raise InvalidInput(f"amount {line.amount} for '{product}' is not a price", "e.g. --amount 29.90")
    return Line(product, line.qty, line.amount)


def clean_ref(ref: str | None) -> str | None:
    """The shop's order number without surrounding blanks or Shopify's leading '#'."""
    if ref is None:
        return None
    ref = ref.strip().lstrip("#").strip()
    return ref or None


def add_order(
    conn: sqlite3.Connection,
    *,
    customer_id: int,
    lines: Sequence[Line],
    ordered_at: datetime,
    now: datetime,
    ref: str | None = None,
    total: float | None = None,
    currency: str | None = None,
    source: str = "manual",
) -> AddedOrder:
    """Add an order with its line items; the total is the sum of the line amounts unless given."""
    if not lines:
        raise InvalidInput("an order needs at least one line item", "give --item NAME (repeat for more)")
    if source not in SOURCES:
        raise InvalidInput(f"unknown order source '{source}'", f"use one of: {', '.join(SOURCES)}")
    checked = [check_line(line) for line in lines]
    ref = clean_ref(ref)
    if ref is not None:
        existing = store.scalar(conn, "SELECT id FROM orders WHERE ref = ?", (ref,))
        if existing is not None:
            raise Conflict(f"order {ref} already exists (#{existing})", f"see `carecli order show {ref}`")
    if total is None and all(line.amount is not None for line in checked):
        total = round(sum(line.amount or 0.0 for line in checked), 2)
    if total is not None and (not math.isfinite(total) or total < 0):
        raise InvalidInput(f"total {total} is not an amount", "e.g. 29.90")
    order_id = undolog.next_id(conn, "orders")
    store.insert(
        conn,
        "orders",
        {
            "id": order_id,
            "customer_id": customer_id,
            "ref": ref,
            "ordered_at": to_db(ordered_at),
            "total": total,
            "currency": currency.strip().upper() if currency and currency.strip() else None,
            "source": source,
            "created_at": to_db(now),
        },
    )
    line_ids = []
    for position, line in enumerate(checked, start=1):
        line_id = undolog.next_id(conn, "order_lines")
        store.insert(
            conn,
            "order_lines",
            {
                "id": line_id,
                "order_id": order_id,
                "position": position,
                "product": line.product,
                "qty": line.qty,
                "amount": line.amount,
            },
        )
        line_ids.append(line_id)
    return AddedOrder(order_id, line_ids)


# The columns of the batched writer's rows (an import hands them over already checked).
ORDER_COLUMNS = ("id", "customer_id", "ref", "ordered_at", "total", "currency", "source", "created_at")
LINE_COLUMNS = ("id", "order_id", "position", "product", "qty", "amount")


def next_ids(conn: sqlite3.Connection) -> tuple[int, int]:
    """The ids the next order and the next order line get (see undolog.next_id)."""
    return undolog.next_id(conn, "orders"), undolog.next_id(conn, "order_lines")


def add_many(conn: sqlite3.Connection, orders: Sequence[Sequence], lines: Sequence[Sequence]) -> None:
    """Orders and their lines in bulk, in ORDER_COLUMNS and LINE_COLUMNS order, ids from `next_ids`,
    each line checked by check_line and each ref by clean_ref already (the import's batched writer)."""
    store.insert_many(conn, "orders", ORDER_COLUMNS, orders)
    store.insert_many(conn, "order_lines", LINE_COLUMNS, lines)


def get_order(conn: sqlite3.Connection, order_id: int) -> sqlite3.Row:
    row = store.one(
        conn,
        f"SELECT {ORDER_FIELDS} FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = ?",
        (order_id,),
    )
    if row is None:
        raise NotFound(f"no order #{order_id}", "see `carecli order list`")
    return row


def resolve_order(conn: sqlite3.Connection, ref: str) -> sqlite3.Row:
    """An order by the shop's number (`1042`, `#1042`) or, failing that, by carecli's id."""
    text = str(ref).strip()
    number = clean_ref(text)
    found = store.scalar(conn, "SELECT id FROM orders WHERE ref = ?", (number,)) if number else None
    if found is None and text.isdigit():
        found = store.scalar(conn, "SELECT id FROM orders WHERE id = ?", (int(text),))
    if found is None:
        raise NotFound(f"no order '{text}'", "give the shop's order number or carecli's id; see `carecli order list`")
    return get_order(conn, found)


def order_lines(conn: sqlite3.Connection, order_id: int) -> list[dict]:
    """The line items of an order, in position order."""
    return [
        dict(row)
        for row in conn.execute(
            "SELECT id, order_id, position, product, qty, amount FROM order_lines WHERE order_id = ? ORDER BY position",
            (order_id,),
        )
    ]


def list_orders(
    conn: sqlite3.Connection,
    *,
    customer_id: int | None = None,
    since: datetime | None = None,
    limit: int = 0,
) -> list[sqlite3.Row]:
    """Orders, newest first."""
    where: list[str] = []
    params: list = []
    if customer_id is not None:
        where.append("o.customer_id = ?")
        params.append(customer_id)
    if since is not None:
        where.append("o.ordered_at >= ?")
        params.append(to_db(since))
    sql = f"SELECT {ORDER_FIELDS} FROM orders o JOIN customers c ON c.id = o.customer_id"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY o.ordered_at DESC, o.id DESC"
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return conn.execute(sql, params).fetchall()


def order_count(conn: sqlite3.Connection, customer_id: int) -> int:
    return store.scalar(conn, "SELECT count(*) FROM orders WHERE customer_id = ?", (customer_id,)) or 0
