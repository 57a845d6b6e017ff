"""Customers and `log` through the CLI."""

from __future__ import annotations

import csv
import io

from tests.conftest import database_digest


def test_add_and_show_by_id_email_and_name(run):
    created = run.json(
        "customer", "add", "Ada Lovelace", "--email", "Ada@Example.com", "--tag", "VIP", "--phone", "+49 30 1234"
    )
    assert created["id"] == 1 and created["tags"] == ["vip"]
    for ref in ("1", "#1", "ada@example.com", "ada lovelace", "lovel"):
        assert run.json("customer", "show", ref)["name"] == "Ada Lovelace"


def test_duplicate_email_is_refused(run, db_path):
    run("customer", "add", "Ada", "--email", "ada@example.com", ok=True)
    before = database_digest(db_path)
    result = run("customer", "add", "Another Ada", "--email", "ADA@example.com")
    assert result.exit_code == 1
    assert "already belongs to customer #1" in result.stderr
    assert database_digest(db_path) == before


def test_ambiguous_reference_lists_candidates(run):
    run("customer", "add", "Ann Lee", ok=True)
    run("customer", "add", "Ann Smith", ok=True)
    result = run("customer", "show", "ann")
    assert result.exit_code == 1
    assert "#1 Ann Lee" in result.stderr and "#2 Ann Smith" in result.stderr


def test_unknown_reference_suggests_customer_add(run):
    result = run("customer", "show", "zed")
    assert result.exit_code == 1
    assert "carecli customer add 'zed'" in result.stderr


def test_invalid_email_and_tag_are_errors(run):
    assert "invalid email" in run("customer", "add", "X", "--email", "nope").stderr
    assert "invalid tag" in run("customer", "add", "X", "--tag", "two words").stderr


def test_edit_tags_and_notes(run):
    run("customer", "add", "Ada", "--tag", "vip", "--tag", "wholesale", ok=True)
    edited = run.json("customer", "edit", "ada", "--untag", "vip", "--tag", "wedding", "--append-note", "Likes peonies")
    assert edited["tags"] == ["wholesale", "wedding"]
    assert edited["notes"] == "Likes peonies"
    assert run("customer", "edit", "ada").exit_code == 1  # nothing to change


def test_log_adds_to_the_timeline_without_a_ticket(shop):
    shop("log", "ada", "Called to ask how the flowers are", "--channel", "phone", "--at", "2026-03-14 09:00", ok=True)
    timeline = shop.json("customer", "show", "ada")["timeline"]
    assert timeline[-1]["ticket_id"] is None
    assert timeline[-1]["direction"] == "out"


def test_list_shows_open_tickets_and_last_contact(shop):
    rows = list(csv.DictReader(io.StringIO(shop("customer", "list", "--format", "csv", ok=True).stdout)))
    ada = next(r for r in rows if r["name"] == "Ada Lovelace")
    assert ada["open_tickets"] == "1"
    assert ada["last_contact_at"] == "2026-03-13T08:00:00+00:00"
    assert [r["name"] for r in shop.json("customer", "list", "--tag", "vip")] == ["Ada Lovelace"]
