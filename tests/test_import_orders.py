"""Importing orders through carecli.data.importing: line items grouped into orders, customers
matched by e-mail (any of their addresses), amounts as shops write them."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carecli.core import config
from carecli.core.errors import InvalidInput
from carecli.data import importing
from carecli.data.importing import importer as importer_module
from carecli.data.importing.values import read_amount
from carecli.records import customers, orders
from carecli.schema import database

FIXTURES = Path(__file__).parent / "fixtures" / "orders"
NOW = datetime(2026, 3, 14, 10, 0, tzinfo=timezone.utc)


def _import(conn, preset: str | None, path: Path, on_duplicate: str = "skip") -> importing.Report:
    with path.open(encoding="utf-8", newline="") as stream:
        header, rows = importing.read_rows(stream, "csv")
        mapping = importing.load_mapping("orders", preset=preset, header=header)
        with importing.import_transaction(conn, bulk=False):
            importer = importing.Importer(
                conn,
                config.load(),
                "orders",
                mapping,
                header,
                on_duplicate=on_duplicate,
                now=NOW,
                file_label=path.name,
            )
            return importer.run(rows)


@pytest.fixture
def conn(db_path):
    connection = database.connect(db_path, create=True)
    yield connection
    connection.close()


def _orders(conn) -> list[tuple]:
    return [
        (
            row["ref"],
            row["customer_name"],
            row["ordered_at"],
            row["lines"],
            row["total"],
            row["currency"],
            row["source"],
        )
        for row in reversed(orders.list_orders(conn))
    ]


def _lines(conn, ref: str) -> list[tuple]:
    order = orders.resolve_order(conn, ref)
    return [
        (line["position"], line["product"], line["qty"], line["amount"])
        for line in orders.order_lines(conn, order["id"])
    ]


def test_shopify_rows_become_orders_with_their_lines_in_file_order(conn):
    report = _import(conn, "shopify", FIXTURES / "shopify.csv")
    # #1003 was refunded and #1004 voided (cancelled): not bought, so not imported.
    assert (report.created, report.rejected, report.skipped) == (3, 0, 0)
    assert report.warnings == {importing.orders.NOT_BOUGHT_WARNING: 3}
    assert _orders(conn) == [
        ("1001", "Zoë Brühl", "2026-02-03T09:15:27+00:00", 2, 42.8, "EUR", "shopify"),
        ("1002", "Ada Lovelace", "2026-02-10T15:02:00+00:00", 1, 14.0, "EUR", "shopify"),
        ("1005", "Zoë Brühl", "2026-03-01T10:45:00+00:00", 3, 66.3, "EUR", "shopify"),
    ]
    # The unit price times the quantity is the line's amount; a comma in a product name survives.
    assert _lines(conn, "#1001") == [(1, "Orchid Phalaenopsis, white", 1, 24.9), (2, "Ceramic pot Ø12 cm", 2, 13.0)]
    assert _lines(conn, "1005") == [
        (1, "Orchid Phalaenopsis, pink", 1, 26.9),
        (2, "Orchid food, 250 ml", 2, 15.0),
        (3, "Repotting service", 1, 19.5),
    ]
    assert report.first_new_id == orders.resolve_order(conn, "1001")["id"]


def test_woocommerce_rows_repeat_the_order_and_name_the_customer_in_two_columns(conn):
    report = _import(conn, "woocommerce", FIXTURES / "woocommerce.csv")
    assert (report.created, report.customers_created) == (2, 2)  # 2052 was cancelled
    # order_date has no offset: read in the configured zone (Europe/Berlin in the tests).
    assert _orders(conn) == [
        ("2051", "Inès Dubois", "2026-02-05T08:12:44+00:00", 2, 52.3, "EUR", "woocommerce"),
        ("2053", "José Núñez", "2026-03-02T07:05:10+00:00", 3, 44.9, "EUR", "woocommerce"),
    ]
    assert _lines(conn, "2053") == [
        (1, "Monstera deliciosa, small", 2, 30.0),
        (2, "Potting soil, 5 l", 1, 5.0),
        (3, "Drainage pebbles", 1, 5.0),
    ]


def test_carecli_layout_gives_order_fields_on_the_first_row_and_sums_a_missing_total(conn):
    _import(conn, "carecli", FIXTURES / "carecli.csv")
    assert _orders(conn) == [
        ("A-17", "Ada Lovelace", "2026-03-05T13:30:00+00:00", 2, 41.8, "EUR", "carecli"),
        ("A-18", "Mia Schäfer", "2026-03-07T08:00:00+00:00", 1, 89.0, "EUR", "carecli"),
    ]
    assert _lines(conn, "A-17") == [(1, "Rose bouquet, red", 1, 35.0), (2, "Greeting card", 2, 6.8)]


def test_an_order_is_never_split_across_batches(conn, monkeypatch):
    monkeypatch.setattr(importer_module, "BATCH", 2)
    _import(conn, "shopify", FIXTURES / "shopify.csv")
    assert [lines for _, _, _, lines, *_ in _orders(conn)] == [2, 1, 3]


def test_importing_the_same_export_again_adds_nothing(conn):
    _import(conn, "shopify", FIXTURES / "shopify.csv")
    again = _import(conn, "shopify", FIXTURES / "shopify.csv")
    assert (again.created, again.skipped, again.customers_created) == (0, 3, 0)
    assert len(_orders(conn)) == 3


def test_customers_are_matched_by_any_of_their_addresses_whatever_the_case(conn, db_path):
    from carecli.core import store
    from carecli.mail import identities

    with store.transaction(conn):
        zoe = customers.add_customer(conn, "Zoë B.", email="zoe.b@example.org", at=NOW)["id"]
        identities.add_address(conn, zoe, "zoe@example.com", at=NOW)  # she wrote from this one too
        ada = customers.add_customer(conn, "Ada Lovelace", email="ADA@example.com", at=NOW)["id"]
    report = _import(conn, "shopify", FIXTURES / "shopify.csv")
    assert report.customers_created == 0
    assert {row["customer_id"] for row in orders.list_orders(conn)} == {zoe, ada}
    assert orders.resolve_order(conn, "1005")["customer_id"] == zoe  # written Zoe@Example.com


def test_update_on_duplicate_is_refused_for_orders(conn):
    with pytest.raises(InvalidInput) as caught:
        _import(conn, "shopify", FIXTURES / "shopify.csv", on_duplicate="update")
    assert "--on-duplicate update does not apply to orders" in str(caught.value)
    assert _orders(conn) == []


@pytest.mark.parametrize(
    "text, amount",
    [("29.90", 29.9), ("29,90", 29.9), ("1,234.50", 1234.5), ("1.234,50", 1234.5), (" 7 ", 7.0), ("0", 0.0)],
)
def test_amounts_as_shops_write_them(text, amount):
    assert read_amount(text) == amount


@pytest.mark.parametrize("text", ["-3.00", "€12", "abc", "inf", "nan", "", "1.2.3x"])
def test_what_is_not_an_amount(text):
    assert read_amount(text) is None


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_an_amount_reads_the_same_in_every_shop_notation(value):
    plain = f"{value:.2f}"
    grouped = f"{value:,.2f}"  # 1,234.50
    european = grouped.replace(",", " ").replace(".", ",").replace(" ", ".")  # 1.234,50
    expected = float(plain)
    assert read_amount(plain) == read_amount(grouped) == read_amount(european) == expected
