"""The service loop through the CLI: open, reply, pending, inbound, close, reopen, list, show."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import database_digest


def test_open_prints_the_created_ticket_as_json(shop):
    ticket = shop.json(
        "ticket",
        "open",
        "ben",
        "Where is my order?",
        "--channel",
        "phone",
        "--category",
        "delivery",
        "--at",
        "2026-03-14 08:00",
    )
    assert ticket["id"] == 2
    assert ticket["customer_name"] == "Ben Okafor"
    assert ticket["status"] == "open"
    assert ticket["priority"] == "normal"
    assert ticket["created_at"] == "2026-03-14T07:00:00+00:00"  # 08:00 in Berlin
    assert ticket["tags"] == []


def test_first_reply_sets_first_response_and_later_replies_do_not(shop):
    first = shop.json("ticket", "reply", "1", "Sorry! A new one is on its way.", "--at", "2026-03-13 09:45")
    assert first["first_response_at"] == "2026-03-13T08:45:00+00:00"
    assert first["first_response_s"] == 45 * 60
    second = shop.json("ticket", "reply", "1", "It ships today.", "--at", "2026-03-13 12:00")
    assert second["first_response_at"] == first["first_response_at"]
    assert second["replies"] == 2


def timeline_of(run, ticket_id: str = "1") -> list[tuple[str, str]]:
    """(kind, event name or message text) in timeline order."""
    return [(e["kind"], e["body"]) for e in run.json("ticket", "show", ticket_id)["timeline"]]


def test_a_reply_hands_the_ticket_to_the_customer_by_default(shop):
    result = shop("ticket", "reply", "1", "Sorry! A new one is on its way.", "--at", "2026-03-13 09:45", ok=True)
    assert "replied on #1, Ada Lovelace: Vase arrived cracked (pending)" in result.stderr
    assert shop.json("ticket", "show", "1")["status"] == "pending"
    assert timeline_of(shop) == [
        ("event", "opened"),
        ("in", "The vase is cracked"),
        ("out", "Sorry! A new one is on its way."),
        ("event", "replied-first"),
        ("event", "pending"),
    ]
    # The customer answers: waiting on us again; the next reply hands it back.
    assert shop.json("ticket", "inbound", "1", "Thanks, when?", "--at", "2026-03-13 11:00")["status"] == "open"
    assert shop.json("ticket", "reply", "1", "Tomorrow.", "--at", "2026-03-13 11:30")["status"] == "pending"


def test_reply_open_keeps_the_ticket_open_for_one_reply(shop):
    kept = shop.json("ticket", "reply", "1", "Looking into it", "--open", "--at", "2026-03-13 09:45")
    assert kept["status"] == "open"
    assert shop.json("ticket", "reply", "1", "Found it", "--at", "2026-03-13 10:00")["status"] == "pending"
    assert [body for kind, body in timeline_of(shop) if kind == "event"] == ["opened", "replied-first", "pending"]


def test_after_reply_open_keeps_tickets_open_unless_the_reply_says_pending(shop, monkeypatch):
    monkeypatch.setenv("CARECLI_TICKETS_AFTER_REPLY", "open")
    assert shop.json("ticket", "reply", "1", "Looking into it", "--at", "2026-03-13 09:45")["status"] == "open"
    handed = shop.json("ticket", "reply", "1", "Which colour?", "--pending", "--at", "2026-03-13 10:00")
    assert handed["status"] == "pending"


def test_a_bad_after_reply_is_a_config_error_naming_the_key(shop, tmp_path, db_path):
    config = tmp_path / "bad.toml"
    config.write_text('[tickets]\nafter_reply = "closed"\n')
    before = database_digest(db_path)
    result = shop("--config", str(config), "ticket", "reply", "1", "x")
    assert result.exit_code == 1
    assert "'tickets.after_reply' must be 'pending' or 'open', not 'closed'" in result.stderr
    assert database_digest(db_path) == before


def test_a_reply_logged_after_the_fact_does_not_undo_what_happened_since(shop):
    shop("ticket", "inbound", "1", "Hello?", "--at", "2026-03-13 11:00", ok=True)
    # Written at 10:00, logged now: the customer wrote after it, so the ticket still waits on us.
    assert shop.json("ticket", "reply", "1", "On it", "--at", "2026-03-13 10:00")["status"] == "open"
    shop("ticket", "pending", "1", "--at", "2026-03-13 12:00", ok=True)
    shop("ticket", "inbound", "1", "Any news?", "--at", "2026-03-13 13:00", ok=True)  # resumed
    assert shop.json("ticket", "reply", "1", "Earlier", "--at", "2026-03-13 12:30")["status"] == "open"


def test_a_reply_on_a_closed_ticket_leaves_it_closed(shop):
    shop("ticket", "close", "1", "--at", "2026-03-13 10:00", ok=True)
    assert shop.json("ticket", "reply", "1", "Enjoy!", "--at", "2026-03-13 10:30")["status"] == "closed"


def test_reply_before_the_ticket_was_opened_is_an_error_and_writes_nothing(shop, db_path):
    before = database_digest(db_path)
    result = shop("ticket", "reply", "1", "too early", "--at", "2026-03-12")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot reply to ticket #1")
    assert "Traceback" not in result.stderr
    assert database_digest(db_path) == before


def test_close_twice_is_an_error_and_writes_nothing(shop, db_path):
    shop("ticket", "close", "1", "--resolution", "Replaced", ok=True)
    before = database_digest(db_path)
    result = shop("ticket", "close", "1")
    assert result.exit_code == 1
    assert "already closed" in result.stderr
    assert result.stderr.count("\n") == 1
    assert database_digest(db_path) == before


def test_reopen_an_open_ticket_is_an_error(shop):
    result = shop("ticket", "reopen", "1")
    assert result.exit_code == 1
    assert "is open, not closed" in result.stderr


def test_close_reopen_close_keeps_first_and_last_resolution(shop):
    shop("ticket", "close", "1", "--at", "2026-03-13 10:00", ok=True)
    reopened = shop.json("ticket", "reopen", "1", "--at", "2026-03-13 15:00")
    assert reopened["status"] == "open" and reopened["reopens"] == 1
    closed = shop.json("ticket", "close", "1", "--at", "2026-03-14 09:00")
    assert closed["first_resolution_s"] == 3600
    assert closed["resolution_s"] == 24 * 3600
    assert closed["first_closed_at"] == "2026-03-13T09:00:00+00:00"
    kinds = [e["body"] for e in shop.json("ticket", "show", "1")["timeline"] if e["kind"] == "event"]
    assert kinds == ["opened", "closed", "reopened", "closed"]


def test_inbound_on_pending_ticket_reopens_it_to_open(shop):
    shop("ticket", "pending", "1", ok=True)
    ticket = shop.json("ticket", "inbound", "1", "Any news?")
    assert ticket["status"] == "open"


def test_pending_twice_and_pending_on_closed_are_errors(shop):
    shop("ticket", "pending", "1", ok=True)
    assert "already pending" in shop("ticket", "pending", "1").stderr
    shop("ticket", "close", "1", ok=True)
    result = shop("ticket", "pending", "1")
    assert result.exit_code == 1 and "reopen it first" in result.stderr


def test_inbound_on_closed_ticket_logs_and_suggests_reopen(shop):
    shop("ticket", "close", "1", ok=True)
    result = shop("ticket", "inbound", "1", "Thanks!", ok=True)
    assert "carecli ticket reopen 1" in result.stderr


def test_note_is_in_the_timeline_but_not_a_response(shop):
    ticket = shop.json("ticket", "note", "1", "Check stock of vases")
    assert ticket["first_response_at"] is None
    timeline = shop.json("ticket", "show", "1")["timeline"]
    assert [t["kind"] for t in timeline] == ["event", "in", "note"]


def test_unknown_channel_lists_the_allowed_ones(shop, db_path):
    before = database_digest(db_path)
    result = shop("ticket", "open", "ada", "Hi", "--channel", "pigeon")
    assert result.exit_code == 1
    assert "unknown channel 'pigeon'" in result.stderr
    assert "email, chat, phone" in result.stderr
    assert database_digest(db_path) == before


def test_unparseable_time_shows_an_example(shop):
    result = shop("ticket", "reply", "1", "hi", "--at", "blorp")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --at:")
    assert "tomorrow" in result.stderr


def test_unknown_ticket_is_an_error(shop):
    result = shop("ticket", "show", "99")
    assert result.exit_code == 1
    assert result.stderr == "error: no ticket #99; see `carecli ticket list --status all`\n"


def test_usage_error_exits_2(shop):
    assert shop("ticket", "reply", "1").exit_code == 2
    assert shop("ticket", "list", "--format", "xml").exit_code == 2


def _ids(run, *args):
    return [t["id"] for t in run.json("ticket", "list", *args)]


def test_list_orders_open_work_by_urgency_all_tickets_newest_first_and_filters(shop):
    shop("ticket", "open", "ben", "Urgent thing", "--priority", "urgent", "--at", "2026-03-14 08:00", ok=True)
    shop("ticket", "open", "ben", "Low thing", "--priority", "low", "--at", "2026-03-10 08:00", ok=True)
    shop("ticket", "open", "ben", "Normal older", "--at", "2026-03-11 08:00", ok=True)
    shop("ticket", "open", "ben", "Normal newer", "--at", "2026-03-12 08:00", ok=True)
    shop("ticket", "close", "5", ok=True)
    assert _ids(shop) == [2, 1, 4, 3]
    assert _ids(shop, "--status", "all") == [2, 1, 5, 4, 3]  # by when they were opened, newest first
    assert _ids(shop, "--status", "closed") == [5]
    assert _ids(shop, "--customer", "ada") == [1]
    assert _ids(shop, "--priority", "low") == [3]
    assert _ids(shop, "--since", "2026-03-12", "--until", "2026-03-13") == [1]  # --until a date = to its end
    assert _ids(shop, "--limit", "2") == [2, 1]


def test_list_says_on_stderr_when_cut_by_limit(shop):
    shop("ticket", "open", "ben", "Second", ok=True)
    result = shop("ticket", "list", "--limit", "1", "--format", "csv", ok=True)
    assert "use --limit 0 for all" in result.stderr
    assert len(list(csv.DictReader(io.StringIO(result.stdout)))) == 1


def test_list_csv_and_jsonl_parse(shop):
    rows = list(csv.DictReader(io.StringIO(shop("ticket", "list", "--format", "csv", ok=True).stdout)))
    assert rows[0]["subject"] == "Vase arrived cracked"
    assert rows[0]["created_at"] == "2026-03-13T08:00:00+00:00"
    lines = shop("ticket", "list", "--format", "jsonl", ok=True).stdout.splitlines()
    assert json.loads(lines[0])["customer_email"] == "ada@example.com"


def test_plain_table_off_a_terminal_has_no_escape_codes(shop):
    out = shop("ticket", "list", ok=True).stdout
    assert "\x1b[" not in out
    assert "Vase arrived cracked" in out
    assert "2026-03-13 09:00" in out  # shown in local (Berlin) time


def test_edit_changes_priority_and_records_it(shop):
    ticket = shop.json("ticket", "edit", "1", "--priority", "urgent", "--tag", "fragile")
    assert ticket["priority"] == "urgent" and ticket["tags"] == ["fragile"]
    events = [e["body"] for e in shop.json("ticket", "show", "1")["timeline"] if e["kind"] == "event"]
    assert "priority: high → urgent" in events


def test_the_timeline_says_what_each_change_recorded(shop):
    shop("ticket", "close", "1", "--resolution", "sent a new vase", "--at", "2026-03-13 10:00", ok=True)
    shop("ticket", "reopen", "1", "--reason", "the new one leaks too", "--at", "2026-03-13 15:00", ok=True)
    events = [e["body"] for e in shop.json("ticket", "show", "1")["timeline"] if e["kind"] == "event"]
    assert events[-2:] == ["closed: sent a new vase", "reopened: the new one leaks too"]
    assert "reopened: the new one leaks too" in shop("ticket", "show", "1", ok=True).stdout


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "jsonl"])
def test_show_renders_in_every_format(shop, fmt):
    result = shop("ticket", "show", "1", "--format", fmt, ok=True)
    assert "Vase arrived cracked" in result.stdout


# ---------------------------------------------------------------- a ticket's history stays in order


def test_a_close_dated_before_the_latest_reopen_is_refused_and_writes_nothing(shop, db_path):
    shop("ticket", "close", "1", "--at", "2026-03-13 10:00", ok=True)
    shop("ticket", "reopen", "1", "--at", "2026-03-13 11:00", ok=True)
    before = database_digest(db_path)
    result = shop("ticket", "close", "1", "--at", "2026-03-13 10:30")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot close ticket #1 at 2026-03-13 10:30: it was reopened later")
    assert result.stderr.count("\n") <= 2 and "Traceback" not in result.stderr
    assert database_digest(db_path) == before
    shop("ticket", "close", "1", "--at", "2026-03-13 11:30", ok=True)  # after the reopen: fine


def test_pending_dated_before_the_latest_status_change_is_refused(shop, db_path):
    shop("ticket", "close", "1", "--at", "2026-03-13 10:00", ok=True)
    shop("ticket", "reopen", "1", "--at", "2026-03-13 11:00", ok=True)
    before = database_digest(db_path)
    result = shop("ticket", "pending", "1", "--at", "2026-03-13 10:45")
    assert result.exit_code == 1 and "it was reopened later" in result.stderr
    assert database_digest(db_path) == before


def test_a_message_dated_before_the_ticket_went_pending_does_not_resume_it(shop):
    shop("ticket", "pending", "1", "--at", "2026-03-13 12:00", ok=True)
    ticket = shop.json("ticket", "inbound", "1", "(the call before we asked)", "--at", "2026-03-13 11:00")
    assert ticket["status"] == "pending"
    ticket = shop.json("ticket", "inbound", "1", "Here is the photo", "--at", "2026-03-13 13:00")
    assert ticket["status"] == "open"
