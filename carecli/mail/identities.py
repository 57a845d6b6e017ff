"""The addresses a customer writes from (table customer_addresses): the one writer of that table,
and the customer a sender is. A customer is only ever found by an address, never by a name."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from carecli.core import store
from carecli.core.errors import CareError
from carecli.records.customers import add_customer, clean_name
from carecli.text.clock import to_db


def customer_of(conn: sqlite3.Connection, address: str) -> int | None:
    """The customer who has this e-mail address, or None."""
    return store.scalar(
        conn, "SELECT customer_id FROM customer_addresses WHERE kind = 'email' AND address = ?", (address,)
    )


def addresses_of(conn: sqlite3.Connection, customer_id: int) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT address FROM customer_addresses WHERE customer_id = ? AND kind = 'email' ORDER BY id",
            (customer_id,),
        )
    ]


def add_address(conn: sqlite3.Connection, customer_id: int, address: str, *, at: datetime) -> None:
    store.insert(
        conn,
        "customer_addresses",
        {"customer_id": customer_id, "kind": "email", "address": address, "created_at": to_db(at)},
    )


def customer_for_sender(conn: sqlite3.Connection, address: str, display_name: str, *, at: datetime) -> tuple[int, bool]:
    """The customer writing from `address`; an unknown one becomes a new customer named after the
    display name (else the address). Returns (customer id, whether it was created)."""
    known = customer_of(conn, address)
    if known is not None:
        return known, False
    name = _name_for(display_name, address)
    try:
        customer = add_customer(conn, name, at=at, email=address)  # a trigger adds the address
    except CareError:  # an address the customer record refuses (e.g. no dot in the domain): keep it here only
        customer = add_customer(conn, name, at=at)
    if customer_of(conn, address) is None:
        add_address(conn, customer["id"], address, at=at)
    return customer["id"], True


def _name_for(display_name: str, address: str) -> str:
    for candidate in (display_name, address):
        try:
            return clean_name(candidate)
        except CareError:
            continue
    return address
