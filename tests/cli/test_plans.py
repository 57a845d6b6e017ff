"""Care plans from the command line: `order add` and `asset add --plan` schedule their steps,
`asset serviced` moves the reminder, `plan list|show`, `care plans [--check]`, and `care run`
catching up on steps not scheduled yet and holding a reminder back while its asset's ticket is open."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import database_digest

PLANS = """
[mail]
addresses = ["shop@example.com"]

[[care.rules]]
name = "reminders"
action = "followups"

[[care.plans]]
name = "orchid-tips"
products = ["orchid*"]
[[care.plans.steps]]
after = "7d"
kind = "tip"
note = "Water your orchid once a week"

[[care.plans]]
name = "bike-service"
products = ["*bike*"]
asset = true
[[care.plans.steps]]
every = "6 months"
kind = "service-reminder"
note = "brakes and chain"
template = "service-reminder"
"""


@pytest.fixture
def planned(shop, isolated, monkeypatch):
    """The shop (Ada, Ben, ticket #1) with the two plans above and a care rule mailing due follow-ups."""
    path = isolated / "plans.toml"
    path.write_text(PLANS)
    monkeypatch.setenv("CARECLI_CONFIG", str(path))
    shop.config = path  # type: ignore[attr-defined]
    return shop


def plan_followups(run):
    return [f for f in run.json("followup", "list", "--status", "all") if f["plan"]]


def test_order_add_schedules_the_plans_steps_and_says_so(planned):
    result = planned("order", "add", "ada", "--item", "Orchid", "--item", "City bike", "--at", "2026-03-10", ok=True)
    assert result.stderr.splitlines()[1:] == [
        "added 1 asset for its care plan: #1 City bike (bike-service)",
        "scheduled 2 plan follow-ups: #1 tip (orchid-tips), #2 service-reminder (bike-service)",
    ]
    tip, reminder = plan_followups(planned)
    assert (tip["kind"], tip["due_day"], tip["order_id"], tip["note"]) == (
        "tip",
        "2026-03-17",
        1,
        "Water your orchid once a week",
    )
    assert (reminder["due_day"], reminder["asset_id"], reminder["template"]) == ("2026-09-10", 1, "service-reminder")
    assert planned.json("asset", "show", "1")["order_line_id"] == 2


def test_an_old_order_says_which_step_was_too_old_to_schedule(planned):
    result = planned("order", "add", "ada", "--item", "orchid", "--at", "2025-12-01", ok=True)
    assert "orchid-tips step 1 (tip) not scheduled for 1 order: due more than [care] plans_backfill_days ago" in (
        result.stderr
    )
    assert plan_followups(planned) == []


def test_asset_add_with_a_plan_schedules_and_a_late_service_moves_the_reminder(planned, monkeypatch):
    planned("asset", "add", "ada", "Road bike", "--plan", "bike-service", "--since", "2025-06-01", ok=True)
    (reminder,) = plan_followups(planned)
    assert reminder["due_day"] == "2026-06-01" and reminder["asset_id"] == 1
    monkeypatch.setenv("CARECLI_NOW", "2026-06-20T10:00:00+00:00")  # serviced three weeks late
    result = planned("asset", "serviced", "1", ok=True)
    assert "moved follow-up #1 (service-reminder, plan bike-service) to 2026-12-20" in result.stderr
    (reminder,) = plan_followups(planned)
    assert reminder["due_day"] == "2026-12-20" and reminder["status"] == "scheduled"


def test_asset_add_with_an_unknown_plan_is_an_error_naming_the_plans(planned, db_path):
    before = database_digest(db_path)
    result = planned("asset", "add", "ada", "Road bike", "--plan", "bike-servise")
    assert result.exit_code == 1
    assert "no care plan 'bike-servise'" in result.stderr and "orchid-tips, bike-service" in result.stderr
    assert database_digest(db_path) == before


def test_plan_list_and_show_in_every_format(planned):
    planned("order", "add", "ada", "--item", "orchid", "--at", "2026-03-10", ok=True)
    rows = planned.json("plan", "list")
    assert [(r["name"], r["asset"], r["steps"], r["scheduled"]) for r in rows] == [
        ("orchid-tips", False, 1, 1),
        ("bike-service", True, 1, 0),
    ]
    table = planned("plan", "list", ok=True).stdout
    assert "orchid-tips" in table and "makes assets" in table
    listed = list(csv.DictReader(io.StringIO(planned("plan", "list", "--format", "csv", ok=True).stdout)))
    assert listed[1]["products"] == "*bike*"
    lines = planned("plan", "list", "--format", "jsonl", ok=True).stdout.splitlines()
    assert json.loads(lines[0])["name"] == "orchid-tips"
    shown = planned.json("plan", "show", "bike-service")
    assert shown["steps"] == [
        {
            "step": 1,
            "when": "every 6 months",
            "kind": "service-reminder",
            "note": "brakes and chain",
            "template": "service-reminder",
            "scheduled": 0,
            "done": 0,
        }
    ]
    assert "every 6 months" in planned("plan", "show", "bike-service", ok=True).stdout
    missing = planned("plan", "show", "roses")
    assert missing.exit_code == 1 and "no care plan 'roses'" in missing.stderr


def test_plan_list_without_plans_says_how_to_add_them(shop):
    result = shop("plan", "list", ok=True)
    assert "[[care.plans]]" in result.stderr and result.stdout == ""


def test_care_plans_check_writes_nothing_and_shows_what_it_would_schedule(shop, isolated, monkeypatch, db_path):
    # Orders recorded before the plans were configured.
    shop("order", "add", "ada", "--item", "orchid", "--at", "2026-03-10", ok=True)
    shop("order", "add", "ben", "--item", "orchid", "--at", "2025-11-01", ok=True)
    shop("order", "add", "ben", "--item", "e-bike", "--at", "2025-10-01", ok=True)
    path = isolated / "plans.toml"
    path.write_text(PLANS)
    monkeypatch.setenv("CARECLI_CONFIG", str(path))
    before = database_digest(db_path)
    tally = shop.json("care", "plans", "--check")
    assert [(t["plan"], t["targets"], t["matched"], t["scheduled"], t["to_schedule"], t["too_old"]) for t in tally] == [
        ("orchid-tips", "orders", 2, 0, 1, 1),
        ("bike-service", "assets", 1, 0, 1, 0),
    ]
    listed = shop.json("care", "plans", "--check", "--list")
    assert [(p["plan"], p["customer_name"], p["order_id"]) for p in listed] == [
        ("orchid-tips", "Ada Lovelace", 1),
        ("bike-service", "Ben Okafor", None),
    ]
    assert "order #3 (e-bike, a new asset) of 2025-10-01: next due 2026-04-01" in listed[1]["reason"]
    result = shop("care", "plans", "--check", ok=True)
    assert "would schedule 2 follow-ups and add 1 asset; nothing was written" in result.stderr
    assert database_digest(db_path) == before
    shop("care", "plans", ok=True)
    assert len(plan_followups(shop)) == 2
    assert "nothing to schedule" in shop("care", "plans", ok=True).stderr


def test_care_run_catches_up_on_plan_steps_and_lists_them_in_a_dry_run(shop, isolated, monkeypatch, db_path):
    shop("order", "add", "ada", "--item", "orchid", "--at", "2026-03-10", ok=True)
    path = isolated / "plans.toml"
    path.write_text(PLANS)
    monkeypatch.setenv("CARECLI_CONFIG", str(path))
    before = database_digest(db_path)
    dry = shop.json("care", "run", "--dry-run")
    assert [(a["rule"], a["action"], a["result"]) for a in dry] == [("orchid-tips", "schedule", "would schedule")]
    assert dry[0]["reason"] == "step 1 (tip) for order #1 (orchid) of 2026-03-10: due 2026-03-17"
    assert database_digest(db_path) == before
    done = shop.json("care", "run")
    assert [(a["action"], a["result"]) for a in done] == [("schedule", "scheduled #1")]
    assert shop.json("care", "run") == []


def test_a_reminder_is_held_back_while_its_assets_ticket_is_open_and_mailed_once_it_closes(planned, monkeypatch):
    planned("asset", "add", "ada", "Road bike", "--plan", "bike-service", "--since", "2025-09-20", ok=True)
    planned("ticket", "open", "ada", "Brakes squeak", "--asset", "1", "--at", "2026-03-14 09:00", ok=True)
    monkeypatch.setenv("CARECLI_NOW", "2026-03-20T08:00:00+00:00")  # the reminder is due today
    dry = planned.json("care", "run", "--dry-run")
    assert [(a["action"], a["result"]) for a in dry] == [("followup", "held back: ticket #2 about asset #1 is open")]
    ran = planned.json("care", "run")
    assert [a["result"] for a in ran] == ["held back: ticket #2 about asset #1 is open"]
    assert planned.json("outbox", "list") == []
    # Closed ten days later, past the 7-day catch-up window: the held reminder still goes out.
    monkeypatch.setenv("CARECLI_NOW", "2026-03-30T08:00:00+00:00")
    planned("ticket", "close", "2", ok=True)
    ran = planned.json("care", "run")
    assert [(a["action"], a["result"][:6]) for a in ran] == [("followup", "queued")]
    (mail,) = planned.json("outbox", "list")
    assert mail["subject"] == "Time for a service"
    (reminder, nxt) = plan_followups(planned)
    assert reminder["status"] == "done" and nxt["status"] == "scheduled" and nxt["asset_id"] == 1


def test_undo_of_order_add_takes_back_its_plan_follow_ups_and_asset(planned):
    planned("order", "add", "ada", "--item", "Orchid", "--item", "City bike", "--at", "2026-03-10", ok=True)
    assert len(plan_followups(planned)) == 2
    steps = planned.json("undo", "--list")
    assert steps[0]["command"].startswith("order add ada")
    planned("undo", "--yes", ok=True)
    assert plan_followups(planned) == [] and planned.json("asset", "list") == []
    assert planned.json("order", "list") == []
