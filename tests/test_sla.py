"""SLA targets: met at exactly the target, breached one second later, warned within warn_before."""

from __future__ import annotations

import json

import pytest

CONFIG = """
[sla]
warn_before = "30m"
[sla.high]
first_response = "1h"
resolution = "1d"
"""


@pytest.fixture
def sla_run(run, tmp_path):
    path = tmp_path / "sla.toml"
    path.write_text(CONFIG)

    def go(*args, ok=True):
        return run("--config", str(path), *args, ok=ok)

    go("customer", "add", "Ada", "--at", "2026-01-01")
    return go


def breaching(go) -> list[dict]:
    return json.loads(go("ticket", "list", "--breaching", "--format", "json").stdout)


def sla_block(go) -> dict:
    return json.loads(go("kpi", "--since", "2026-03-01", "--format", "json").stdout)["sla"]


def test_a_reply_exactly_at_the_target_meets_it_and_one_second_later_breaches(sla_run):
    sla_run("ticket", "open", "ada", "on time", "--priority", "high", "--at", "2026-03-10 09:00")
    # --open: no pending spell pauses the resolution clock, so the boundaries are exact.
    sla_run("ticket", "reply", "1", "x", "--open", "--at", "2026-03-10 10:00:00")
    sla_run("ticket", "close", "1", "--at", "2026-03-11 09:00:00")
    sla_run("ticket", "open", "ada", "late", "--priority", "high", "--at", "2026-03-10 09:00")
    sla_run("ticket", "reply", "2", "x", "--open", "--at", "2026-03-10 10:00:01")
    sla_run("ticket", "close", "2", "--at", "2026-03-11 09:00:01")
    sla_run("ticket", "open", "ada", "no target", "--priority", "low", "--at", "2026-03-10 09:00")
    assert sla_block(sla_run) == {
        "tickets": 2,
        "targets": 4,
        "first_response_breached": 1,
        "first_response_met": 1,
        "resolution_breached": 1,
        "resolution_met": 1,
        "breach_pct": 50.0,
    }


def export_breached(go) -> dict[int, object]:
    lines = go("export", "tickets", "--format", "jsonl").stdout.splitlines()
    return {row["id"]: row["sla_breached"] for row in map(json.loads, lines)}


def test_a_close_without_a_reply_stops_the_first_response_clock(sla_run):
    # Solved in 10 minutes without a written reply (a duplicate): the 1h first-response target is met.
    sla_run("ticket", "open", "ada", "duplicate", "--priority", "high", "--at", "2026-03-10 09:00")
    sla_run("ticket", "close", "1", "--at", "2026-03-10 09:10")
    # Closed without a reply after the target had passed: that target was breached before the close.
    sla_run("ticket", "open", "ada", "forgotten", "--priority", "high", "--at", "2026-03-10 09:00")
    sla_run("ticket", "close", "2", "--at", "2026-03-10 11:00")
    block = sla_block(sla_run)
    assert (block["first_response_met"], block["first_response_breached"]) == (1, 1)
    assert (block["resolution_met"], block["resolution_breached"]) == (2, 0)
    assert block["breach_pct"] == 25.0  # 1 breached of 4 decided targets
    assert export_breached(sla_run) == {1: 0, 2: 1}


def test_a_reopened_ticket_closed_without_a_reply_waits_on_its_resolution_target(sla_run):
    # now is 2026-03-14 11:00 Berlin; closed at once, reopened, still without a reply
    sla_run("ticket", "open", "ada", "back again", "--priority", "high", "--at", "2026-03-14 08:00")
    sla_run("ticket", "close", "1", "--at", "2026-03-14 08:05")
    sla_run("ticket", "reopen", "1", "--at", "2026-03-14 08:10")
    assert breaching(sla_run) == []  # first response: stopped by the close; resolution: 1d not near


def test_running_targets_are_not_decided(sla_run):
    # now is 2026-03-14 11:00 Berlin: opened 10 minutes ago, nothing has happened yet
    sla_run("ticket", "open", "ada", "new", "--priority", "high", "--at", "2026-03-14 10:50")
    sla_run("ticket", "open", "ada", "late", "--priority", "high", "--at", "2026-03-14 08:00")
    block = json.loads(sla_run("kpi", "--since", "2026-03-14", "--format", "json").stdout)["sla"]
    # ticket 1: both running within target; ticket 2: first response running past its target
    assert block["targets"] == 1 and block["first_response_breached"] == 1 and block["breach_pct"] == 100.0
    assert block["first_response_met"] == block["resolution_met"] == block["resolution_breached"] == 0


def test_open_tickets_are_listed_when_breached_or_within_warn_before(sla_run):
    # now is 2026-03-14 11:00 Berlin
    sla_run("ticket", "open", "ada", "breached", "--priority", "high", "--at", "2026-03-14 09:59")
    sla_run("ticket", "open", "ada", "at risk", "--priority", "high", "--at", "2026-03-14 10:30")
    sla_run("ticket", "open", "ada", "fine", "--priority", "high", "--at", "2026-03-14 10:31")
    sla_run("ticket", "open", "ada", "answered", "--priority", "high", "--at", "2026-03-14 10:30")
    sla_run("ticket", "reply", "4", "x", "--at", "2026-03-14 10:40")
    rows = breaching(sla_run)
    assert [(r["id"], r["state"], r["target"], r["overdue_s"]) for r in rows] == [
        (1, "breached", "first_response", 60),
        (2, "at risk", "first_response", -1800),
    ]
    assert rows[0]["due_at"] == "2026-03-14T09:59:00+00:00"


