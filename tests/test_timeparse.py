"""Specification of carecli.text (when, durations, cadence, clock): how users write times, durations and cadences."""

import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from carecli.text.cadence import next_occurrence, parse_every, parse_rrule
from carecli.text.clock import format_local, from_db, get_zone, local_day_bounds, now_utc, to_db
from carecli.text.durations import DaysApart, age_text, humanize_seconds, parse_days_apart, parse_duration
from carecli.text.vocabulary import TimeParseError
from carecli.text.when import is_date_only, parse_when

BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc
# Saturday 2026-03-14, 11:00 in Berlin (CET, +01:00).
NOW = datetime(2026, 3, 14, 10, 0, 0, tzinfo=UTC)
REPO_ROOT = Path(__file__).resolve().parent.parent


def when(text, **options):
    return to_db(parse_when(text, now=NOW, tz=BERLIN, yearless="next", **options))


def utc(*fields):
    return datetime(*fields, tzinfo=UTC)


# --- parse_when ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("now", "2026-03-14T10:00:00+00:00"),
        ("  NOW ", "2026-03-14T10:00:00+00:00"),
        ("today", "2026-03-13T23:00:00+00:00"),
        ("yesterday", "2026-03-12T23:00:00+00:00"),
        ("tomorrow", "2026-03-14T23:00:00+00:00"),
        ("Tomorrow 09:30", "2026-03-15T08:30:00+00:00"),
        ("tomorrow at 9:30", "2026-03-15T08:30:00+00:00"),
        ("today 5pm", "2026-03-14T16:00:00+00:00"),
        ("today 5:30 pm", "2026-03-14T16:30:00+00:00"),
        ("today 12am", "2026-03-13T23:00:00+00:00"),
        ("5pm", "2026-03-14T16:00:00+00:00"),
        ("at 17:00:30", "2026-03-14T16:00:30+00:00"),
        ("next friday 14:00", "2026-03-20T13:00:00+00:00"),
    ],
)
def test_keywords_and_times_of_day_are_local_to_the_zone(text, expected):
    assert when(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("+3d", "2026-03-17T10:00:00+00:00"),
        ("3d", "2026-03-17T10:00:00+00:00"),
        ("-2h", "2026-03-14T08:00:00+00:00"),
        ("2w", "2026-03-28T10:00:00+00:00"),
        ("2 weeks", "2026-03-28T10:00:00+00:00"),
        ("90m", "2026-03-14T11:30:00+00:00"),
        ("30s", "2026-03-14T10:00:30+00:00"),
        ("+1h30m", "2026-03-14T11:30:00+00:00"),
        ("3 days ago", "2026-03-11T10:00:00+00:00"),
        ("in 2 days", "2026-03-16T10:00:00+00:00"),
        ("1y", "2027-03-14T10:00:00+00:00"),
        ("-1mo", "2026-02-14T10:00:00+00:00"),
        # Days and months keep the local wall clock (11:00) across the DST switch of March 29.
        ("+1mo", "2026-04-14T09:00:00+00:00"),
        ("3 months", "2026-06-14T09:00:00+00:00"),
        ("+16d", "2026-03-30T09:00:00+00:00"),
        # Hours are exact elapsed time.
        ("+384h", "2026-03-30T10:00:00+00:00"),
    ],
)
def test_relative_offsets_count_from_now_and_unsigned_means_ahead_when_planning(text, expected):
    assert when(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2w", "2026-02-28T10:00:00+00:00"),
        ("90d", "2025-12-14T10:00:00+00:00"),
        ("+3d", "2026-03-17T10:00:00+00:00"),
        ("-2h", "2026-03-14T08:00:00+00:00"),
        ("in 2 days", "2026-03-16T10:00:00+00:00"),
        ("3 days ago", "2026-03-11T10:00:00+00:00"),
    ],
)
def test_an_unsigned_offset_looks_back_when_recording_or_reporting(text, expected):
    # --since 2w is the last two weeks, as a date without a year is its most recent occurrence.
    assert to_db(parse_when(text, now=NOW, tz=BERLIN, yearless="past")) == expected


def test_month_offsets_clamp_to_the_end_of_shorter_months():
    jan_31 = datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert parse_when("1mo", now=jan_31, tz=UTC, yearless="next") == utc(2026, 2, 28, 12)
    leap_day = datetime(2028, 2, 29, 12, tzinfo=UTC)
    assert parse_when("1y", now=leap_day, tz=UTC, yearless="next") == utc(2029, 2, 28, 12)


