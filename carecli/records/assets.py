"""Assets: what a customer owns that needs care or service, and the services recorded on them.
The only writer of `assets` and `services`."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Iterable, Sequence

from carecli.core import store, undolog
from carecli.core.errors import InvalidInput, NotFound
from carecli.text.clock import to_db

ASSET_FIELDS = """
    a.id, a.customer_id, c.name AS customer_name, c.email AS customer_email, a.name, a.serial, a.plan,
    a.since, a.order_line_id,
    (SELECT max(s.serviced_at) FROM services s WHERE s.asset_id = a.id) AS last_serviced_at,
    (SELECT count(*) FROM services s WHERE s.asset_id = a.id) AS service_count,
    a.created_at
"""


def _text(value: str | None) -> str | None:
    value = " ".join(value.split()) if value else ""
    return value or None


def add_asset(
    conn: sqlite3.Connection,
    *,
    customer_id: int,
    name: str,
    since: datetime,
    now: datetime,
    serial: str | None = None,
    plan: str | None = None,
    order_line_id: int | None = None,
) -> int:
    """Add an asset the customer owns since `since`; returns its id."""
    clean = _text(name)
    if clean is None:
        raise InvalidInput("the asset has no name", "e.g. carecli asset add alice 'City bike'")
    if (
        order_line_id is not None
        and store.scalar(conn, "SELECT 1 FROM order_lines WHERE id = ?", (order_line_id,)) is None
    ):
        raise NotFound(f"no order line #{order_line_id}", "see `carecli order show`")
    asset_id = undolog.next_id(conn, "assets")
    store.insert(
        conn,
        "assets",
        {
            "id": asset_id,
            "customer_id": customer_id,
            "name": clean,
            "serial": _text(serial),
            "plan": _text(plan),
            "since": to_db(since),
            "order_line_id": order_line_id,
            "created_at": to_db(now),
        },
    )
    return asset_id


ASSET_COLUMNS = ("id", "customer_id", "name", "plan", "since", "order_line_id", "created_at")


def add_many(conn: sqlite3.Connection, rows: Iterable[Sequence]) -> None:
    """Assets in bulk (a care plan's, from order lines), rows in ASSET_COLUMNS order, already checked."""
    store.insert_many(conn, "assets", ASSET_COLUMNS, rows)


def get_asset(conn: sqlite3.Connection, asset_id: int) -> sqlite3.Row:
    row = store.one(
        conn,
        f"SELECT {ASSET_FIELDS} FROM assets a JOIN customers c ON c.id = a.customer_id WHERE a.id = ?",
        (asset_id,),
    )
    if row is None:
        raise NotFound(f"no asset #{asset_id}", "see `carecli asset list`")
    return row


def list_assets(conn: sqlite3.Connection, *, customer_id: int | None = None, limit: int = 0) -> list[sqlite3.Row]:
    """Assets, by customer then oldest first."""
    sql = f"SELECT {ASSET_FIELDS} FROM assets a JOIN customers c ON c.id = a.customer_id"
    params: list = []
    if customer_id is not None:
        sql += " WHERE a.customer_id = ?"
        params.append(customer_id)
    sql += " ORDER BY a.customer_id, a.since, a.id"
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return conn.execute(sql, params).fetchall()


def services(conn: sqlite3.Connection, asset_id: int) -> list[dict]:
    """The services recorded on an asset, oldest first."""
    return [
        dict(row)
        for row in conn.execute(
            "SELECT id, asset_id, serviced_at, note, created_at FROM services WHERE asset_id = ? ORDER BY serviced_at, id",
            (asset_id,),
        )
    ]


def record_service(
    conn: sqlite3.Connection, asset_id: int, *, serviced_at: datetime, now: datetime, note: str | None = None
) -> int:
    """Record that an asset was serviced; returns the service's id."""
    asset = get_asset(conn, asset_id)
    if to_db(serviced_at) < asset["since"]:
        raise InvalidInput(
            f"asset #{asset_id} was serviced before the customer had it ({asset['since'][:10]})",
            "check --at, or the asset's --since",
        )
    service_id = undolog.next_id(conn, "services")
    store.insert(
        conn,
        "services",
        {
            "id": service_id,
            "asset_id": asset_id,
            "serviced_at": to_db(serviced_at),
            "note": (note or "").strip(),
            "created_at": to_db(now),
        },
    )
    return service_id