def test_sla_clock_counts_business_time_when_enabled(run, tmp_path):
    path = tmp_path / "bh.toml"
    path.write_text(CONFIG + '\n[business_hours]\nenabled = true\nstart = "09:00"\nend = "17:00"\n')
    run("customer", "add", "Ada", "--at", "2026-01-01", ok=True)
    # Friday 16:30: 30 business minutes on Friday, then the shop is closed until Monday.
    run(
        "--config",
        str(path),
        "ticket",
        "open",
        "ada",
        "weekend",
        "--priority",
        "high",
        "--at",
        "2026-03-13 16:30",
        ok=True,
    )
    rows = json.loads(run("--config", str(path), "ticket", "list", "--breaching", "--format", "json", ok=True).stdout)
    assert [(r["state"], r["due_at"], r["overdue_s"]) for r in rows] == [
        ("at risk", "2026-03-16T08:30:00+00:00", -1800)
    ]  # due Monday 09:30 Berlin


def test_a_bad_sla_config_is_a_one_line_error(run, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[sla.vip]\nfirst_response = "1h"\n')
    result = run("--config", str(path), "ticket", "list", "--breaching")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: 'sla.vip.first_response': unknown priority 'vip'")


def test_daily_report_fails_on_breach_with_exit_3_and_has_no_escape_codes(sla_run, db_path):
    sla_run("ticket", "open", "ada", "Vase cracked", "--priority", "high", "--at", "2026-03-13 09:00")
    result = sla_run("report", "daily", "--fail-on-breach", ok=False)
    assert result.exit_code == 3
    assert "\x1b" not in result.stdout
    assert "#1 breached: first response due 2026-03-13 10:00 (high, Ada: Vase cracked)" in result.stdout
    assert sla_run("report", "daily").exit_code == 0


SHOP_HOURS = """
[business_hours]
enabled = true
days = ["mon", "tue", "wed", "thu", "fri", "sat"]
start = "09:00"
end = "15:00"
[sla.high]
resolution = "1d"
"""


@pytest.fixture
def opening_days_run(run, tmp_path):
    path = tmp_path / "shop.toml"
    path.write_text(SHOP_HOURS)

    def go(*args, ok=True):
        return run("--config", str(path), *args, ok=ok)

    go("customer", "add", "Ada", "--at", "2026-01-01")
    return go


def test_a_day_of_an_sla_target_is_one_opening_day_when_business_hours_are_on(opening_days_run):
    # now is Saturday 2026-03-14 11:00 Berlin; the shop opens Mon-Sat 09:00-15:00
    opening_days_run("ticket", "open", "ada", "saturday afternoon", "--priority", "high", "--at", "2026-03-07 14:00")
    opening_days_run("ticket", "open", "ada", "saturday evening", "--priority", "high", "--at", "2026-03-07 20:00")
    rows = breaching(opening_days_run)
    assert {r["id"]: (r["state"], r["target"], r["due_at"]) for r in rows} == {
        1: ("breached", "resolution", "2026-03-09T13:00:00+00:00"),  # Monday 14:00 Berlin
        2: ("breached", "resolution", "2026-03-10T08:00:00+00:00"),  # Tuesday 09:00, not Monday 15:00
    }


def test_an_opening_day_target_is_met_up_to_the_same_time_next_opening_day(opening_days_run):
    opening_days_run("ticket", "open", "ada", "on time", "--priority", "high", "--at", "2026-03-07 14:00")
    opening_days_run("ticket", "close", "1", "--at", "2026-03-09 14:00")  # Monday, same time
    opening_days_run("ticket", "open", "ada", "late", "--priority", "high", "--at", "2026-03-07 14:00")
    opening_days_run("ticket", "close", "2", "--at", "2026-03-09 14:01")
    block = sla_block(opening_days_run)
    assert (block["resolution_met"], block["resolution_breached"]) == (1, 1)


def test_sla_targets_count_days_as_opening_days_only_with_business_hours(tmp_path):
    from carecli.core import config
    from carecli.measure.sla import targets

    path = tmp_path / "c.toml"
    sla = '[sla.high]\nfirst_response = "36h"\nresolution = "1d 4h"\n[sla.low]\nresolution = "2w"\n'
    path.write_text(sla)
    assert targets(config.load(path, env={})) == {
        "high": {"first_response": 36 * 3600, "resolution": 28 * 3600},
        "low": {"resolution": 14 * 86400},
    }
    path.write_text(SHOP_HOURS.replace('[sla.high]\nresolution = "1d"\n', sla))
    day = 6 * 3600  # one opening day of the Mon-Sat 09:00-15:00 shop
    assert targets(config.load(path, env={})) == {
        "high": {"first_response": 36 * 3600, "resolution": day + 4 * 3600},
        "low": {"resolution": 2 * 6 * day},  # a week is the shop's six opening days
    }