@pytest.mark.parametrize(
    "text, expected_local_day",
    [
        # NOW is a Saturday.
        ("monday", date(2026, 3, 16)),
        ("mon", date(2026, 3, 16)),
        ("next monday", date(2026, 3, 16)),
        ("saturday", date(2026, 3, 21)),
        ("next sat", date(2026, 3, 21)),
        ("sunday", date(2026, 3, 15)),
        ("last monday", date(2026, 3, 9)),
        ("last saturday", date(2026, 3, 7)),
        ("last fri", date(2026, 3, 13)),
    ],
)
def test_weekdays_mean_strictly_after_today_and_last_means_strictly_before(text, expected_local_day):
    assert parse_when(text, now=NOW, tz=BERLIN, yearless="next") == local_day_bounds(expected_local_day, BERLIN)[0]


@pytest.mark.parametrize(
    "text, expected_local_midnight",
    [
        ("eod", date(2026, 3, 15)),
        ("eow", date(2026, 3, 16)),  # the Monday after this week's Sunday
        ("eom", date(2026, 4, 1)),
        ("sow", date(2026, 3, 9)),
        ("som", date(2026, 3, 1)),
    ],
)
def test_period_bounds_are_local_midnights_and_ignore_end_of_day(text, expected_local_midnight):
    expected = local_day_bounds(expected_local_midnight, BERLIN)[0]
    assert parse_when(text, now=NOW, tz=BERLIN, yearless="next") == expected
    assert parse_when(text, now=NOW, tz=BERLIN, yearless="next", end_of_day=True) == expected


def test_eow_on_a_sunday_is_the_coming_midnight():
    sunday_noon = datetime(2026, 3, 15, 11, tzinfo=UTC)
    assert parse_when("eow", now=sunday_noon, tz=BERLIN, yearless="next") == utc(2026, 3, 15, 23)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-03-14", "2026-03-13T23:00:00+00:00"),
        ("2026-03-14T09:30", "2026-03-14T08:30:00+00:00"),
        ("2026-03-14t09:30", "2026-03-14T08:30:00+00:00"),
        ("2026-03-14 09:30:15", "2026-03-14T08:30:15+00:00"),
        ("2026-03-14 09:30:15.123456", "2026-03-14T08:30:15+00:00"),
        ("2026-03-14T09:30:00Z", "2026-03-14T09:30:00+00:00"),
        ("2026-03-14T09:30:00+05:30", "2026-03-14T04:00:00+00:00"),
        ("2026-03-14 09:30-0200", "2026-03-14T11:30:00+00:00"),
        ("2026-03-14T09:30:00+00:00", "2026-03-14T09:30:00+00:00"),
    ],
)
def test_iso_text_without_offset_is_local_and_with_offset_is_exact(text, expected):
    assert when(text) == expected


@pytest.mark.parametrize(
    "text, options, expected",
    [
        ("14 March 2026", {}, "2026-03-13T23:00:00+00:00"),
        ("March 14, 2026 9:30", {}, "2026-03-14T08:30:00+00:00"),
        ("03/04/2026", {}, "2026-03-03T23:00:00+00:00"),
        ("03/04/2026", {"dayfirst": True}, "2026-04-02T22:00:00+00:00"),
        ("14.03.2026 09:30", {"dayfirst": True}, "2026-03-14T08:30:00+00:00"),
        ("2026-03-14 9:30", {}, "2026-03-14T08:30:00+00:00"),
    ],
)
def test_other_date_spellings_go_through_dateutil(text, options, expected):
    assert when(text, **options) == expected


@pytest.mark.parametrize("text", ["today", "2026-03-14", "14 March 2026", "next monday", "tomorrow"])
def test_end_of_day_turns_a_whole_day_into_its_exclusive_end(text):
    start = parse_when(text, now=NOW, tz=BERLIN, yearless="next")
    end = parse_when(text, now=NOW, tz=BERLIN, yearless="next", end_of_day=True)
    assert end - start == timedelta(days=1)


@pytest.mark.parametrize("text", ["tomorrow 09:30", "2026-03-14T09:30", "+3d", "now", "5pm"])
def test_end_of_day_leaves_exact_times_alone(text):
    assert parse_when(text, now=NOW, tz=BERLIN, yearless="next", end_of_day=True) == parse_when(
        text, now=NOW, tz=BERLIN, yearless="next"
    )


@pytest.mark.parametrize(
    "text",
    [
        "blorp",
        "",
        "   ",
        "5",
        "12",
        "-3",
        "1.5",
        "next",
        "next blorp",
        "monday blorp",
        "tomorrow 25:00",
        "today 13pm",
        "tomorrow 9",
        "2026-02-30",
        "2026-13-01 10:00",
        "+99999y",
        "1.5mo",
        "10:00 CET",
        "march",
        "-3 days ago",
        "9999-12-31 23:59-12:00",
        "0001-01-01 00:30",
    ],
)
def test_unreadable_times_raise_time_parse_error_with_examples(text):
    with pytest.raises(TimeParseError) as raised:
        parse_when(text, now=NOW, tz=BERLIN, yearless="next")
    message = str(raised.value)
    assert "\n" not in message
    assert "try" in message


