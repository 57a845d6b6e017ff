"""Orders and assets in records/: the one writer of each, and what the hooks (plans) rely on."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from carecli.core import store
from carecli.core.errors import Conflict, InvalidInput, NotFound
from carecli.records import assets, customers, orders
from carecli.records.orders import Line
from carecli.schema import database

NOW = datetime(2026, 3, 14, 10, tzinfo=timezone.utc)
DAY = datetime(2026, 3, 10, 9, tzinfo=timezone.utc)


@pytest.fixture
def env(db_path):
    conn = database.connect(db_path, create=True)
    with store.transaction(conn):
        ada = customers.add_customer(conn, "Ada Lovelace", at=datetime(2020, 1, 1, tzinfo=timezone.utc))
    yield conn, ada["id"]
    conn.close()


def test_add_order_returns_its_id_and_line_ids_in_position_order(env):
    conn, ada = env
    with store.transaction(conn):
        added = orders.add_order(
            conn,
            customer_id=ada,
            lines=[Line("orchid", 2, 29.0), Line("  pot  ", 1, 4.5)],
            ordered_at=DAY,
            now=NOW,
            ref="#1042",
        )
    lines = orders.order_lines(conn, added.order_id)
    assert [line["id"] for line in lines] == added.line_ids
    assert [(line["position"], line["product"], line["qty"], line["amount"]) for line in lines] == [
        (1, "orchid", 2, 29.0),
        (2, "pot", 1, 4.5),
    ]
    order = orders.resolve_order(conn, "1042")
    assert order["ref"] == "1042" and order["total"] == 33.5 and order["lines"] == 2
    assert orders.resolve_order(conn, "#1042")["id"] == added.order_id


def test_the_total_is_unknown_when_a_line_amount_is_unknown(env):
    conn, ada = env
    with store.transaction(conn):
        added = orders.add_order(
            conn, customer_id=ada, lines=[Line("orchid", 1, 9.0), Line("pot")], ordered_at=DAY, now=NOW
        )
    assert orders.get_order(conn, added.order_id)["total"] is None


def test_a_duplicate_order_number_is_a_conflict(env):
    conn, ada = env
    with store.transaction(conn):
        orders.add_order(conn, customer_id=ada, lines=[Line("orchid")], ordered_at=DAY, now=NOW, ref="1042")
    with pytest.raises(Conflict, match="order 1042 already exists"):
        orders.add_order(conn, customer_id=ada, lines=[Line("fern")], ordered_at=DAY, now=NOW, ref="#1042")


@pytest.mark.parametrize(
    "lines, match",
    [
        ([], "at least one line item"),
        ([Line("   ")], "no product name"),
        ([Line("orchid", 0)], "not a positive whole number"),
        ([Line("orchid", 1, -1.0)], "not a price"),
        ([Line("orchid", 1, float("nan"))], "not a price"),
    ],
)
def test_bad_lines_are_refused_and_nothing_is_written(env, lines, match):
    conn, ada = env
    with pytest.raises(InvalidInput, match=match):
        orders.add_order(conn, customer_id=ada, lines=lines, ordered_at=DAY, now=NOW)
    assert store.scalar(conn, "SELECT count(*) FROM orders") == 0


def test_list_orders_newest_first_and_since(env):
    conn, ada = env
    with store.transaction(conn):
        for day in (1, 5, 9):
            orders.add_order(
                conn, customer_id=ada, lines=[Line(f"p{day}")], ordered_at=DAY.replace(day=day), now=NOW, ref=str(day)
            )
    assert [o["ref"] for o in orders.list_orders(conn)] == ["9", "5", "1"]
    assert [o["ref"] for o in orders.list_orders(conn, since=DAY.replace(day=4))] == ["9", "5"]
    assert orders.order_count(conn, ada) == 3


def test_unknown_order_is_not_found(env):
    conn, _ = env
    with pytest.raises(NotFound, match="no order '77'"):
        orders.resolve_order(conn, "77")


def test_an_asset_keeps_its_services_and_the_last_one_counts(env):
    conn, ada = env
    with store.transaction(conn):
        asset_id = assets.add_asset(conn, customer_id=ada, name="City  bike", since=DAY.replace(month=1), now=NOW)
        assets.record_service(conn, asset_id, serviced_at=DAY, now=NOW, note="chain")
        assets.record_service(conn, asset_id, serviced_at=DAY.replace(month=2), now=NOW)
    asset = assets.get_asset(conn, asset_id)
    assert asset["name"] == "City bike"
    assert asset["service_count"] == 2 and asset["last_serviced_at"] == "2026-03-10T09:00:00+00:00"
    assert [s["note"] for s in assets.services(conn, asset_id)] == ["", "chain"]


def test_a_service_before_the_customer_had_the_asset_is_refused(env):
    conn, ada = env
    with store.transaction(conn):
        asset_id = assets.add_asset(conn, customer_id=ada, name="bike", since=DAY, now=NOW)
    with pytest.raises(InvalidInput, match="before the customer had it"):
        assets.record_service(conn, asset_id, serviced_at=DAY.replace(day=1), now=NOW)


def test_an_asset_may_come_from_an_order_line(env):
    conn, ada = env
    with store.transaction(conn):
        added = orders.add_order(conn, customer_id=ada, lines=[Line("e-bike", 1, 2000.0)], ordered_at=DAY, now=NOW)
        asset_id = assets.add_asset(
            conn, customer_id=ada, name="e-bike", since=DAY, now=NOW, order_line_id=added.line_ids[0]
        )
    assert assets.get_asset(conn, asset_id)["order_line_id"] == added.line_ids[0]
    with pytest.raises(NotFound, match="no order line #99"):
        assets.add_asset(conn, customer_id=ada, name="x", since=DAY, now=NOW, order_line_id=99)


def test_orders_and_services_are_in_the_customer_timeline(env):
    conn, ada = env
    with store.transaction(conn):
        orders.add_order(conn, customer_id=ada, lines=[Line("orchid", 2, 29.0)], ordered_at=DAY, now=NOW, ref="1042")
        asset_id = assets.add_asset(conn, customer_id=ada, name="bike", since=DAY.replace(day=1), now=NOW)
        assets.record_service(conn, asset_id, serviced_at=DAY.replace(day=12), now=NOW, note="brakes")
    timeline = customers.customer_timeline(conn, ada)
    assert [(t["direction"], t["body"]) for t in timeline] == [
        ("order", "order 1042: orchid x2 (29.00)"),
        ("service", "bike (asset #1) serviced: brakes"),
    ]
