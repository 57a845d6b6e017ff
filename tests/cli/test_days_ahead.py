"""`today --week` / `--days N`: each day's follow-ups and SLA deadlines, and `today --date`
saying which parts are as of now. Now is Saturday 2026-03-14 11:00 in Berlin (tests/conftest.py)."""

from __future__ import annotations

import csv
import io

import pytest

SLA = '[sla.high]\nfirst_response = "2h"\nresolution = "3d"\n'


@pytest.fixture
def week(shop, tmp_path, monkeypatch):
    """Ticket #1 (high, opened Fri 09:00, unanswered) and #2 (high, opened Sat 10:30) with SLA
    targets; follow-ups today, Wed 15:00, every 3 days from Sunday, and one overdue since Wed."""
    config = tmp_path / "sla.toml"
    config.write_text(SLA)
    monkeypatch.setenv("CARECLI_CONFIG", str(config))
    shop("ticket", "open", "ben", "Invoice please", "--priority", "high", "--at", "2026-03-14 10:30", ok=True)
    shop("followup", "add", "ada", "--due", "today", "--note", "Call about the vase", ok=True)
    shop("followup", "add", "ben", "--due", "2026-03-18 15:00", "--note", "Ask about the invoice", ok=True)
    shop("followup", "add", "ada", "--due", "2026-03-15", "--every", "3 days", "--note", "Water check", ok=True)
    shop("followup", "add", "ben", "--due", "2026-03-11", "--at", "2026-03-01", "--note", "Old one", ok=True)
    return shop


def test_the_week_lists_each_days_follow_ups_and_sla_deadlines_in_local_time(week):
    items = [
        (i["day"], i["item"], i["state"], i["followup_id"], i["ticket_id"], i["due_at"])
        for i in week.json("today", "--week")
    ]
    assert items == [
        ("2026-03-14", "followup", "scheduled", 1, None, "2026-03-13T23:00:00+00:00"),
        ("2026-03-14", "first_response", "due", None, 2, "2026-03-14T11:30:00+00:00"),  # 10:30 + 2h local
        ("2026-03-15", "followup", "scheduled", 3, None, "2026-03-14T23:00:00+00:00"),
        ("2026-03-16", "resolution", "due", None, 1, "2026-03-16T08:00:00+00:00"),  # Fri 09:00 + 3d
        ("2026-03-17", "resolution", "due", None, 2, "2026-03-17T09:30:00+00:00"),
        # every 3 days: the occurrence after #3 is not stored yet; all-day first on its day
        ("2026-03-18", "followup", "repeat", 3, None, "2026-03-17T23:00:00+00:00"),
        ("2026-03-18", "followup", "scheduled", 2, None, "2026-03-18T14:00:00+00:00"),
    ]


def test_the_week_table_goes_day_by_day_with_local_times_and_says_what_was_late_before(week):
    result = week("today", "--week", ok=True)
    lines = result.stdout.splitlines()
    assert lines[0] == "7 days from Sat 2026-03-14 to Fri 03-20 (SLA as of now)"
    assert [line[:9].strip() for line in lines[3:] if line[:9].strip()] == [
        "Sat 03-14",
        "Sun 03-15",
        "Mon 03-16",
        "Tue 03-17",
        "Wed 03-18",
        "Thu 03-19",
        "Fri 03-20",
    ]
    text = result.stdout
    assert "12:30    first reply #2" in text and "Ben Okafor" in text
    assert "09:00    resolve by #1" in text  # opened Friday 09:00, 3 days
    assert "15:00    follow-up 2" in text
    assert "repeat" in [line.split()[-1] for line in lines if "follow-up 3" in line]
    assert sum("nothing due" in line for line in lines) == 2  # Thursday and Friday
    # Ticket #1's first reply was due Friday 11:00; follow-up #4 since Wednesday.
    assert result.stderr.strip() == (
        "before 2026-03-14: 1 follow-up overdue and 1 SLA deadline missed; see `carecli today`"
    )


def test_days_n_starts_at_date_and_csv_is_a_listing(week):
    written = week("today", "--days", "2", "--date", "2026-03-17", "--format", "csv", ok=True).stdout
    rows = list(csv.DictReader(io.StringIO(written)))
    assert [(r["day"], r["item"], r["ticket_id"], r["followup_id"], r["about"]) for r in rows] == [
        ("2026-03-17", "resolution", "2", "", "Invoice please"),
        ("2026-03-18", "followup", "", "3", "Water check"),
        ("2026-03-18", "followup", "", "2", "Ask about the invoice"),
    ]
    assert [r["all_day"] for r in rows] == ["0", "1", "0"]


def test_a_deadline_passed_on_the_first_day_is_listed_as_breached(week, monkeypatch):
    # Ticket #2's first reply was due at 12:30; at 13:00 it is late, still on the day listed.
    monkeypatch.setenv("CARECLI_NOW", "2026-03-14T12:00:00+00:00")
    [first_reply] = [i for i in week.json("today", "--days", "1") if i["item"] == "first_response"]
    assert (first_reply["ticket_id"], first_reply["state"]) == (2, "breached")
    [line] = [line for line in week("today", "--days", "1", ok=True).stdout.splitlines() if "first reply" in line]
    assert line.split()[-1] == "breached"


def test_week_and_days_together_are_a_usage_error(week):
    result = week("today", "--week", "--days", "3")
    assert result.exit_code == 2
    assert "--week and --days both say how many days" in result.stderr


def test_another_days_agenda_says_waiting_and_sla_are_as_of_now(week):
    out = week("today", "--date", "2026-03-18", ok=True).stdout
    assert out.splitlines()[0] == "Agenda: 2026-03-18 (waiting and SLA as of now, 2026-03-14 11:00)"
    assert "waiting on us (now)" in out and "SLA breached or at risk (now)" in out
    assert "follow-ups due (now)" not in out
    assert "Waiting on us, as of now" in out
    agenda = week.json("today", "--date", "2026-03-18")
    assert agenda["as_of_now"] == ["waiting_on_us", "waiting_on_customer", "sla_breaching"]
    assert agenda["now"] == "2026-03-14T10:00:00+00:00"
    assert [f["id"] for f in agenda["followups_due"]] == [2]


def test_todays_agenda_keeps_its_title(week):
    out = week("today", ok=True).stdout
    assert out.splitlines()[0] == "Today: 2026-03-14" and "(now)" not in out