def test_error_message_quotes_the_input_and_shows_examples():
    with pytest.raises(TimeParseError, match=r"cannot read 'blorp' as a time; try 2026-03-14, .*next monday"):
        parse_when("blorp", now=NOW, tz=BERLIN, yearless="next")


def test_time_parse_error_is_a_value_error():
    assert issubclass(TimeParseError, ValueError)


def test_naive_now_is_a_programming_error():
    with pytest.raises(ValueError, match="aware"):
        parse_when("today", now=datetime(2026, 3, 14), tz=BERLIN, yearless="next")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-03-14", True),
        ("today", True),
        ("Tomorrow", True),
        ("yesterday", True),
        ("next monday", True),
        ("fri", True),
        ("last sunday", True),
        ("14 March 2026", True),
        ("2026-03-14 09:30", False),
        ("tomorrow 09:30", False),
        ("+3d", False),
        ("2w", False),
        ("now", False),
        ("eow", False),
        ("som", False),
        ("March 14 2026 9am", False),
        ("blorp", False),
        ("", False),
    ],
)
def test_is_date_only_tells_whole_days_from_instants(text, expected):
    assert is_date_only(text, dayfirst=False) is expected


# --- DST ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-03-28 09:00", "2026-03-28T08:00:00+00:00"),  # CET, +01:00
        ("2026-03-29 09:00", "2026-03-29T07:00:00+00:00"),  # CEST, +02:00
        ("2026-10-24 09:00", "2026-10-24T07:00:00+00:00"),  # CEST
        ("2026-10-25 09:00", "2026-10-25T08:00:00+00:00"),  # CET again
        # Times the clock skips or repeats resolve like zoneinfo with fold=0.
        ("2026-03-29 02:30", "2026-03-29T01:30:00+00:00"),
        ("2026-10-25 02:30", "2026-10-25T00:30:00+00:00"),
    ],
)
def test_naive_local_times_convert_with_the_offset_in_force_that_day(text, expected):
    assert when(text) == expected


def test_local_day_bounds_are_23_or_25_hours_on_dst_days():
    spring_start, spring_end = local_day_bounds(date(2026, 3, 29), BERLIN)
    assert spring_start == utc(2026, 3, 28, 23)
    assert spring_end - spring_start == timedelta(hours=23)
    autumn_start, autumn_end = local_day_bounds(date(2026, 10, 25), BERLIN)
    assert autumn_end - autumn_start == timedelta(hours=25)
    ordinary_start, ordinary_end = local_day_bounds(date(2026, 3, 14), BERLIN)
    assert ordinary_end - ordinary_start == timedelta(hours=24)


def test_tomorrow_across_the_spring_switch_is_local_midnight():
    saturday_before = datetime(2026, 3, 28, 12, tzinfo=UTC)
    assert parse_when("tomorrow", now=saturday_before, tz=BERLIN, yearless="next") == utc(2026, 3, 28, 23)
    assert parse_when("tomorrow", now=saturday_before, tz=BERLIN, yearless="next", end_of_day=True) == utc(
        2026, 3, 29, 22
    )


# --- now_utc and get_zone ---------------------------------------------------------------------


def test_now_utc_is_aware_and_whole_seconds(monkeypatch):
    monkeypatch.delenv("CARECLI_NOW", raising=False)
    current = now_utc()
    assert current.tzinfo is not None and current.utcoffset() == timedelta(0)
    assert current.microsecond == 0


@pytest.mark.parametrize(
    "pinned, expected",
    [
        ("2026-03-14T09:00:00+00:00", utc(2026, 3, 14, 9)),
        ("2026-03-14 09:00", utc(2026, 3, 14, 9)),
        ("2026-03-14T10:00:00+01:00", utc(2026, 3, 14, 9)),
    ],
)
def test_carecli_now_pins_the_clock_and_naive_text_there_is_utc(monkeypatch, pinned, expected):
    monkeypatch.setenv("CARECLI_NOW", pinned)
    assert now_utc() == expected


def test_unreadable_carecli_now_names_the_variable(monkeypatch):
    monkeypatch.setenv("CARECLI_NOW", "blorp")
    with pytest.raises(TimeParseError, match="^CARECLI_NOW: cannot read 'blorp'"):
        now_utc()


def test_get_zone_returns_named_iana_zones():
    assert get_zone("Europe/Berlin") == BERLIN


@pytest.mark.parametrize("name", ["Mars/Olympus", "Europe", "../etc/passwd", "not a zone"])
def test_get_zone_rejects_unknown_names_with_a_hint(name):
    with pytest.raises(TimeParseError, match="unknown time zone .*IANA name such as Europe/Berlin"):
        get_zone(name)


