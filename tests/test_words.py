"""What people read: cadences in words, changes with their unit, counts in their number, one-line CSV rules."""

from __future__ import annotations

import csv
import io

import pytest

from carecli.cli.kpi import change_text, figure_text
from carecli.cli.output import counted
from carecli.text.cadence import describe_rule


@pytest.mark.parametrize(
    "rule, words",
    [
        ("FREQ=MONTHLY;BYMONTHDAY=20", "monthly on the 20th"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", "every 2 weeks on Tuesday"),
        ("FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1", "every 6 months on the 1st"),
        ("FREQ=MONTHLY;BYMONTHDAY=31,-1;BYSETPOS=1", "monthly on the 31st (or the last day)"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", "monthly on the last day"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "monthly on the last Friday"),
        ("FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=14", "yearly on March 14"),
        ("FREQ=WEEKLY;BYDAY=MO,TH;COUNT=5", "weekly on Monday and Thursday, 5 times"),
        ("DTSTART:20260320T000000\nRRULE:FREQ=DAILY;INTERVAL=3", "every 3 days"),
        ("FREQ=MONTHLY;BYWEEKNO=3", "monthly (more rules)"),
        ("not a rule", "not a rule"),
    ],
)
def test_cadences_read_as_words(rule, words):
    assert describe_rule(rule) == words


@pytest.mark.parametrize(
    "key, change, text",
    [
        ("tickets.opened", 2, "+2 tickets"),
        ("tickets.backlog", -1, "-1 ticket"),
        ("fcr_pct", -12.4, "-12 points"),
        ("nps.score", 0.5, "+0.5 points"),
        ("first_response_s.median", 4200, "+1h 10m"),
        ("csat.mean", -0.25, "-0.2"),
        ("tickets.closed", 0, "no change"),
        ("tickets.closed", None, ""),
    ],
)
def test_changes_carry_their_unit(key, change, text):
    assert change_text(key, change) == text


def test_shares_and_means_carry_their_count_and_nps_is_whole():
    flat = {"fcr_pct": 72.73, "tickets.closed": 11, "nps.score": -33.33, "nps.n": 3, "csat.mean": 4.2, "csat.n": 1}
    assert figure_text("fcr_pct", flat) == "73 % of 11"
    assert figure_text("nps.score", flat) == "-33 from 3 answers"
    assert figure_text("csat.mean", flat) == "4.2 from 1 answer"
    assert figure_text("fcr_pct", flat, counted=False) == "73 %"
    assert figure_text("reopen_pct", {}) == "—"


def test_counts_read_in_their_number():
    assert [counted(n, "follow-up") for n in (0, 1, 2)] == ["0 follow-ups", "1 follow-up", "2 follow-ups"]
    assert counted(1, "entry", "entries") == "1 entry" and counted(3, "entry", "entries") == "3 entries"


def test_a_repeating_follow_up_is_one_csv_line_and_json_keeps_the_rule(shop):
    shop("followup", "add", "ada", "--due", "2026-03-20", "--every", "monthly", ok=True)
    for args in (("followup", "list"), ("export", "followups")):
        text = shop(*args, "--format", "csv", ok=True).stdout
        assert len(text.splitlines()) == 2, args  # the header and one row: no newline inside a cell
        [row] = list(csv.DictReader(io.StringIO(text)))
        assert row["recurrence"] == "DTSTART:20260320T000000;RRULE:FREQ=MONTHLY;BYMONTHDAY=20", args
    [followup] = shop.json("followup", "list")
    assert followup["recurrence"] == "DTSTART:20260320T000000\nRRULE:FREQ=MONTHLY;BYMONTHDAY=20"
    assert followup["rule"] == "FREQ=MONTHLY;BYMONTHDAY=20"
    shown = shop("followup", "show", "1", ok=True).stdout.splitlines()
    assert next(line for line in shown if line.startswith("repeats")).split(None, 1)[1] == "monthly on the 20th"


def test_adding_a_repeating_follow_up_says_the_cadence_in_words(shop):
    result = shop("followup", "add", "ada", "--due", "2026-03-17", "--every", "2 weeks on tue", ok=True)
    assert "repeating every 2 weeks on Tuesday" in result.stderr
