"""Periods of time the figures are computed over: since/until, the default window, calendar buckets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Iterator

from carecli.core.errors import InvalidInput
from carecli.text.clock import local_day_bounds, to_db

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Period:
    since: datetime  # aware UTC, inclusive
    until: datetime  # aware UTC, exclusive
    label: str | None = None

    def __post_init__(self) -> None:
        if self.until <= self.since:
            raise InvalidInput(
                f"the period is empty: --until ({to_db(self.until)}) is not after --since ({to_db(self.since)})",
                "give an --until later than --since",
            )


def default_period(now: datetime, tz: tzinfo, days: int = DEFAULT_DAYS) -> Period:
    """The last `days` local days, today included, up to now."""
    today = now.astimezone(tz).date()
    return Period(local_day_bounds(today - timedelta(days=days - 1), tz)[0], now)


def bucket_start(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def next_bucket(day: date, unit: str) -> date:
    if unit == "week":
        return day + timedelta(days=7)
    if unit == "month":
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=1)


def bucket_label(day: date, unit: str) -> str:
    return day.strftime("%Y-%m") if unit == "month" else day.isoformat()


def calendar_period(day: date, unit: str, tz: tzinfo) -> Period:
    """The whole local day, week (Monday first) or month holding `day`."""
    first = bucket_start(day, unit)
    return Period(
        local_day_bounds(first, tz)[0], local_day_bounds(next_bucket(first, unit), tz)[0], bucket_label(first, unit)
    )


# Every bucket is a whole KPI computation: a century of days (36,525) took seconds and 526 MB.
# Ten years of days is allowed; beyond that a coarser unit says the same thing in fewer rows.
MAX_BUCKETS = 3660
UNITS = ("day", "week", "month")


def bucket_count(period: Period, unit: str, tz: tzinfo) -> int:
    """How many calendar buckets `buckets` gives for the period, without making them."""
    first = bucket_start(period.since.astimezone(tz).date(), unit)
    last = bucket_start((period.until - timedelta(microseconds=1)).astimezone(tz).date(), unit)
    if unit == "month":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    return (last - first).days // (7 if unit == "week" else 1) + 1


def buckets(period: Period, unit: str, tz: tzinfo) -> Iterator[Period]:
    """Calendar buckets covering the period, the first and last cut to its bounds.

    More than MAX_BUCKETS is an error naming a coarser unit (checked before any is made)."""
    count = bucket_count(period, unit, tz)
    if count > MAX_BUCKETS:
        coarser = [u for u in UNITS[UNITS.index(unit) + 1 :] if bucket_count(period, u, tz) <= MAX_BUCKETS]
        raise InvalidInput(
            f"--by {unit} from {period.since.astimezone(tz).date()} to {period.until.astimezone(tz).date()} "
            f"makes {count} groups, more than {MAX_BUCKETS}",
            (f"use --by {coarser[0]}, or " if coarser else "use ") + "a shorter period (--since/--until)",
        )
    return _buckets(period, unit, tz)


def _buckets(period: Period, unit: str, tz: tzinfo) -> Iterator[Period]:
    day = bucket_start(period.since.astimezone(tz).date(), unit)
    while True:
        start = local_day_bounds(day, tz)[0]
        if start >= period.until:
            return
        following = next_bucket(day, unit)
        end = local_day_bounds(following, tz)[0]
        yield Period(max(start, period.since), min(end, period.until), bucket_label(day, unit))
        day = following