@pytest.mark.parametrize("name", [None, ""])
def test_get_zone_without_a_name_is_the_system_zone(monkeypatch, name):
    monkeypatch.setenv("TZ", "America/New_York")
    assert get_zone(name) == ZoneInfo("America/New_York")


def test_get_zone_falls_back_to_a_fixed_offset_for_unnamed_zones(monkeypatch):
    monkeypatch.setenv("TZ", "XYZ0")  # a POSIX rule, not an IANA key
    zone = get_zone(None)
    assert datetime(2026, 1, 1, tzinfo=zone).utcoffset() is not None


# --- to_db / from_db / formatting ------------------------------------------------------------


def test_to_db_writes_one_fixed_utc_format():
    assert to_db(datetime(2026, 3, 14, 11, 30, 15, 999999, tzinfo=BERLIN)) == "2026-03-14T10:30:15+00:00"


def test_to_db_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        to_db(datetime(2026, 3, 14))


def test_from_db_returns_aware_utc():
    assert from_db("2026-03-14T10:30:15+00:00") == utc(2026, 3, 14, 10, 30, 15)
    assert from_db("2026-03-14T11:30:15+01:00").tzinfo == UTC
    assert from_db("2026-03-14T10:30:15Z") == utc(2026, 3, 14, 10, 30, 15)


def test_format_local_shows_the_zone_wall_clock():
    assert format_local("2026-03-14T08:30:00+00:00", BERLIN) == "2026-03-14 09:30"
    assert format_local(utc(2026, 7, 1, 8, 30, 5), BERLIN, with_seconds=True) == "2026-07-01 10:30:05"
    assert format_local(None, BERLIN) == ""
    assert format_local("", BERLIN) == ""


@pytest.mark.parametrize(
    "seconds, expected",
    [
        (None, "—"),
        (0, "0s"),
        (0.7, "0s"),
        (45, "45s"),
        (720, "12m"),
        (725, "12m 5s"),
        (8100, "2h 15m"),
        (7200, "2h"),
        (3 * 86400 + 4 * 3600 + 59, "3d 4h"),
        (3 * 86400 + 300, "3d"),
        (15 * 86400, "15d"),
        (-8100, "-2h 15m"),
        (-30.5, "-30s"),
    ],
)
def test_humanize_seconds_keeps_the_two_most_significant_units(seconds, expected):
    assert humanize_seconds(seconds) == expected


def test_age_text_humanizes_time_since_a_stored_time():
    assert age_text("2026-03-11T08:00:00+00:00", NOW) == "3d 2h"
    assert age_text(None, NOW) == "—"


# --- parse_duration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2h 15m", timedelta(hours=2, minutes=15)),
        ("2 hours 15 minutes", timedelta(hours=2, minutes=15)),
        ("1.5h", timedelta(minutes=90)),
        ("3d", timedelta(days=3)),
        ("2w", timedelta(weeks=2)),
        (" 10 MIN ", timedelta(minutes=10)),
        ("0m", timedelta(0)),
    ],
)
def test_parse_duration_reads_amounts_with_units(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1d", DaysApart(0, 1, timedelta())),
        ("36h", DaysApart(0, 0, timedelta(hours=36))),
        ("1d 4h", DaysApart(0, 1, timedelta(hours=4))),
        ("2w 1d 30m", DaysApart(2, 1, timedelta(minutes=30))),
        ("1.5 days", DaysApart(0, 1.5, timedelta())),
    ],
)
def test_parse_days_apart_keeps_days_and_weeks_out_of_the_hours(text, expected):
    assert parse_days_apart(text) == expected


def test_parse_days_apart_refuses_what_parse_duration_refuses():
    for text in ("", "3", "-1d", "2 months", "1d soon"):
        with pytest.raises(TimeParseError):
            parse_days_apart(text)


@pytest.mark.parametrize(
    "text, hint",
    [
        ("90", "write 90m, 1h or 3d"),
        ("1.5", "write 90m, 1h or 3d"),
        ("", "no duration"),
        ("-5m", "cannot be negative"),
        ("1mo", "use days"),
        ("2 years", "use days"),
        ("blorp", "cannot read 'blorp' as a duration"),
        ("1h30", "cannot read"),
        ("99999999999w", "too long"),
    ],
)
def test_parse_duration_errors_say_how_to_fix_them(text, hint):
    with pytest.raises(TimeParseError, match=hint):
        parse_duration(text)


# --- parse_every / parse_rrule / next_occurrence ---------------------------------------------


def local_occurrences(rule, count):
    return [occurrence for _, occurrence in zip(range(count), rule)]


