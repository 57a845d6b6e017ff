"""Reports for cron: the period's figures against the previous period, backlog, follow-ups, agenda."""

from __future__ import annotations

import json


def test_daily_report_defaults_to_yesterday_and_reads_well_without_a_terminal(shop):
    shop("ticket", "reply", "1", "On it", "--at", "2026-03-13 09:30", ok=True)
    shop("ticket", "open", "ben", "Where is my order?", "--at", "2026-03-14 08:00", ok=True)
    out = shop("report", "daily", ok=True).stdout
    assert "\x1b" not in out
    lines = out.splitlines()
    assert lines[0] == "carecli daily report: 2026-03-13 (2026-03-13 00:00 to 2026-03-14 00:00)"
    figures = {line.split("  ")[1]: line for line in lines if line.startswith("  ") and "(was " in line}
    assert figures["Tickets opened"].split() == ["Tickets", "opened", "1", "(was", "0,", "+1", "ticket)"]
    assert figures["Median first reply"].split()[3:] == ["30m", "(was", "—)"]
    assert "Backlog now: 2 open or pending" in lines
    assert "  <1d: 1, 1-3d: 1, 3-7d: 0, >7d: 0" in lines
    assert "Waiting on us (1)" in lines  # the reply handed ticket 1 to the customer (pending)


def test_daily_report_json_has_every_section(shop):
    report = json.loads(shop("report", "daily", "--date", "2026-03-13", "--format", "json", ok=True).stdout)
    assert set(report) == {
        "report",
        "period",
        "figures",
        "changes",
        "backlog",
        "sla_breaches",
        "followups_done",
        "followups_overdue",
        "agenda",
    }
    assert report["figures"]["tickets"]["opened"] == 1
    assert report["agenda"]["date"] == "2026-03-14"
    assert [t["id"] for t in report["agenda"]["waiting_on_us"]] == [1]


def test_weekly_report_compares_with_the_week_before(shop):
    shop("ticket", "open", "ben", "Earlier", "--at", "2026-03-03 10:00", ok=True)
    shop("ticket", "open", "ben", "Earlier too", "--at", "2026-03-04 10:00", ok=True)
    report = json.loads(shop("report", "weekly", "--date", "2026-03-13", "--format", "json", ok=True).stdout)
    assert report["period"]["label"] == "2026-03-09"
    opened = next(c for c in report["changes"] if c["figure"] == "tickets.opened")
    assert (opened["value"], opened["previous"], opened["change"]) == (1, 2, -1)


def test_monthly_markdown_report_uses_headings_and_bullets(shop):
    out = shop("report", "monthly", "--date", "2026-03-01", "--format", "markdown", ok=True).stdout
    assert out.startswith("# carecli monthly report: 2026-03 ")
    assert "## Backlog now: 1 open or pending" in out
    assert "- Tickets opened" in out


def test_a_report_for_a_future_day_is_an_error(shop):
    result = shop("report", "daily", "--date", "2026-04-01")
    assert result.exit_code == 1 and "has not started yet" in result.stderr
