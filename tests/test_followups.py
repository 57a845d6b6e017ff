"""Follow-up recurrence in the configured zone: month ends, leap years, DST; on time vs late."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from carecli.core import config, store
from carecli.core.errors import InvalidInput
from carecli.records import customers, followups
from carecli.schema import database
from carecli.text.clock import from_db, local_day_bounds

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def env(db_path):
    conn = database.connect(db_path, create=True)
    settings = config.load(None)
    with store.transaction(conn):
        ada = customers.add_customer(conn, "Ada Lovelace", at=datetime(2020, 1, 1, tzinfo=timezone.utc))
    yield conn, settings, ada["id"]
    conn.close()


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def series(env, *, due: datetime, all_day: bool, steps: int, every: str | None = None, rrule: str | None = None):
    """Complete each occurrence on its due day and collect the due times (local) of the series."""
    conn, settings, customer_id = env
    with store.transaction(conn):
        row = followups.add_followup(
            conn,
            settings,
            customer_id=customer_id,
            due=due,
            all_day=all_day,
            at=datetime(2020, 1, 1, tzinfo=timezone.utc),
            every=every,
            rrule=rrule,
        )
    seen = []
    for _ in range(steps):
        due_at = from_db(row["due_at"])
        seen.append(due_at.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M"))
        with store.transaction(conn):
            result = followups.complete(conn, settings, row, at=due_at)
        assert result.followup["on_time"] == 1
        assert not result.skipped_occurrences
        row = result.next_followup
    return seen


def test_monthly_from_the_31st_clamps_to_month_ends(env):
    assert series(env, due=local("2027-01-31"), all_day=True, every="monthly", steps=5) == [
        "2027-01-31 00:00",
        "2027-02-28 00:00",
        "2027-03-31 00:00",
        "2027-04-30 00:00",
        "2027-05-31 00:00",
    ]


def test_monthly_in_a_leap_year_lands_on_february_29(env):
    assert series(env, due=local("2028-01-30"), all_day=True, every="monthly", steps=3) == [
        "2028-01-30 00:00",
        "2028-02-29 00:00",
        "2028-03-30 00:00",
    ]


def test_yearly_from_february_29_falls_on_february_28_in_common_years(env):
    assert series(env, due=local("2028-02-29"), all_day=True, every="1y", steps=5) == [
        "2028-02-29 00:00",
        "2029-02-28 00:00",
        "2030-02-28 00:00",
        "2031-02-28 00:00",
        "2032-02-29 00:00",
    ]


def test_a_weekly_0900_reminder_stays_at_0900_across_both_dst_changes(env):
    due = local("2026-03-25 09:00")
    times = series(env, due=due, all_day=False, every="weekly", steps=2)
    assert times == ["2026-03-25 09:00", "2026-04-01 09:00"]
    conn = env[0]
    utc = [r[0] for r in conn.execute("SELECT due_at FROM followups ORDER BY id LIMIT 2")]
    assert utc == ["2026-03-25T08:00:00+00:00", "2026-04-01T07:00:00+00:00"]  # CET, then CEST
    assert series(env, due=local("2026-10-21 09:00"), all_day=False, every="weekly", steps=3) == [
        "2026-10-21 09:00",
        "2026-10-28 09:00",
        "2026-11-04 09:00",
    ]


def test_all_day_occurrences_start_at_local_midnight_on_dst_days(env):
    series(env, due=local("2026-03-28"), all_day=True, every="daily", steps=3)
    conn = env[0]
    assert [r[0] for r in conn.execute("SELECT due_at FROM followups ORDER BY id")] == [
        "2026-03-27T23:00:00+00:00",
        "2026-03-28T23:00:00+00:00",
        "2026-03-29T22:00:00+00:00",
        "2026-03-30T22:00:00+00:00",
    ]


def test_rrule_every_six_months_on_the_first(env):
    assert series(
        env, due=local("2026-04-01"), all_day=True, rrule="FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1", steps=3
    ) == ["2026-04-01 00:00", "2026-10-01 00:00", "2027-04-01 00:00"]


def test_on_time_means_before_the_end_of_the_local_due_day():
    due_at = "2026-03-13T23:00:00+00:00"  # all day on 2026-03-14 in Berlin
    end = local_day_bounds(datetime(2026, 3, 14).date(), BERLIN)[1]
    assert followups.is_on_time(due_at, local("2026-03-14 23:59"), BERLIN)
    assert followups.is_on_time(due_at, local("2026-03-01 10:00"), BERLIN)  # early is on time
    assert not followups.is_on_time(due_at, end, BERLIN)
    # A timed follow-up is on time all of its day, even after the hour.
    assert followups.is_on_time("2026-03-14T08:00:00+00:00", local("2026-03-14 20:00"), BERLIN)


def test_done_on_a_daily_series_anchored_decades_back_counts_what_it_skipped_and_stops_counting(env):
    conn, settings, customer_id = env
    now = datetime(2026, 3, 14, 10, tzinfo=timezone.utc)
    with store.transaction(conn):
        row = followups.add_followup(
            conn, settings, customer_id=customer_id, due=local("1990-03-01"), all_day=True, at=now, every="1d"
        )
        result = followups.complete(conn, settings, row, at=now)
    assert result.skipped_count == followups.SKIPPED_COUNTED and result.skipped_more
    assert [o.astimezone(BERLIN).date().isoformat() for o in result.skipped_occurrences] == [
        "1990-03-02",
        "1990-03-03",
        "1990-03-04",
        "1990-03-05",
        "1990-03-06",
    ]
    assert result.next_followup is not None
    assert followups.due_day(result.next_followup, BERLIN).isoformat() == "2026-03-14"  # today is still fine


def test_done_counts_every_skipped_occurrence_below_the_limit(env):
    conn, settings, customer_id = env
    now = datetime(2026, 3, 14, 10, tzinfo=timezone.utc)
    with store.transaction(conn):
        row = followups.add_followup(
            conn, settings, customer_id=customer_id, due=local("2025-03-15"), all_day=True, at=now, every="weekly"
        )
        result = followups.complete(conn, settings, row, at=now)
    assert (result.skipped_count, result.skipped_more) == (51, False)  # Saturdays 2025-03-22 .. 2026-03-07
    assert followups.due_day(result.next_followup, BERLIN).isoformat() == "2026-03-14"


@pytest.mark.parametrize("rrule", ["FREQ=MINUTELY", "FREQ=HOURLY;INTERVAL=12", "FREQ=SECONDLY"])
def test_rules_finer_than_a_day_are_refused_for_follow_ups(env, rrule):
    conn, settings, customer_id = env
    with pytest.raises(InvalidInput, match="--rrule: .* follow-ups repeat at most daily"):
        followups.build_recurrence(every=None, rrule=rrule, first_due=local("2026-03-14"), tz=BERLIN)