def test_parse_every_builds_the_rule_in_local_time():
    start = utc(2026, 3, 14, 8)  # 09:00 in Berlin
    rule = parse_every("daily", dtstart=start, tz=BERLIN)
    assert local_occurrences(rule, 2) == [datetime(2026, 3, 14, 9), datetime(2026, 3, 15, 9)]


@pytest.mark.parametrize(
    "spec, expected_days",
    [
        ("daily", ["2026-03-14", "2026-03-15", "2026-03-16"]),
        ("weekly", ["2026-03-14", "2026-03-21", "2026-03-28"]),
        ("every week", ["2026-03-14", "2026-03-21", "2026-03-28"]),
        ("2w", ["2026-03-14", "2026-03-28", "2026-04-11"]),
        ("every 2 weeks", ["2026-03-14", "2026-03-28", "2026-04-11"]),
        ("10d", ["2026-03-14", "2026-03-24", "2026-04-03"]),
        ("monthly", ["2026-03-14", "2026-04-14", "2026-05-14"]),
        ("quarterly", ["2026-03-14", "2026-06-14", "2026-09-14"]),
        ("3 months", ["2026-03-14", "2026-06-14", "2026-09-14"]),
        ("every 6 months", ["2026-03-14", "2026-09-14", "2027-03-14"]),
        ("yearly", ["2026-03-14", "2027-03-14", "2028-03-14"]),
        ("Annually", ["2026-03-14", "2027-03-14", "2028-03-14"]),
        ("1y", ["2026-03-14", "2027-03-14", "2028-03-14"]),
        ("weekly on friday", ["2026-03-20", "2026-03-27", "2026-04-03"]),
        # Weeks count from dtstart's own week (Mon 9 - Sun 15), so every other week starts on the 23rd.
        ("every 2 weeks on mon,thu", ["2026-03-23", "2026-03-26", "2026-04-06"]),
        ("every week on mon and thu", ["2026-03-16", "2026-03-19", "2026-03-23"]),
        ("monthly on the 1st", ["2026-04-01", "2026-05-01", "2026-06-01"]),
        ("monthly on day 15", ["2026-03-15", "2026-04-15", "2026-05-15"]),
        ("monthly on the last day", ["2026-03-31", "2026-04-30", "2026-05-31"]),
        ("monthly on the 31st", ["2026-03-31", "2026-04-30", "2026-05-31"]),
    ],
)
def test_parse_every_cadences(spec, expected_days):
    rule = parse_every(spec, dtstart=utc(2026, 3, 14, 8), tz=BERLIN)
    assert [occurrence.date().isoformat() for occurrence in local_occurrences(rule, 3)] == expected_days


def test_monthly_from_the_31st_lands_on_each_month_end():
    rule = parse_every("monthly", dtstart=datetime(2026, 1, 31, 9, tzinfo=BERLIN), tz=BERLIN)
    days = [occurrence.date() for occurrence in local_occurrences(rule, 5)]
    assert days == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31)]


def test_monthly_from_the_30th_keeps_the_30th_and_clamps_february():
    rule = parse_every("monthly", dtstart=datetime(2028, 1, 30, 9, tzinfo=BERLIN), tz=BERLIN)
    days = [occurrence.date() for occurrence in local_occurrences(rule, 3)]
    assert days == [date(2028, 1, 30), date(2028, 2, 29), date(2028, 3, 30)]


def test_six_months_from_august_31_clamps_to_february_end():
    rule = parse_every("6 months", dtstart=datetime(2027, 8, 31, 9, tzinfo=BERLIN), tz=BERLIN)
    days = [occurrence.date() for occurrence in local_occurrences(rule, 3)]
    assert days == [date(2027, 8, 31), date(2028, 2, 29), date(2028, 8, 31)]


def test_yearly_from_a_leap_day_uses_february_28_in_common_years():
    rule = parse_every("yearly", dtstart=datetime(2028, 2, 29, 9, tzinfo=BERLIN), tz=BERLIN)
    days = [occurrence.date() for occurrence in local_occurrences(rule, 5)]
    assert days == [date(2028, 2, 29), date(2029, 2, 28), date(2030, 2, 28), date(2031, 2, 28), date(2032, 2, 29)]


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "blorp",
        "every",
        "5",
        "2h",
        "0w",
        "1.5w",
        "1w2d",
        "daily on monday",
        "weekly on blorp",
        "monthly on the 32nd",
        "monthly on friday",
        "every other week",
    ],
)
def test_parse_every_rejects_unknown_cadences_with_examples(spec):
    with pytest.raises(TimeParseError, match="try 2w, 3 months, monthly, weekly on friday, 1y"):
        parse_every(spec, dtstart=NOW, tz=BERLIN)


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1",
        "RRULE:FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1",
        "rrule:freq=monthly;interval=6;bymonthday=1",
    ],
)
def test_parse_rrule_reads_rfc_5545_text(text):
    rule = parse_rrule(text, dtstart=utc(2026, 3, 14, 8), tz=BERLIN)
    assert local_occurrences(rule, 3) == [datetime(2026, 9, 1, 9), datetime(2027, 3, 1, 9), datetime(2027, 9, 1, 9)]


