"""Business hours: how much of a stretch of time the shop was open, computed in SQL.

offset(t) is the number of business seconds between a fixed origin and instant t, so a ticket's
business duration is offset(end) - offset(start), with no Python loop per ticket. The offsets live
in a small TEMP table, one row per UTC hour keyed by the stored text's first 13 characters
(`2026-03-14T09`): the business seconds before that hour (`cum`) plus the hour's open stretches
(`a` = second of the hour it starts, `l` = length; two at most, when the shop closes and reopens
within one hour).
"""

from __future__ import annotations

import sqlite3
import time as _time
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Iterator

from carecli.config import WEEKDAY_KEYS, Settings
from carecli.errors import ConfigError

HOUR_S = 3600
TABLE = "business_offsets"
_PIECES = 2
# unixepoch() arrived in SQLite 3.38; strftime('%s') works everywhere and is a little slower.
EPOCH_SQL = "unixepoch({})" if sqlite3.sqlite_version_info >= (3, 38) else "CAST(strftime('%s', {}) AS INTEGER)"


@dataclass(frozen=True)
class BusinessHours:
    tz: tzinfo
    weekdays: frozenset[int]  # 0 = Monday
    start: time
    end: time
    holidays: frozenset[date]

    @classmethod
    def from_settings(cls, settings: Settings) -> "BusinessHours":
        from carecli.timeparse import get_zone

        start, end = (time.fromisoformat(settings[f"business_hours.{k}"]) for k in ("start", "end"))
        if end <= start:
            raise ConfigError(
                f"business_hours.end ({end:%H:%M}) must be after business_hours.start ({start:%H:%M})",
                "overnight opening hours are not supported; fix [business_hours] in the config file",
            )
        zone_name = settings["business_hours.timezone"]
        return cls(
            tz=get_zone(zone_name) if zone_name else settings.tz,
            weekdays=frozenset(WEEKDAY_KEYS.index(d) for d in settings["business_hours.days"]),
            start=start,
            end=end,
            holidays=frozenset(date.fromisoformat(d) for d in settings["business_hours.holidays"]),
        )

    def intervals(self, first: date, last: date) -> Iterator[tuple[int, int]]:
        """Open stretches of the local days first..last as (start, end) epoch seconds, in order."""
        day = first
        while day <= last:
            if day.weekday() in self.weekdays and day not in self.holidays:
                yield _epoch(datetime.combine(day, self.start, self.tz)), _epoch(datetime.combine(day, self.end, self.tz))
            day += timedelta(days=1)

    def _around(self, start: datetime, end: datetime) -> Iterator[tuple[int, int]]:
        return self.intervals(start.astimezone(self.tz).date() - timedelta(days=1),
                              end.astimezone(self.tz).date() + timedelta(days=1))

    def seconds_between(self, start: datetime, end: datetime) -> int:
        """Business seconds in [start, end); 0 when end is not after start."""
        lo, hi = _epoch(start), _epoch(end)
        if hi <= lo:
            return 0
        return sum(max(0, min(hi, b) - max(lo, a)) for a, b in self._around(start, end))

    def deadline(self, start: datetime, seconds: int, *, horizon_days: int = 3660) -> datetime:
        """The instant at which `seconds` of business time have passed since `start`."""
        remaining, lo = seconds, _epoch(start)
        if remaining <= 0:
            return start
        for a, b in self._around(start, start + timedelta(days=horizon_days)):
            usable = max(0, b - max(a, lo))
            if usable >= remaining:
                return datetime.fromtimestamp(max(a, lo) + remaining, timezone.utc)
            remaining -= usable
        raise ConfigError("no business hours configured in the next ten years",
                          "check business_hours.days and business_hours.holidays")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def prepare_offsets(conn: sqlite3.Connection, hours: BusinessHours, first: datetime, last: datetime) -> None:
    """(Re)build the TEMP offsets table covering the UTC hours from `first` to `last` (a day of margin)."""
    first_hour, last_hour = _epoch(first) // HOUR_S - 24, _epoch(last) // HOUR_S + 24
    local_first = datetime.fromtimestamp(first_hour * HOUR_S, timezone.utc).astimezone(hours.tz).date() - timedelta(days=1)
    local_last = datetime.fromtimestamp(last_hour * HOUR_S, timezone.utc).astimezone(hours.tz).date() + timedelta(days=1)
    stretches = list(hours.intervals(local_first, local_last))
    rows, cum, index = [], 0, 0
    for hour in range(first_hour, last_hour + 1):
        lo, hi = hour * HOUR_S, (hour + 1) * HOUR_S
        while index < len(stretches) and stretches[index][1] <= lo:
            index += 1
        pieces = []
        probe = index
        while probe < len(stretches) and stretches[probe][0] < hi:
            a, b = max(stretches[probe][0], lo), min(stretches[probe][1], hi)
            if b > a:
                pieces.append((a - lo, b - a))
            probe += 1
        if len(pieces) > _PIECES:
            raise ConfigError("business hours open and close more than once within an hour", "check [business_hours]")
        pieces += [(0, 0)] * (_PIECES - len(pieces))
        rows.append((_hour_key(lo), cum, *(value for piece in pieces for value in piece)))
        cum += sum(length for _, length in pieces)
    conn.execute(f"DROP TABLE IF EXISTS temp.{TABLE}")
    conn.execute(f"CREATE TEMP TABLE {TABLE} (hour TEXT PRIMARY KEY, cum INTEGER NOT NULL, "
                 "a1 INTEGER, l1 INTEGER, a2 INTEGER, l2 INTEGER) WITHOUT ROWID")
    conn.executemany(f"INSERT INTO temp.{TABLE} VALUES (?, ?, ?, ?, ?, ?)", rows)


def _hour_key(epoch: int) -> str:
    return _time.strftime("%Y-%m-%dT%H", _time.gmtime(epoch))


# Stored times are `YYYY-MM-DDTHH:MM:SS+00:00`: the first 13 characters name the UTC hour and
# minutes and seconds sit at fixed places, so no date parsing happens per row.
def _within_hour(instant: str) -> str:
    return f"(substr({instant}, 15, 2) * 60 + substr({instant}, 18, 2))"


def _offset_parts(instant: str, alias: str) -> str:
    second = _within_hour(instant)
    parts = " + ".join(f"MIN(MAX({second} - {alias}.a{i}, 0), {alias}.l{i})" for i in range(1, _PIECES + 1))
    return f"{alias}.cum + {parts}"


def offset_sql(instant: str) -> str:
    """SQL for the business offset of `instant` (a column or parameter holding stored UTC text)."""
    return f"(SELECT {_offset_parts(instant, 'b')} FROM temp.{TABLE} b WHERE b.hour = substr({instant}, 1, 13))"


def joined_offset(instant: str, alias: str) -> tuple[str, str]:
    """(JOIN clause, offset expression) for `instant`: a join reuses one cursor for every row,
    which measured several times faster than a correlated subquery per row."""
    return (f"LEFT JOIN temp.{TABLE} {alias} ON {alias}.hour = substr({instant}, 1, 13)",
            f"({_offset_parts(instant, alias)})")


def duration_sql(start: str, end: str) -> str:
    """SQL for the business seconds between two stored instants (NULL when either is NULL)."""
    return f"({offset_sql(end)} - {offset_sql(start)})"


def wall_duration_sql(start: str, end: str) -> str:
    """SQL for the elapsed seconds between two stored instants."""
    return f"({EPOCH_SQL.format(end)} - {EPOCH_SQL.format(start)})"
