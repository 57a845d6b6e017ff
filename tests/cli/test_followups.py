"""Follow-ups through the CLI: add, list, done (recurrence, on time vs late), snooze, skip, edit, errors."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import database_digest

# The suite's clock: Saturday 2026-03-14 11:00 in Berlin.


def add(run, *args: str) -> dict:
    return run.json("followup", "add", "ada", *args)


def test_a_date_without_time_is_due_that_whole_local_day(shop):
    followup = add(shop, "--due", "2026-03-20", "--note", "Ask about the new vase")
    assert followup["due_at"] == "2026-03-19T23:00:00+00:00"  # local midnight in Berlin
    assert followup["due_day"] == "2026-03-20"
    assert followup["all_day"] is True
    assert followup["kind"] == "check-in"
    assert followup["status"] == "scheduled"


def test_a_date_and_time_is_due_at_that_time(shop):
    followup = add(shop, "--due", "2026-03-20 15:30", "--kind", "tip")
    assert followup["due_at"] == "2026-03-20T14:30:00+00:00"
    assert followup["all_day"] is False


@pytest.mark.parametrize(
    "spec, rule",
    [
        ("2w", "FREQ=WEEKLY;INTERVAL=2"),
        ("3 months", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=20"),
        ("6 months", "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=20"),
        ("1y", "FREQ=YEARLY"),
        ("monthly", "FREQ=MONTHLY;BYMONTHDAY=20"),
        ("weekly on friday", "FREQ=WEEKLY;BYDAY=FR"),
        ("every 2 weeks on mon,thu", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH"),
    ],
)
def test_every_spellings_store_a_rule(shop, spec, rule):
    followup = add(shop, "--due", "2026-03-20", "--every", spec)
    assert followup["rule"] == rule
    assert followup["recurrence"].startswith("DTSTART:20260320T000000\n")


def test_rrule_is_stored_as_given(shop):
    followup = add(shop, "--due", "2026-04-01", "--rrule", "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1")
    assert followup["rule"] == "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1"


def test_list_is_ordered_by_due_and_filters(shop):
    add(shop, "--due", "2026-03-25", "--kind", "tip")
    add(shop, "--due", "2026-03-10", "--kind", "recovery")
    add(shop, "--due", "2026-03-14 16:00")
    shop("followup", "add", "ben", "--due", "2026-03-12", ok=True)
    rows = shop.json("followup", "list")
    assert [r["due_day"] for r in rows] == ["2026-03-10", "2026-03-12", "2026-03-14", "2026-03-25"]
    assert [r["id"] for r in shop.json("followup", "list", "--overdue")] == [2, 4]
    assert [r["id"] for r in shop.json("followup", "list", "--due-by", "2026-03-14")] == [2, 4, 3]
    assert [r["id"] for r in shop.json("followup", "list", "--customer", "ben")] == [4]
    assert [r["id"] for r in shop.json("followup", "list", "--kind", "tip")] == [1]
    overdue = {r["id"]: r["overdue"] for r in shop.json("followup", "list")}
    assert overdue == {1: False, 2: True, 3: False, 4: True}


def test_list_table_shows_the_day_of_all_day_and_the_time_of_timed(shop):
    add(shop, "--due", "2026-03-25")
    add(shop, "--due", "2026-03-26 09:30")
    out = shop("followup", "list", ok=True).stdout
    assert "2026-03-25 " in out and "2026-03-26 09:30" in out and "2026-03-24 23:00" not in out


def test_done_on_the_due_day_is_on_time_and_logs_an_outbound_contact(shop, db_path, monkeypatch):
    add(shop, "--due", "2026-03-14", "--note", "Check the replacement arrived")
    monkeypatch.setenv("CARECLI_NOW", "2026-03-15T09:00:00+00:00")  # the next morning: 23:30 has passed
    done = shop.json("followup", "done", "1", "--outcome", "All good, she loves it", "--at", "2026-03-14 23:30")
    assert done["status"] == "done" and done["on_time"] is True
    assert done["completed_at"] == "2026-03-14T22:30:00+00:00"
    conn = sqlite3.connect(db_path)
    interaction = conn.execute(
        "SELECT direction, followup_id, ticket_id, body FROM interactions WHERE followup_id IS NOT NULL"
    ).fetchall()
    assert interaction == [("out", 1, None, "All good, she loves it")]
    assert conn.execute("SELECT on_time FROM followups WHERE id = 1").fetchone() == (1,)


def test_done_after_the_due_day_is_late(shop):
    add(shop, "--due", "2026-03-13", "--at", "2026-03-12")
    done = shop.json("followup", "done", "1", "--at", "2026-03-14 00:00")  # local midnight ending the 13th
    assert done["on_time"] is False


def test_done_message_says_on_time_or_late(shop):
    add(shop, "--due", "2026-03-13", "--at", "2026-03-12")
    result = shop("followup", "done", "1", ok=True)
    assert "(late)" in result.stderr


def test_done_on_a_recurring_followup_schedules_the_next_occurrence(shop):
    add(shop, "--due", "2026-03-14", "--every", "monthly", "--kind", "service-reminder", "--note", "Water filter")
    shop("followup", "done", "1", ok=True)
    rows = shop.json("followup", "list", "--status", "all")
    assert [(r["id"], r["status"], r["due_day"], r["previous_id"]) for r in rows] == [
        (1, "done", "2026-03-14", None),
        (2, "scheduled", "2026-04-14", 1),
    ]
    assert rows[1]["kind"] == "service-reminder" and rows[1]["note"] == "Water filter"


def test_done_skips_occurrences_already_past_and_says_so(shop):
    add(shop, "--due", "2025-12-31", "--every", "monthly", "--at", "2025-12-01")
    result = shop("followup", "done", "1", ok=True)
    assert "skipped 2 past occurrences: 2026-01-31, 2026-02-28" in result.stderr
    nxt = shop.json("followup", "show", "2")
    assert nxt["due_day"] == "2026-03-31"  # month end kept: 31st where it exists


def test_a_timed_occurrence_earlier_today_is_past(shop):
    add(shop, "--due", "2026-03-13 09:00", "--every", "daily", "--at", "2026-03-12")
    result = shop("followup", "done", "1", ok=True)  # 11:00 on the 14th: 09:00 today is gone
    assert "skipped 1 past occurrence: 2026-03-14" in result.stderr
    assert shop.json("followup", "show", "2")["due_at"] == "2026-03-15T08:00:00+00:00"


def test_a_rule_with_a_count_ends_the_series(shop):
    add(shop, "--due", "2026-03-14", "--rrule", "FREQ=WEEKLY;COUNT=2")
    shop("followup", "done", "1", ok=True)
    result = shop("followup", "done", "2", ok=True)
    assert "no further occurrence" in result.stderr
    assert shop.json("followup", "list") == []


def test_done_twice_is_an_error_and_writes_nothing(shop, db_path):
    add(shop, "--due", "2026-03-14")
    shop("followup", "done", "1", ok=True)
    before = database_digest(db_path)
    result = shop("followup", "done", "1")
    assert result.exit_code == 1 and "is done" in result.stderr
    assert database_digest(db_path) == before


def test_snooze_and_edit_due_log_each_move_and_skip_keeps_its_time(shop, db_path):
    add(shop, "--due", "2026-03-12", "--at", "2026-03-01")
    shop("followup", "snooze", "1", "2026-03-18", ok=True)
    shop("followup", "edit", "1", "--note", "Ask about the vase", ok=True)  # no move: nothing logged
    shop("followup", "edit", "1", "--due", "2026-03-19 10:00", ok=True)
    shop("followup", "skip", "1", "--at", "2026-03-14 09:00", ok=True)
    conn = sqlite3.connect(db_path)
    assert conn.execute(
        "SELECT followup_id, at, from_due, to_due FROM followup_due_changes ORDER BY id"
    ).fetchall() == [
        (1, "2026-03-14T10:00:00+00:00", "2026-03-11T23:00:00+00:00", "2026-03-17T23:00:00+00:00"),
        (1, "2026-03-14T10:00:00+00:00", "2026-03-17T23:00:00+00:00", "2026-03-19T09:00:00+00:00"),
    ]
    assert conn.execute("SELECT status, completed_at FROM followups").fetchone() == (
        "skipped",
        "2026-03-14T08:00:00+00:00",
    )
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM followup_due_changes")


def test_snooze_moves_the_due_day(shop):
    add(shop, "--due", "2026-03-10")
    snoozed = shop.json("followup", "snooze", "1", "2026-03-18")
    assert snoozed["due_day"] == "2026-03-18" and snoozed["overdue"] is False
    timed = shop.json("followup", "snooze", "1", "tomorrow 09:00")
    assert timed["due_at"] == "2026-03-15T08:00:00+00:00" and timed["all_day"] is False
    assert shop.json("followup", "snooze", "1", "today")["due_day"] == "2026-03-14"


def test_snoozing_a_recurring_occurrence_keeps_the_series_grid(shop, monkeypatch):
    add(shop, "--due", "2026-03-14", "--every", "monthly")
    shop("followup", "snooze", "1", "2026-03-20", ok=True)
    monkeypatch.setenv("CARECLI_NOW", "2026-03-21T09:00:00+00:00")  # done after the snoozed day
    shop("followup", "done", "1", "--at", "2026-03-20 10:00", ok=True)
    assert shop.json("followup", "show", "2")["due_day"] == "2026-04-14"


def test_skip_ends_one_occurrence_and_the_series_goes_on_unless_stopped(shop):
    add(shop, "--due", "2026-03-14", "--every", "weekly")
    skipped = shop.json("followup", "skip", "1", "--reason", "shop closed")
    assert skipped["status"] == "skipped" and skipped["outcome"] == "shop closed"
    assert shop.json("followup", "show", "2")["due_day"] == "2026-03-21"
    shop("followup", "skip", "2", "--stop", ok=True)
    assert shop.json("followup", "list") == []


def test_edit_changes_due_kind_note_and_cadence(shop):
    add(shop, "--due", "2026-03-20")
    edited = shop.json(
        "followup", "edit", "1", "--due", "2026-03-31", "--kind", "offer", "--note", "Spring sale", "--every", "monthly"
    )
    assert (edited["due_day"], edited["kind"], edited["note"]) == ("2026-03-31", "offer", "Spring sale")
    assert edited["rule"] == "FREQ=MONTHLY;BYSETPOS=1;BYMONTHDAY=31,-1"
    assert shop.json("followup", "edit", "1", "--no-repeat")["recurrence"] is None


def test_ticket_must_belong_to_the_customer(shop, db_path):
    shop("ticket", "open", "ben", "Late delivery", ok=True)
    before = database_digest(db_path)
    result = shop("followup", "add", "ada", "--due", "tomorrow", "--ticket", "2")
    assert result.exit_code == 1 and "belongs to another customer" in result.stderr
    assert database_digest(db_path) == before
    assert add(shop, "--due", "tomorrow", "--ticket", "1")["ticket_id"] == 1


@pytest.mark.parametrize(
    "args, expected",
    [
        (("followup", "add", "ada", "--due", "tomorrow", "--kind", "lunch"), "unknown follow-up kind 'lunch'"),
        (("followup", "add", "ada", "--due", "tomorrow", "--every", "every blue moon"), "try 2w, 3 months"),
        (
            ("followup", "add", "ada", "--due", "tomorrow", "--rrule", "FREQ=SOMETIMES"),
            "try FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1",
        ),
        (("followup", "add", "ada", "--due", "tomorrow", "--every", "2w", "--rrule", "FREQ=DAILY"), "not both"),
        (("followup", "add", "ada", "--due", "someday"), "--due: cannot read 'someday'"),
        (("followup", "add", "nobody", "--due", "tomorrow"), "no customer 'nobody'"),
        (("followup", "snooze", "1", "yesterday"), "into the past"),
        (("followup", "snooze", "1", "today 09:00"), "into the past"),
        (("followup", "done", "99"), "no follow-up #99"),
        (("followup", "skip", "99"), "no follow-up #99"),
        (("followup", "edit", "1"), "nothing to change"),
        (("followup", "edit", "1", "--outcome", "x"), "no outcome yet"),
        (("followup", "done", "1", "--at", "2026-03-01"), "it was created at"),
        (("followup", "list", "--status", "maybe"), "unknown follow-up status"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(shop, db_path, args, expected):
    add(shop, "--due", "2026-03-20", "--at", "2026-03-10")
    before = database_digest(db_path)
    result = shop(*args)
    assert result.exit_code == 1, result.stdout
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert expected in result.stderr
    assert database_digest(db_path) == before


# --- issue 11: day-first, dates without a year, due dates in the past, cadences ------------------


def test_with_dayfirst_an_iso_date_stays_year_month_day(shop, monkeypatch):
    monkeypatch.setenv("CARECLI_DAYFIRST", "true")
    followup = add(shop, "--due", "2026-12-04 9am")
    assert followup["due_at"] == "2026-12-04T08:00:00+00:00"


def test_with_dayfirst_a_day_first_date_is_a_whole_day(shop, monkeypatch):
    monkeypatch.setenv("CARECLI_DAYFIRST", "true")
    followup = add(shop, "--due", "24/12")
    assert (followup["due_day"], followup["all_day"]) == ("2026-12-24", True)


def test_a_due_date_without_a_year_is_its_next_occurrence(shop):
    followup = add(shop, "--due", "03/04")  # 4 March has passed on 14 March 2026
    assert (followup["due_day"], followup["all_day"]) == ("2027-03-04", True)


def test_a_snooze_without_a_year_is_its_next_occurrence(shop):
    add(shop, "--due", "2026-03-20")
    assert shop.json("followup", "snooze", "1", "march 10")["due_day"] == "2027-03-10"


def test_at_without_a_year_is_its_most_recent_past_occurrence(shop):
    ticket = shop.json("ticket", "open", "ada", "Late delivery", "--at", "march 20 12:00")
    assert ticket["created_at"] == "2025-03-20T11:00:00+00:00"


def test_since_without_a_year_is_its_most_recent_past_occurrence(shop):
    # The shop's ticket was opened on 2026-03-13; "20 march" is 2025-03-20, not next week.
    rows = shop.json("ticket", "list", "--status", "all", "--since", "20 march")
    assert [r["id"] for r in rows] == [1]


def test_until_without_a_year_is_not_before_since(shop):
    rows = shop.json("ticket", "list", "--status", "all", "--since", "1 march", "--until", "20 march")
    assert [r["id"] for r in rows] == [1]  # 2026-03-01 .. 2026-03-20, not .. 2025-03-20


def test_a_due_date_in_the_past_is_accepted_with_a_warning_that_says_how_long_ago(shop):
    result = shop("followup", "add", "ada", "--due", "2025-12-01", ok=True)
    assert "warning: --due 2025-12-01 is 3 months ago; the follow-up is overdue at once" in result.stderr
    assert shop.json("followup", "show", "1")["overdue"] is True


def test_a_due_date_today_or_later_has_no_warning(shop):
    for due in ("today", "2026-03-14 12:00", "tomorrow"):
        assert "warning" not in shop("followup", "add", "ada", "--due", due, ok=True).stderr


def test_editing_the_due_date_into_the_past_warns(shop):
    add(shop, "--due", "2026-03-20")
    result = shop("followup", "edit", "1", "--due", "2026-03-14 09:00", ok=True)
    assert "warning: --due 2026-03-14 09:00 is 2 hours ago" in result.stderr


def test_times_outside_a_shops_life_are_refused_in_one_line(shop):
    for at in ("9999-12-31", "0001-01-02"):
        result = shop("ticket", "open", "ada", "x", "--at", at)
        assert result.exit_code != 0
        assert f"--at: '{at}' is outside 1970-01-01 to 2100-01-01 (UTC)" in result.stderr


@pytest.mark.parametrize("option", [("--rrule", "FREQ=MINUTELY"), ("--rrule", "FREQ=HOURLY"), ("--every", "1h")])
def test_cadences_finer_than_a_day_are_refused(shop, option):
    result = shop("followup", "add", "ada", "--due", "2026-03-20", *option)
    assert result.exit_code != 0 and option[0] in result.stderr
    assert shop.json("followup", "list", "--status", "all") == []


def test_done_on_a_series_anchored_decades_back_is_quick_and_says_how_much_it_skipped(shop):
    add(shop, "--due", "1990-03-01", "--every", "1d", "--at", "1990-03-01")
    result = shop("followup", "done", "1", ok=True)
    assert "skipped more than 1000 past occurrences: 1990-03-02, 1990-03-03" in result.stderr
    assert shop.json("followup", "show", "2")["due_day"] == "2026-03-14"