def test_parse_rrule_reads_a_utc_until():
    rule = parse_rrule("FREQ=DAILY;UNTIL=20260316T080000Z", dtstart=utc(2026, 3, 14, 8), tz=BERLIN)
    assert [occurrence.day for occurrence in rule] == [14, 15, 16]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "blorp",
        "FREQ=",
        "FREQ=SOMETIMES",
        "FREQ=DAILY;BYDAY=XX",
        "FREQ=DAILY\nRRULE:FREQ=WEEKLY",
        "DTSTART:20260101T000000",
    ],
)
def test_parse_rrule_errors_show_an_example(text):
    with pytest.raises(TimeParseError, match="try FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1"):
        parse_rrule(text, dtstart=NOW, tz=BERLIN)


def test_next_occurrence_keeps_0900_local_across_both_dst_switches():
    rule = parse_every("weekly", dtstart=utc(2026, 3, 21, 8), tz=BERLIN)  # Saturday 09:00 CET
    assert next_occurrence(rule, after=utc(2026, 3, 21, 8), tz=BERLIN) == utc(2026, 3, 28, 8)
    assert next_occurrence(rule, after=utc(2026, 3, 28, 8), tz=BERLIN) == utc(2026, 4, 4, 7)  # CEST
    assert next_occurrence(rule, after=utc(2026, 10, 24, 7), tz=BERLIN) == utc(2026, 10, 31, 8)  # CET


def test_next_occurrence_is_strictly_after_and_may_be_the_start_itself():
    rule = parse_every("daily", dtstart=utc(2026, 3, 14, 8), tz=BERLIN)
    assert next_occurrence(rule, after=utc(2026, 3, 14, 7, 59, 59), tz=BERLIN) == utc(2026, 3, 14, 8)
    assert next_occurrence(rule, after=utc(2026, 3, 14, 8), tz=BERLIN) == utc(2026, 3, 15, 8)


def test_next_occurrence_through_the_repeated_autumn_hour():
    # Follow-ups refuse hourly rules (parse_rrule), but next_occurrence still serves any rule.
    rule = rrulestr("FREQ=HOURLY", dtstart=datetime(2026, 10, 25))  # local midnight
    # 02:30 local happens twice on 2026-10-25; after the first (00:30Z) comes the 03:00 hour.
    assert next_occurrence(rule, after=utc(2026, 10, 25, 0, 0), tz=BERLIN) == utc(2026, 10, 25, 2)


def test_next_occurrence_is_none_when_the_rule_has_ended():
    rule = parse_rrule("FREQ=DAILY;COUNT=2", dtstart=NOW, tz=BERLIN)
    assert next_occurrence(rule, after=NOW + timedelta(days=5), tz=BERLIN) is None


# --- properties --------------------------------------------------------------------------------

ZONES = st.sampled_from(
    [
        UTC,
        BERLIN,
        ZoneInfo("America/New_York"),
        ZoneInfo("Asia/Kolkata"),
        ZoneInfo("Australia/Lord_Howe"),
        timezone(timedelta(hours=-9, minutes=-30)),
    ]
)
AWARE_TIMES = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2099, 12, 30), timezones=ZONES)


@given(AWARE_TIMES)
def test_db_text_round_trips_any_aware_time(moment):
    stored = to_db(moment)
    assert len(stored) == 25 and stored.endswith("+00:00")
    assert from_db(stored) == moment.astimezone(UTC).replace(microsecond=0)


@given(AWARE_TIMES, ZONES)
def test_parse_when_reads_back_stored_text(moment, zone):
    stored = to_db(moment)
    assert to_db(parse_when(stored, now=NOW, tz=zone, yearless="next")) == stored


@given(AWARE_TIMES, AWARE_TIMES)
def test_stored_text_sorts_like_time(first, second):
    first_utc, second_utc = (from_db(to_db(moment)) for moment in (first, second))
    assert (to_db(first) < to_db(second)) == (first_utc < second_utc)


@given(st.integers(0, 400), st.integers(0, 23), st.integers(0, 59), st.booleans())
def test_parse_duration_of_generated_amounts(days, hours, minutes, spaced):
    text = (" " if spaced else "").join([f"{days}d", f"{hours}h", f"{minutes}m"])
    assert parse_duration(text) == timedelta(days=days, hours=hours, minutes=minutes)


@settings(max_examples=300)
@given(st.text())
def test_parse_when_raises_only_time_parse_error_on_arbitrary_text(text):
    try:
        result = parse_when(text, now=NOW, tz=BERLIN, yearless="next")
    except TimeParseError:
        return
    assert result.tzinfo is not None and result.microsecond == 0


