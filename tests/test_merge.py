"""Merge and move: records put where they belong, figures as if they had always been there."""

from __future__ import annotations


def test_ticket_open_warns_of_a_ticket_just_opened_with_the_same_subject(shop):
    old = shop("ticket", "open", "ada", "Vase arrived cracked!", ok=True)  # #1 was opened 25 hours ago
    assert "warning" not in old.stderr
    again = shop("ticket", "open", "ada", "vase arrived cracked", "--at", "+0m", ok=True)
    assert "warning: Ada Lovelace has #2 'Vase arrived cracked!', opened" in again.stderr
    other = shop("ticket", "open", "ada", "Wrong invoice", ok=True)
    assert "warning" not in other.stderr


def test_merging_a_duplicate_moves_its_timeline_and_it_stops_counting_as_opened(shop):
    shop("ticket", "open", "ada", "Vase cracked", "-m", "again: cracked", "--at", "2026-03-13 09:05", ok=True)
    shop("ticket", "reply", "2", "A new vase goes out today", "--at", "2026-03-13 10:00", ok=True)
    assert shop.json("kpi", "--since", "2026-03-01")["tickets"]["opened"] == 2
    merged = shop.json("ticket", "merge", "2", "--into", "1")
    assert merged["id"] == 1 and merged["replies"] == 1
    assert merged["first_response_at"] == "2026-03-13T09:00:00+00:00" and merged["first_response_s"] == 3600
    bodies = [row["body"] for row in shop.json("ticket", "show", "1")["timeline"]]
    assert "again: cracked" in bodies and "A new vase goes out today" in bodies
    assert shop.json("kpi", "--since", "2026-03-01")["tickets"]["opened"] == 1
    gone = shop("ticket", "show", "2")
    assert gone.exit_code == 1 and "merged into #1" in gone.stderr
    shop("undo", "--yes", ok=True)
    assert shop.json("kpi", "--since", "2026-03-01")["tickets"]["opened"] == 2
    assert shop.json("ticket", "show", "1")["replies"] == 0


def test_merging_tickets_of_two_customers_is_refused(shop):
    shop("ticket", "open", "ben", "Wrong size", ok=True)
    refused = shop("ticket", "merge", "2", "--into", "1")
    assert refused.exit_code == 1 and "interaction move" in refused.stderr


def test_a_reply_on_the_wrong_ticket_moves_with_its_first_response(shop):
    shop("ticket", "open", "ben", "Wrong size", "--at", "2026-03-13 09:30", ok=True)
    shop("ticket", "reply", "1", "Exchange is on its way", "--at", "2026-03-13 10:00", "--open", ok=True)
    reply = [row for row in shop.json("ticket", "show", "1")["timeline"] if row["kind"] == "out"][0]
    moved = shop("interaction", "move", str(reply["id"]), "--to-ticket", "2", ok=True)
    assert "Ben Okafor: Wrong size" in moved.stderr
    first, second = shop.json("ticket", "show", "1"), shop.json("ticket", "show", "2")
    assert (first["first_response_at"], first["replies"]) == (None, 0)
    assert (second["first_response_s"], second["replies"]) == (1800, 1)
    shop("undo", "--yes", ok=True)
    assert shop.json("ticket", "show", "1")["replies"] == 1


def test_edit_an_interaction_checks_as_logging_does(shop):
    [message] = [row for row in shop.json("ticket", "show", "1")["timeline"] if row["kind"] == "in"]
    empty = shop("interaction", "edit", str(message["id"]), "--text", "   ")
    assert empty.exit_code == 1 and len(empty.stderr.strip().splitlines()) == 1
    early = shop("interaction", "edit", str(message["id"]), "--at", "2026-03-01")
    assert early.exit_code == 1 and "opened" in early.stderr
    shop("interaction", "edit", str(message["id"]), "--text", "The vase is broken", ok=True)
    bodies = [row["body"] for row in shop.json("ticket", "show", "1")["timeline"]]
    assert "The vase is broken" in bodies and any(body.startswith("edited") for body in bodies)


def test_customer_merge_moves_everything_and_keeps_the_old_address(shop):
    shop("customer", "add", "Ada L.", "--email", "ada.l@example.com", "--phone", "555-0101", ok=True)
    shop("ticket", "open", "ada.l@example.com", "Late delivery", ok=True)
    shop("customer", "merge", "ada.l@example.com", "--into", "ada@example.com", ok=True)
    assert [c["name"] for c in shop.json("customer", "list")] == ["Ada Lovelace", "Ben Okafor"]
    assert shop.json("customer", "show", "ada.l@example.com")["name"] == "Ada Lovelace"
    assert {t["customer_name"] for t in shop.json("ticket", "list", "--status", "all")} == {"Ada Lovelace"}
    shop("undo", "--yes", ok=True)
    assert len(shop.json("customer", "list")) == 3
    assert shop("db", "check").exit_code == 0


def test_customer_show_lists_every_address_the_customer_is_known_by(shop):
    shop("customer", "merge", "ben", "--into", "ada", ok=True)
    shown = shop.json("customer", "show", "ada")
    assert [(a["kind"], a["address"]) for a in shown["addresses"]] == [
        ("email", "ada@example.com"),
        ("email", "ben@example.com"),
    ]
    table = shop("customer", "show", "ada", ok=True).stdout
    assert "Addresses" in table and "ben@example.com" in table


def test_customer_merge_moves_orders_and_assets(shop):
    shop("customer", "add", "Ada L.", "--email", "ada.l@example.com", ok=True)
    shop("order", "add", "ada.l@example.com", "--item", "orchid", "--ref", "1042", ok=True)
    shop("asset", "add", "ada.l@example.com", "City bike", ok=True)
    shop("customer", "merge", "ada.l@example.com", "--into", "ada@example.com", ok=True)
    assert shop.json("order", "show", "1042")["customer_name"] == "Ada Lovelace"
    assert [a["customer_name"] for a in shop.json("asset", "list")] == ["Ada Lovelace"]
    shop("undo", "--yes", ok=True)
    assert shop.json("order", "show", "1042")["customer_name"] == "Ada L."
    assert shop("db", "check").exit_code == 0
