"""The trash: `ticket delete` moves a ticket out of every listing, figure and search; `restore` puts it back."""

from __future__ import annotations

import sqlite3


def test_a_deleted_ticket_leaves_listings_figures_and_search(shop):
    shop("ticket", "reply", "1", "A new vase goes out today", ok=True)
    result = shop("ticket", "delete", "1", "--reason", "duplicate", "--yes", ok=True)
    assert "Ada Lovelace: Vase arrived cracked" in result.stderr
    assert shop.json("ticket", "list", "--status", "all") == []
    assert shop.json("kpi", "--since", "2026-01-01")["tickets"]["opened"] == 0
    assert shop.json("search", "vase") == []
    shown = shop("ticket", "show", "1")
    assert shown.exit_code != 0 and "in the trash" in shown.stderr and "ticket restore 1" in shown.stderr
    [entry] = shop.json("trash")
    assert (entry["kind"], entry["id"], entry["reason"], entry["label"]) == (
        "ticket",
        1,
        "duplicate",
        "Vase arrived cracked",
    )


def test_restore_brings_the_ticket_back_exactly(shop):
    shop("ticket", "reply", "1", "A new vase goes out today", ok=True)
    shop("survey", "csat", "1", "5", ok=True)
    before = (shop.json("ticket", "show", "1"), shop.json("survey", "list"), shop.json("kpi", "--since", "2026-01-01"))
    shop("ticket", "delete", "1", "--reason", "mistake", "--yes", ok=True)
    shop("ticket", "restore", "1", ok=True)
    after = shop.json("ticket", "show", "1")
    kinds = [row["body"].split(":")[0] for row in after.pop("timeline") if row["kind"] == "event"]
    assert kinds[-2:] == ["deleted", "restored"]
    before[0].pop("timeline")
    assert (after, shop.json("survey", "list"), shop.json("kpi", "--since", "2026-01-01")) == before
    assert shop.json("trash") == []


def test_a_new_ticket_never_takes_the_number_of_one_in_the_trash(shop):
    shop("ticket", "delete", "1", "--reason", "spam", "--yes", ok=True)
    opened = shop.json("ticket", "open", "ben", "Wrong size")
    assert opened["id"] == 2
    shop("ticket", "restore", "1", ok=True)
    assert sorted(t["id"] for t in shop.json("ticket", "list", "--status", "all")) == [1, 2]


def test_delete_needs_a_known_reason_and_yes_off_a_terminal(shop, db_path):
    wrong = shop("ticket", "delete", "1", "--reason", "bored", "--yes")
    assert wrong.exit_code == 1 and "duplicate" in wrong.stderr
    unasked = shop("ticket", "delete", "1", "--reason", "spam")
    assert unasked.exit_code == 1 and "--yes" in unasked.stderr
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM trash").fetchone()[0] == 0


def test_undo_takes_a_delete_back(shop):
    shop("ticket", "delete", "1", "--reason", "mistake", "--yes", ok=True)
    shop("undo", "--yes", ok=True)
    assert [t["id"] for t in shop.json("ticket", "list")] == [1]
    assert shop.json("trash") == []


def test_purge_empties_the_trash_for_good_and_asks(shop, monkeypatch):
    shop("ticket", "delete", "1", "--reason", "spam", "--yes", ok=True)
    assert "nothing in the trash" in shop("db", "purge", "--older-than", "30d", "--yes", ok=True).stderr
    monkeypatch.setenv("CARECLI_NOW", "2026-05-01T10:00:00+00:00")
    assert shop("db", "purge", "--older-than", "30d").exit_code == 1  # asks; off a terminal, names --yes
    shop("db", "purge", "--older-than", "30d", "--yes", ok=True)
    assert shop.json("trash") == []
    assert shop("ticket", "restore", "1").exit_code == 1
    assert shop("db", "check").exit_code == 0  # its events stay in the trail, out of the figures


def test_a_followup_added_twice_goes_to_the_trash_and_comes_back(shop):
    shop("followup", "add", "ada", "--due", "+7d", "--every", "1 week", ok=True)
    shop("followup", "add", "ada", "--due", "+7d", "--every", "1 week", ok=True)
    shop("followup", "delete", "2", "--reason", "duplicate", "--yes", ok=True)
    assert [f["id"] for f in shop.json("followup", "list", "--status", "all")] == [1]
    shop("followup", "restore", "2", ok=True)
    assert [f["id"] for f in shop.json("followup", "list", "--status", "all")] == [1, 2]


def test_a_survey_answer_goes_to_the_trash_and_leaves_the_figures(shop):
    shop("survey", "csat", "1", "1", "--at", "-1h", ok=True)
    assert shop.json("kpi", "--since", "2026-01-01")["csat"]["n"] == 1
    [answer] = shop.json("survey", "list")
    shop("survey", "delete", str(answer["id"]), "--reason", "mistake", "--yes", ok=True)
    assert shop.json("survey", "list") == []
    assert shop.json("kpi", "--since", "2026-01-01")["csat"]["n"] == 0
    shop("survey", "restore", str(answer["id"]), ok=True)
    assert shop.json("kpi", "--since", "2026-01-01")["csat"]["n"] == 1


def test_a_customer_in_the_trash_takes_their_records_along(shop, db_path):
    before = (shop.json("customer", "list"), shop.json("ticket", "list", "--status", "all"))
    shop("customer", "delete", "ada", "--reason", "spam", "--yes", ok=True)
    assert [c["name"] for c in shop.json("customer", "list")] == ["Ben Okafor"]
    assert shop.json("ticket", "list", "--status", "all") == []
    shop("customer", "restore", "1", ok=True)
    assert (shop.json("customer", "list"), shop.json("ticket", "list", "--status", "all")) == before
    assert shop.json("customer", "show", "ada@example.com")["id"] == 1
    shop("undo", "--yes", ok=True)  # the restore: back in the trash
    shop("undo", "--yes", ok=True)  # the delete: back for good
    assert (shop.json("customer", "list"), shop.json("ticket", "list", "--status", "all")) == before
    assert shop("db", "check").exit_code == 0


def test_a_customer_in_the_trash_takes_their_orders_and_assets_along(shop, db_path):
    shop("order", "add", "ada", "--item", "orchid x2 @29.00", "--ref", "1042", ok=True)
    shop("asset", "add", "ada", "City bike", "--since", "2025-06-01", ok=True)
    shop("asset", "serviced", "1", "--note", "chain", ok=True)
    shop("ticket", "open", "ada", "Bike squeaks", "--order", "1042", "--asset", "1", ok=True)
    before = (shop.json("order", "show", "1042"), shop.json("asset", "show", "1"))
    shop("customer", "delete", "ada", "--reason", "spam", "--yes", ok=True)
    assert shop.json("order", "list") == [] and shop.json("asset", "list") == []
    assert shop("db", "check").exit_code == 0
    shop("customer", "restore", "1", ok=True)
    assert (shop.json("order", "show", "1042"), shop.json("asset", "show", "1")) == before
    assert shop.json("ticket", "show", "2")["order_id"] == 1
    shop("undo", "--yes", ok=True)
    shop("undo", "--yes", ok=True)
    assert (shop.json("order", "show", "1042"), shop.json("asset", "show", "1")) == before
    assert shop("db", "check").exit_code == 0