@given(st.text(alphabet="0123456789 :-/.+tzapmdhwsyo", max_size=25))
def test_parse_when_raises_only_time_parse_error_on_date_like_text(text):
    try:
        parse_when(text, now=NOW, tz=BERLIN, yearless="next")
    except TimeParseError:
        pass


@given(st.text(alphabet="0123456789 .+-dhmswoy", max_size=20))
def test_parse_duration_raises_only_time_parse_error(text):
    try:
        assert parse_duration(text) >= timedelta(0)
    except TimeParseError:
        pass


# --- issue 11: day-first, the plausible window, dates without a year, bounded cadences ---------

DAYS = st.dates(min_value=date(1971, 1, 1), max_value=date(2098, 12, 31))


@pytest.mark.parametrize(
    "text, expected_local_day",
    [
        ("2026-12-04 9am", "2026-12-04"),
        ("2026/12/04", "2026-12-04"),
        ("2026.12.04 9:30", "2026-12-04"),
        ("24/12/2026", "2026-12-24"),
        ("24.12.2026", "2026-12-24"),
        ("24-12-2026", "2026-12-24"),
        ("04/12/26 9am", "2026-12-04"),
        ("04/12 9am", "2026-12-04"),
    ],
)
def test_dayfirst_reads_only_day_first_numeric_dates_day_first(text, expected_local_day):
    moment = parse_when(text, now=NOW, tz=BERLIN, yearless="next", dayfirst=True)
    assert moment.astimezone(BERLIN).date().isoformat() == expected_local_day


@given(DAYS, st.sampled_from(["-", "/", "."]), st.sampled_from(["", " 9am", " 09:30", " 5 pm"]))
def test_a_year_first_date_is_never_day_first(day, separator, time_of_day):
    text = f"{day.year}{separator}{day.month:02}{separator}{day.day:02}{time_of_day}"
    for dayfirst in (False, True):
        moment = parse_when(text, now=NOW, tz=BERLIN, yearless="next", dayfirst=dayfirst)
        assert moment.astimezone(BERLIN).date() == day


@given(DAYS, st.sampled_from(["-", "/", "."]), st.booleans())
def test_dayfirst_reads_day_month_year_whatever_the_separator(day, separator, padded):
    day_text, month_text = (f"{day.day:02}", f"{day.month:02}") if padded else (str(day.day), str(day.month))
    text = f"{day_text}{separator}{month_text}{separator}{day.year}"
    assert parse_when(text, now=NOW, tz=BERLIN, yearless="next", dayfirst=True).astimezone(BERLIN).date() == day
    assert is_date_only(text, dayfirst=True)


@pytest.mark.parametrize("text", ["24/12", "24-12", "24.12.2026", "24/12/2026"])  # 24.12 alone is a number
def test_with_dayfirst_a_day_first_date_without_a_time_is_a_whole_day(text):
    assert is_date_only(text, dayfirst=True) is True


@pytest.mark.parametrize(
    "text", ["9999-12-31", "0001-01-02", "1969-12-31 12:00", "2100-01-02", "31/12/9999", "+100y", "80 years ago"]
)
def test_times_outside_a_shops_life_are_refused_with_the_window_and_a_fix(text):
    with pytest.raises(TimeParseError) as raised:
        parse_when(text, now=NOW, tz=UTC, yearless="past")
    message = str(raised.value)
    assert "outside 1970-01-01 to 2100-01-01 (UTC)" in message and "check the year" in message
    assert "\n" not in message


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_only_times_inside_the_window_are_accepted(moment):
    text = to_db(moment.replace(microsecond=0))
    inside = datetime(1970, 1, 1, tzinfo=UTC) <= moment.replace(microsecond=0) <= datetime(2100, 1, 1, tzinfo=UTC)
    try:
        parse_when(text, now=NOW, tz=UTC, yearless="past")
        assert inside
    except TimeParseError as error:
        assert not inside and "outside 1970-01-01" in str(error)


@pytest.mark.parametrize(
    "text, yearless, expected_local_day",
    [
        ("03/04", "next", "2027-03-04"),  # 4 March has passed on 14 March 2026
        ("03/04", "past", "2026-03-04"),
        ("03/20", "next", "2026-03-20"),
        ("03/20", "past", "2025-03-20"),
        ("march 14", "next", "2026-03-14"),  # today is both
        ("march 14", "past", "2026-03-14"),
        ("29 feb", "next", "2028-02-29"),
        ("29 feb", "past", "2024-02-29"),
        ("14 March 2026", "next", "2026-03-14"),  # a year given is kept
        ("4 march 2026", "next", "2026-03-04"),
    ],
)
def test_a_date_without_a_year_is_its_next_or_most_recent_occurrence(text, yearless, expected_local_day):
    moment = parse_when(text, now=NOW, tz=BERLIN, yearless=yearless)
    assert moment.astimezone(BERLIN).date().isoformat() == expected_local_day


