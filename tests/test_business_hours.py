"""Business time: nights, weekends, holidays and DST, in Python and in the SQL offsets table."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from carecli.core import config
from carecli.core.errors import ConfigError
from carecli.measure import clocks as bh
from carecli.text.clock import to_db

BERLIN = ZoneInfo("Europe/Berlin")


def hours(days=(0, 1, 2, 3, 4), start="09:00", end="17:00", holidays=()) -> bh.BusinessHours:
    return bh.BusinessHours(
        BERLIN,
        frozenset(days),
        time.fromisoformat(start),
        time.fromisoformat(end),
        frozenset(date.fromisoformat(d) for d in holidays),
    )


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def sql_seconds(shop_hours: bh.BusinessHours, start: datetime, end: datetime) -> int:
    conn = sqlite3.connect(":memory:")
    bh.prepare_offsets(conn, shop_hours, min(start, end), max(start, end))
    return conn.execute(f"SELECT {bh.duration_sql(':s', ':e')}", {"s": to_db(start), "e": to_db(end)}).fetchone()[0]


CASES = [
    # (start, end, business seconds, why)
    ("2026-03-09 10:00", "2026-03-09 12:30", 9000, "inside one day"),
    ("2026-03-09 16:00", "2026-03-10 10:00", 7200, "across a night"),
    ("2026-03-06 16:00", "2026-03-09 10:00", 7200, "across a weekend"),
    ("2026-03-09 07:00", "2026-03-09 08:30", 0, "before opening counts 0"),
    ("2026-03-09 07:00", "2026-03-09 09:30", 1800, "from before opening"),
    ("2026-03-07 10:00", "2026-03-08 15:00", 0, "all weekend"),
    ("2026-03-27 16:00", "2026-03-30 10:00", 7200, "across the spring DST weekend"),
    ("2026-10-23 16:00", "2026-10-26 10:00", 7200, "across the autumn DST weekend"),
]


@pytest.mark.parametrize("start, end, expected, why", CASES, ids=[c[3] for c in CASES])
def test_business_seconds_in_python_and_sql(start, end, expected, why):
    shop_hours = hours()
    assert shop_hours.seconds_between(local(start), local(end)) == expected
    assert sql_seconds(shop_hours, local(start), local(end)) == expected


def test_a_holiday_counts_nothing():
    shop_hours = hours(holidays=["2026-12-24", "2026-12-25"])
    start, end = local("2026-12-23 16:00"), local("2026-12-28 10:00")
    assert shop_hours.seconds_between(start, end) == 7200
    assert sql_seconds(shop_hours, start, end) == 7200


def test_dst_days_have_the_real_number_of_open_seconds():
    # Open 01:00-04:00 every day: the spring-forward night skips 02:00-03:00, autumn repeats it.
    shop_hours = hours(days=range(7), start="01:00", end="04:00")
    spring = (local("2026-03-29 00:00"), local("2026-03-29 12:00"))
    autumn = (local("2026-10-25 00:00"), local("2026-10-25 12:00"))
    assert shop_hours.seconds_between(*spring) == 2 * 3600
    assert shop_hours.seconds_between(*autumn) == 4 * 3600
    assert sql_seconds(shop_hours, *spring) == 2 * 3600
    assert sql_seconds(shop_hours, *autumn) == 4 * 3600


def test_hours_in_a_zone_whose_day_crosses_utc_midnight():
    la = bh.BusinessHours(ZoneInfo("America/Los_Angeles"), frozenset(range(5)), time(9), time(17), frozenset())
    start = datetime(2026, 3, 9, 16, tzinfo=la.tz)
    end = datetime(2026, 3, 10, 10, tzinfo=la.tz)
    assert la.seconds_between(start, end) == 7200 == sql_seconds(la, start, end)


@hsettings(max_examples=60, deadline=None)
@given(
    st.integers(0, 60 * 24 * 400),
    st.integers(0, 60 * 24 * 40),
    st.sampled_from(["Europe/Berlin", "Asia/Kolkata", "America/New_York"]),
)
def test_sql_offsets_agree_with_python_for_any_stretch(start_minute, length_minutes, zone):
    shop_hours = bh.BusinessHours(
        ZoneInfo(zone), frozenset({0, 1, 2, 3, 5}), time(8, 30), time(18, 15), frozenset({date(2026, 5, 1)})
    )
    start = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=start_minute)
    end = start + timedelta(minutes=length_minutes)
    assert sql_seconds(shop_hours, start, end) == shop_hours.seconds_between(start, end)


def test_deadline_is_the_inverse_of_business_seconds():
    shop_hours = hours()
    start = local("2026-03-06 16:00")  # Friday
    assert shop_hours.deadline(start, 7200) == local("2026-03-09 10:00")
    assert shop_hours.seconds_between(start, shop_hours.deadline(start, 12345)) == 12345


def shop_mon_sat() -> bh.BusinessHours:
    return hours(days=(0, 1, 2, 3, 4, 5), start="09:00", end="15:00")


OPENING_DAY_CASES = [
    ("2026-03-14 14:00", 1, "2026-03-16 14:00", "Saturday afternoon: Monday, same time"),
    ("2026-03-14 20:00", 1, "2026-03-17 09:00", "Saturday evening: starts Monday 09:00, due Tuesday 09:00"),
    ("2026-03-14 15:00", 1, "2026-03-17 09:00", "at closing time: the shop is closed"),
    ("2026-03-16 08:00", 2, "2026-03-18 09:00", "before opening: from that morning's opening"),
    ("2026-03-13 10:30", 3, "2026-03-17 10:30", "three opening days skip Sunday"),
    ("2026-03-16 12:00", 0, "2026-03-16 12:00", "no days: the start itself"),
]


@pytest.mark.parametrize("start, days, expected, why", OPENING_DAY_CASES, ids=[c[3] for c in OPENING_DAY_CASES])
def test_opening_days_fall_at_the_same_time_of_day(start, days, expected, why):
    assert shop_mon_sat().opening_days_later(local(start), days) == local(expected)


def test_opening_days_skip_holidays():
    shop_hours = hours(days=(0, 1, 2, 3, 4, 5), start="09:00", end="15:00", holidays=("2026-03-16",))
    assert shop_hours.opening_days_later(local("2026-03-14 14:00"), 1) == local("2026-03-17 14:00")


def test_n_opening_days_are_n_day_lengths_of_business_time():
    shop_hours = shop_mon_sat()
    assert shop_hours.day_seconds == 6 * 3600
    for start in ("2026-03-14 14:00", "2026-03-14 20:00", "2026-03-11 09:00", "2026-03-12 14:59"):
        due = shop_hours.opening_days_later(local(start), 3)
        assert shop_hours.seconds_between(local(start), due) == 3 * shop_hours.day_seconds


def test_a_target_deadline_counts_whole_opening_days_then_business_time():
    shop_hours = shop_mon_sat()
    saturday = local("2026-03-14 14:00")
    assert shop_hours.target_deadline(saturday, 1, 0) == local("2026-03-16 14:00")
    assert shop_hours.target_deadline(saturday, 1, 4 * 3600) == local("2026-03-17 12:00")  # 1d 4h
    assert shop_hours.target_deadline(saturday, 0, 36 * 3600) == shop_hours.deadline(saturday, 36 * 3600)
    assert shop_hours.target_deadline(saturday, 1.5, 0) == local("2026-03-17 11:00")  # half a 6h day more


def test_config_validates_days_holidays_and_order(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[business_hours]\ndays = ["mon", "funday"]\n')
    with pytest.raises(ConfigError, match="'business_hours.days' has 'funday'"):
        config.load(path, env={})
    path.write_text('[business_hours]\nholidays = ["25.12.2026"]\n')
    with pytest.raises(ConfigError, match="holidays"):
        config.load(path, env={})
    path.write_text('[business_hours]\nstart = "18:00"\nend = "09:00"\nholidays = []\n')
    with pytest.raises(ConfigError, match="must be after"):
        bh.BusinessHours.from_settings(config.load(path, env={}))


BH_AND_SLA = '[business_hours]\nenabled = true\n[sla.high]\nfirst_response = "1h"\nresolution = "1d"\n'


def _with_implausible_tickets(run, tmp_path, db_path):
    """Times another tool stored, outside the window users may type: year 1 and year 9999."""
    path = tmp_path / "bh.toml"
    path.write_text(BH_AND_SLA)
    run("customer", "add", "Ada", "--at", "2026-01-01", ok=True)
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO tickets (customer_id, subject, channel, category, priority, status, created_at, updated_at,"
            " first_closed_at, closed_at, first_resolution_s, resolution_s) VALUES (1, 'old', 'email', 'other',"
            " 'high', 'closed', '0001-03-14T10:00:00+00:00', '0001-03-14T10:00:00+00:00',"
            " '0001-03-14T12:00:00+00:00', '0001-03-14T12:00:00+00:00', 7200, 7200)"
        )
        conn.execute(
            "INSERT INTO tickets (customer_id, subject, channel, category, priority, status, created_at, updated_at)"
            " VALUES (1, 'later', 'email', 'other', 'high', 'open', '9999-12-31T10:00:00+00:00',"
            " '9999-12-31T10:00:00+00:00')"
        )
    return path


@pytest.mark.parametrize(
    "args",
    [
        ("today",),
        ("report", "daily"),
        ("kpi",),
        ("kpi", "--business-hours"),
        ("export", "tickets"),
        ("customer", "health"),
        ("ticket", "list", "--breaching"),
    ],
)
def test_every_read_survives_times_another_tool_stored(run, tmp_path, db_path, args):
    path = _with_implausible_tickets(run, tmp_path, db_path)
    result = run("--config", str(path), *args)
    assert result.exit_code == 0, result.stderr
    assert "error" not in result.stderr


def test_the_business_time_table_spans_only_plausible_times(run, tmp_path, db_path):
    """Year 1 to 9999 would be 87 million hours (an export ran over 60 s at 4 GB)."""
    path = _with_implausible_tickets(run, tmp_path, db_path)
    settings = config.load(str(path))
    conn = sqlite3.connect(db_path)
    now = datetime(2026, 3, 14, 10, tzinfo=timezone.utc)
    bh.prepare(conn, settings, now=now)  # the open tickets' running clocks (today, --breaching)
    hours = conn.execute(f"SELECT count(*) FROM temp.{bh.TABLE}").fetchone()[0]
    assert hours <= 24 * 4
    from carecli.measure.periods import Period

    bh.prepare(conn, settings, now=now, period=Period(datetime(2026, 3, 1, tzinfo=timezone.utc), now))
    assert conn.execute(f"SELECT count(*) FROM temp.{bh.TABLE}").fetchone()[0] <= 24 * 20
