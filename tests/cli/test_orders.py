"""`carecli order ...` and `carecli asset ...` as people use them, errors included."""

from __future__ import annotations

import pytest

from tests.conftest import database_digest


def test_order_add_with_several_items_and_show_by_the_shop_number(shop):
    result = shop(
        "order",
        "add",
        "ada",
        "--item",
        "orchid x2 @29.00",
        "--item",
        "pot @4.50",
        "--ref",
        "#1042",
        "--at",
        "2026-03-12 15:00",
        ok=True,
    )
    assert result.stderr.strip() == "added order #1 (1042) for Ada Lovelace: 2 line(s)"
    order = shop.json("order", "show", "1042")
    assert order["total"] == 33.5 and order["ordered_at"] == "2026-03-12T14:00:00+00:00"
    assert [(i["product"], i["qty"], i["amount"]) for i in order["items"]] == [("orchid", 2, 29.0), ("pot", 1, 4.5)]
    assert shop.json("order", "show", "1")["ref"] == "1042"


def test_order_list_filters_by_customer_and_since(shop):
    shop("order", "add", "ada", "--item", "orchid", "--ref", "1", "--at", "2026-03-01", ok=True)
    shop("order", "add", "ben", "--item", "fern", "--ref", "2", "--at", "2026-03-10", ok=True)
    assert [o["ref"] for o in shop.json("order", "list")] == ["2", "1"]
    assert [o["ref"] for o in shop.json("order", "list", "--customer", "ada")] == ["1"]
    assert [o["ref"] for o in shop.json("order", "list", "--since", "2026-03-05")] == ["2"]
    csv = shop("order", "list", "--format", "csv", ok=True).stdout
    assert csv.splitlines()[0].startswith("id,ref,customer_id,customer_name,ordered_at")


@pytest.mark.parametrize(
    "args, error",
    [
        (("order", "add", "nobody", "--item", "orchid"), "error: no customer 'nobody'"),
        (("order", "add", "ada", "--item", "orchid @abc"), "error: 'abc' in --item 'orchid @abc' is not an amount"),
        (("order", "add", "ada", "--item", "orchid @-3"), "is not a price"),
        (("order", "add", "ada", "--item", "orchid", "--at", "+2d"), "is in the future"),
        (("order", "show", "999"), "error: no order '999'"),
        (("asset", "show", "9"), "error: no asset #9"),
        (("asset", "serviced", "9"), "error: no asset #9"),
        (("asset", "add", "ada", "bike", "--since", "tomorrow"), "--since"),
    ],
)
def test_errors_are_one_line_exit_1_and_write_nothing(shop, db_path, args, error):
    before = database_digest(db_path)
    result = shop(*args)
    assert result.exit_code == 1, result.stdout
    assert error in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert database_digest(db_path) == before


def test_a_duplicate_order_number_is_refused(shop, db_path):
    shop("order", "add", "ada", "--item", "orchid", "--ref", "1042", ok=True)
    before = database_digest(db_path)
    result = shop("order", "add", "ben", "--item", "fern", "--ref", "#1042")
    assert result.exit_code == 1
    assert "order 1042 already exists (#1)" in result.stderr
    assert database_digest(db_path) == before


def test_an_order_needs_an_item(shop):
    assert shop("order", "add", "ada").exit_code == 2


def test_asset_add_serviced_and_show(shop, isolated, monkeypatch):
    config = isolated / "plans.toml"
    config.write_text(
        '[[care.plans]]\nname = "bike-service"\nproducts = ["*bike*"]\nasset = true\n'
        '[[care.plans.steps]]\nevery = "6 months"\nkind = "service-reminder"\n'
    )
    monkeypatch.setenv("CARECLI_CONFIG", str(config))
    result = shop(
        "asset",
        "add",
        "ada",
        "City bike",
        "--serial",
        "F-123",
        "--plan",
        "bike-service",
        "--since",
        "2025-06-01",
        ok=True,
    )
    assert result.stderr.strip().splitlines()[0] == "added asset #1 for Ada Lovelace"
    result = shop("asset", "serviced", "1", "--at", "2026-03-10", "--note", "new chain", ok=True)
    assert result.stderr.strip().splitlines()[0] == "recorded a service of asset #1"
    asset = shop.json("asset", "show", "1")
    assert asset["serial"] == "F-123" and asset["plan"] == "bike-service"
    assert asset["last_serviced_at"] == "2026-03-09T23:00:00+00:00"
    assert [s["note"] for s in asset["services"]] == ["new chain"]
    assert [a["name"] for a in shop.json("asset", "list", "--customer", "ada")] == ["City bike"]
    assert shop.json("asset", "list", "--customer", "ben") == []
    assert "in the future" in shop("asset", "serviced", "1", "--at", "+1d").stderr


def test_customer_show_has_the_orders_assets_and_timeline(shop):
    shop("order", "add", "ada", "--item", "orchid x2 @29.00", "--ref", "1042", "--at", "2026-03-12", ok=True)
    shop("asset", "add", "ada", "City bike", "--since", "2025-06-01", ok=True)
    shop("asset", "serviced", "1", "--at", "2026-03-13 12:00", ok=True)
    record = shop.json("customer", "show", "ada")
    assert record["orders"] == 1
    assert [o["ref"] for o in record["last_orders"]] == ["1042"]
    assert [a["name"] for a in record["assets"]] == ["City bike"]
    kinds = [(t["direction"], t["body"]) for t in record["timeline"]]
    assert ("order", "order 1042: orchid x2 (29.00)") in kinds
    assert ("service", "City bike (asset #1) serviced") in kinds
    table = shop("customer", "show", "ada", ok=True).stdout
    assert "Last orders" in table and "Assets" in table