def test_a_yearless_date_with_a_time_keeps_the_time():
    assert when("03/04 9:30") == "2027-03-04T08:30:00+00:00"
    assert is_date_only("03/04 9:30", dayfirst=False) is False


@given(DAYS, st.dates(min_value=date(2000, 1, 1), max_value=date(2096, 12, 31)), st.booleans())
def test_yearless_next_is_the_first_such_day_from_today_and_past_the_last_up_to_today(today, day, dayfirst):
    now = datetime.combine(today, datetime.min.time(), tzinfo=UTC).replace(hour=12)
    text = f"{day.day}/{day.month}" if dayfirst else f"{day.month}/{day.day}"
    upcoming = parse_when(text, now=now, tz=UTC, yearless="next", dayfirst=dayfirst).date()
    recent = parse_when(text, now=now, tz=UTC, yearless="past", dayfirst=dayfirst).date()
    assert (upcoming.month, upcoming.day) == (recent.month, recent.day) == (day.month, day.day)
    assert recent <= today <= upcoming
    # No occurrence lies between: the years between hold no such day (only 29 February skips).
    for year in range(recent.year + 1, upcoming.year):
        with pytest.raises(ValueError):
            date(year, day.month, day.day)
    if (day.month, day.day) != (2, 29):
        assert upcoming.year - recent.year <= 1


@pytest.mark.parametrize("frequency", ["HOURLY", "MINUTELY", "SECONDLY"])
def test_follow_up_rules_finer_than_a_day_are_refused_in_one_line(frequency):
    with pytest.raises(TimeParseError, match=f"repeats {frequency.lower()}; follow-ups repeat at most daily") as raised:
        parse_rrule(f"FREQ={frequency};INTERVAL=2", dtstart=NOW, tz=BERLIN)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("spec", ["1h", "30m", "hourly", "every 2 hours"])
def test_every_finer_than_a_day_is_refused(spec):
    with pytest.raises(TimeParseError, match="cannot read"):
        parse_every(spec, dtstart=NOW, tz=BERLIN)


def test_a_count_above_the_limit_is_refused_with_until_as_the_fix():
    with pytest.raises(TimeParseError, match="COUNT above 1000; end a long series with UNTIL"):
        parse_rrule("FREQ=DAILY;COUNT=1001", dtstart=NOW, tz=BERLIN)
    parse_rrule("FREQ=DAILY;COUNT=1000", dtstart=NOW, tz=BERLIN)


RULE_TEXTS = st.sampled_from(
    [
        "FREQ=DAILY",
        "FREQ=DAILY;INTERVAL=3",
        "FREQ=DAILY;BYDAY=MO,WE;BYHOUR=9,15",
        "FREQ=WEEKLY;INTERVAL=2",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
        "FREQ=MONTHLY",
        "FREQ=MONTHLY;INTERVAL=5",
        "FREQ=MONTHLY;BYMONTHDAY=31,-1;BYSETPOS=1",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=YEARLY",
        "FREQ=YEARLY;INTERVAL=4",
        "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO",
        "FREQ=DAILY;COUNT=700",
        "FREQ=WEEKLY;INTERVAL=3;COUNT=40",
        "FREQ=MONTHLY;COUNT=300",
        "FREQ=YEARLY;COUNT=30",
        "FREQ=WEEKLY;BYDAY=FR;COUNT=500",
        "FREQ=MONTHLY;UNTIL=20300101T000000",
        "FREQ=HOURLY;INTERVAL=7",
        "FREQ=MINUTELY;INTERVAL=61",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    RULE_TEXTS,
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2026, 12, 31)),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2040, 12, 31)),
)
def test_next_occurrence_from_near_after_equals_walking_the_whole_series(rule_text, local_start, local_after):
    from dateutil.rrule import rrulestr as read_rule

    # Stored rules (any FREQ, as older databases may hold) as load_rule reads them.
    rule = read_rule(rule_text, dtstart=local_start.replace(microsecond=0))
    after = local_after.replace(tzinfo=UTC)
    walked = rule.after(local_after.replace(microsecond=0), inc=False)
    expected = None if walked is None else walked.replace(tzinfo=UTC)
    assert next_occurrence(rule, after=after, tz=UTC) == expected


# --- import cost -----------------------------------------------------------------------------


def test_importing_timeparse_does_not_import_dateutil():
    probe = "import sys, carecli.text.when, carecli.text.cadence, carecli.text.durations; print(sorted(m for m in ('dateutil', 'rich') if m in sys.modules))"
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-c", probe], env=environment, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
