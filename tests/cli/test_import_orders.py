"""`carecli import orders FILE --preset shopify|woocommerce|carecli` as people use it: idempotent,
--dry-run predicting the real run, bad rows rejected with their reasons, one undo step."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import database_digest

FIXTURES = Path(__file__).parent.parent / "fixtures" / "orders"


def _last_line(result) -> str:
    return result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "preset, expected",
    [
        ("shopify", "imported 3 orders, updated 0, skipped 0 already imported, rejected 0; 1 new customer"),
        ("woocommerce", "imported 2 orders, updated 0, skipped 0 already imported, rejected 0; 2 new customers"),
        ("carecli", "imported 2 orders, updated 0, skipped 0 already imported, rejected 0; 1 new customer"),
    ],
)
def test_each_preset_imports_its_shops_export(shop, preset, expected):
    result = shop("import", "orders", str(FIXTURES / f"{preset}.csv"), "--preset", preset, ok=True)
    assert _last_line(result) == expected
    listed = shop.json("order", "list")
    assert {order["source"] for order in listed} == {preset}
    # Ada is in the shop already: her orders are hers, not a new customer's.
    assert all(order["customer_id"] == 1 for order in listed if order["customer_name"] == "Ada Lovelace")
    assert len([c for c in shop.json("customer", "list") if c["email"] == "ada@example.com"]) == 1


def test_cancelled_and_refunded_orders_are_named_in_a_warning_not_imported(shop):
    result = shop("import", "orders", str(FIXTURES / "shopify.csv"), "--preset", "shopify", ok=True)
    assert "warning: 3 rows: a line of an order cancelled or refunded in the shop (not imported)" in result.stderr
    assert sorted(order["ref"] for order in shop.json("order", "list")) == ["1001", "1002", "1005"]


def test_the_same_file_again_adds_nothing(shop, db_path):
    args = ("import", "orders", str(FIXTURES / "shopify.csv"), "--preset", "shopify")
    shop(*args, ok=True)
    before = database_digest(db_path)
    again = shop(*args, ok=True)
    assert _last_line(again) == "imported 0 orders, updated 0, skipped 3 already imported, rejected 0"
    assert database_digest(db_path) == before


def test_a_file_of_carecli_field_names_needs_no_preset(shop):
    shop("import", "orders", str(FIXTURES / "carecli.csv"), ok=True)
    order = shop.json("order", "show", "A-17")
    assert order["customer_name"] == "Ada Lovelace" and order["total"] == 41.8
    assert [(item["product"], item["qty"]) for item in order["items"]] == [
        ("Rose bouquet, red", 1),
        ("Greeting card", 2),
    ]


BAD = (
    "ref,customer_email,customer_name,ordered_at,total,currency,product,qty,amount\n"
    "B-1,eve@example.com,Eve,2026-03-05 14:30,,EUR,Rose,1,5.00\n"
    "B-1,,,,,,Card,x,1.00\n"
    "B-2,eve@example.com,Eve,2026-03-06 10:00,,EUR,Lily,1,7.00\n"
    "B-3,eve@example.com,Eve,2026-03-16 10:00,,EUR,Lily,1,7.00\n"
    "B-2,,,,,,Fern,1,7.00\n"
    "B-4,eve@example.com,Eve,,,EUR,Lily,1,7.00\n"
)
REASONS = [
    "bad.csv:2: not imported: line 3 of the same order was rejected",
    "bad.csv:3: column 'qty' value 'x': not a whole number",
    "bad.csv:5: column 'ordered_at' value '2026-03-16 10:00': a time in the future; an order has already been placed",
    "bad.csv:6: column 'ref' value 'B-2': line 4 has rows of this order already; an order's rows must be next to each other",
    "bad.csv:7: column 'ordered_at' value '': an order needs the time it was placed",
]


def test_bad_rows_are_refused_with_their_reasons_and_nothing_is_written(shop, tmp_path, db_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.csv").write_text(BAD)
    before = database_digest(db_path)
    result = shop("import", "orders", "bad.csv")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:5] == REASONS
    assert _last_line(result).startswith("error: 5 bad rows in ")
    assert database_digest(db_path) == before


def test_skip_bad_imports_the_good_orders_and_writes_each_bad_row_with_its_reason(shop, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.csv").write_text(BAD)
    result = shop("import", "orders", "bad.csv", "--skip-bad", ok=True)
    assert _last_line(result) == "imported 1 order, updated 0, skipped 0 already imported, rejected 5; 1 new customer"
    assert [order["ref"] for order in shop.json("order", "list")] == ["B-2"]
    rejects = (tmp_path / "bad.csv.rejects.csv").read_text().splitlines()
    assert rejects[0] == "line,reason,ref,customer_email,customer_name,ordered_at,total,currency,product,qty,amount"
    assert [line.split(",")[0] for line in rejects[1:]] == ["2", "3", "5", "6", "7"]
    assert "not a whole number" in rejects[2]


@pytest.mark.parametrize(
    "content, extra",
    [
        ((FIXTURES / "shopify.csv").read_text(encoding="utf-8"), ("--preset", "shopify")),
        ((FIXTURES / "woocommerce.csv").read_text(encoding="utf-8"), ("--preset", "woocommerce")),
        (BAD, ()),
        (BAD, ("--skip-bad",)),
        (BAD, ("--on-duplicate", "error")),
    ],
    ids=["shopify", "woocommerce", "bad", "bad-skip-bad", "bad-duplicate-error"],
)
def test_dry_run_predicts_the_real_run_line_for_line(shop, tmp_path, db_path, content, extra):
    file = tmp_path / "bad.csv"
    file.write_text(content, encoding="utf-8")
    shop("import", "orders", str(FIXTURES / "carecli.csv"), ok=True)  # something there already
    before = database_digest(db_path)
    dry = shop("import", "orders", str(file), "--dry-run", *extra)
    assert database_digest(db_path) == before
    real = shop("import", "orders", str(file), *extra)
    assert dry.exit_code == real.exit_code
    predicted = [
        line.replace("would import", "imported").removesuffix("; dry run, nothing written")
        for line in dry.stderr.splitlines()
    ]
    assert predicted == [line for line in real.stderr.splitlines() if "written to" not in line]


def test_on_duplicate_error_rejects_every_row_of_an_order_already_imported(shop, tmp_path):
    shop("import", "orders", str(FIXTURES / "shopify.csv"), "--preset", "shopify", ok=True)
    result = shop("import", "orders", str(FIXTURES / "shopify.csv"), "--preset", "shopify", "--on-duplicate", "error")
    assert result.exit_code == 1
    assert "column 'Name' value '1001': already imported (orders); pass --on-duplicate skip or update" in result.stderr
    assert _last_line(result).startswith("error: 6 bad rows in ")  # 1001: 2 rows, 1002: 1, 1005: 3


@pytest.mark.parametrize(
    "args, error, code",
    [
        (
            ("--preset", "magento"),
            "error: no preset 'magento' for orders; presets for orders: carecli, shopify, woocommerce",
            1,
        ),
        (("--preset", "zendesk"), "error: no preset 'zendesk' for orders", 1),
        (
            ("--preset", "shopify", "--on-duplicate", "update"),
            "error: --on-duplicate update does not apply to orders",
            1,
        ),
        (("--on-duplicate", "maybe"), "'maybe' is not one of skip, update, error", 2),
    ],
)
def test_a_wrong_preset_or_option_is_one_line_and_writes_nothing(shop, db_path, args, error, code):
    before = database_digest(db_path)
    result = shop("import", "orders", str(FIXTURES / "shopify.csv"), *args)
    assert result.exit_code == code
    assert error in result.stderr
    if code == 1:
        assert len(result.stderr.strip().splitlines()) == 1
    assert database_digest(db_path) == before


def test_a_file_without_a_mapped_column_is_one_line(shop, db_path):
    before = database_digest(db_path)
    result = shop("import", "orders", str(FIXTURES / "carecli.csv"), "--preset", "shopify")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {FIXTURES / 'carecli.csv'}: column 'Name' (mapped to ref) is not in the header; the file's columns "
        "are: ref, customer_email, customer_name, ordered_at, total, currency, product, qty, amount"
    ]
    assert database_digest(db_path) == before


def test_a_mapping_without_the_order_number_is_refused(shop, tmp_path):
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\nproduct = "product"\nordered_at = "ordered_at"\ncustomer_email = "customer_email"\n')
    result = shop("import", "orders", str(FIXTURES / "carecli.csv"), "--map", str(mapping))
    assert result.exit_code == 1
    assert "error: the mapping has no column for ref" in result.stderr


def test_one_undo_takes_the_whole_import_back(shop):
    shop("import", "orders", str(FIXTURES / "shopify.csv"), "--preset", "shopify", ok=True)
    result = shop("undo", "--yes", ok=True)
    assert "removes 3 orders it added" in result.stderr and "removes customer Zoë Brühl" in result.stderr
    assert shop("order", "list").stderr.strip() == "no orders match"
    assert [c["name"] for c in shop.json("customer", "list")] == ["Ada Lovelace", "Ben Okafor"]


def test_imported_orders_get_their_care_plans_steps_as_an_added_one_does(shop, isolated, monkeypatch):
    config = isolated / "plans.toml"
    config.write_text(
        '[care]\nplans_backfill_days = 60\n[[care.plans]]\nname = "orchid-tips"\nproducts = ["orchid*"]\n'
        '[[care.plans.steps]]\nafter = "7d"\nkind = "tip"\nnote = "Water your orchid once a week"\n'
    )
    monkeypatch.setenv("CARECLI_CONFIG", str(config))
    shop("import", "orders", str(FIXTURES / "shopify.csv"), "--preset", "shopify", "--dry-run", ok=True)
    assert [f for f in shop.json("followup", "list", "--status", "all") if f["plan"]] == []
    shop("import", "orders", str(FIXTURES / "shopify.csv"), "--preset", "shopify", ok=True)
    tips = [f for f in shop.json("followup", "list", "--status", "all") if f["plan"]]
    # #1001 (an orchid) and #1005 ("Orchid food" fits the glob too) were bought in February: each tip
    # fell due a week later, within the backfill, so it is due today.
    assert [(f["plan"], f["kind"], f["note"], f["due_at"][:10]) for f in tips] == [
        ("orchid-tips", "tip", "Water your orchid once a week", "2026-03-13")
    ] * 2
    assert len({f["order_id"] for f in tips}) == 2
    # Importing the same export again schedules nothing twice.
    shop("import", "orders", str(FIXTURES / "shopify.csv"), "--preset", "shopify", ok=True)
    assert len([f for f in shop.json("followup", "list", "--status", "all") if f["plan"]]) == 2
