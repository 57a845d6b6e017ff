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

from carecli.core.config import WEEKDAY_KEYS, Settings
from carecli.core.errors import ConfigError
from carecli.measure.aggregates import register
from carecli.measure.periods import Period
from carecli.text.clock import to_db

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
    def from_settings(cls, settings: Settings) -> BusinessHours:
        from carecli.text.clock import get_zone

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
            if self.is_open_day(day):
                yield (
                    _epoch(datetime.combine(day, self.start, self.tz)),
                    _epoch(datetime.combine(day, self.end, self.tz)),
                )
            day += timedelta(days=1)

    def _around(self, start: datetime, end: datetime) -> Iterator[tuple[int, int]]:
        return self.intervals(
            start.astimezone(self.tz).date() - timedelta(days=1), end.astimezone(self.tz).date() + timedelta(days=1)
        )

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
        raise _nothing_open()

    @property
    def day_seconds(self) -> int:
        """Business seconds in one opening day (every open weekday has the same hours)."""
        return int((datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)).total_seconds())

    def is_open_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def next_opening(self, moment: datetime, *, horizon_days: int = 3660) -> datetime:
        """`moment` when the shop is open then, else the next time it opens."""
        at = _epoch(moment)
        for a, b in self._around(moment, moment + timedelta(days=horizon_days)):
            if at < b:
                return moment if at >= a else datetime.fromtimestamp(a, timezone.utc)
        raise _nothing_open()

    def opening_days_later(self, start: datetime, days: int, *, horizon_days: int = 3660) -> datetime:
        """The same local time of day as `start` (or as the next opening, when the shop is closed at
        `start`) on the `days`-th following opening day, at most that day's closing time."""
        begin = self.next_opening(start).astimezone(self.tz)
        day, last, found = begin.date(), begin.date() + timedelta(days=horizon_days), 0
        while found < days:
            day += timedelta(days=1)
            if day > last:
                raise _nothing_open()
            found += self.is_open_day(day)
        return min(datetime.combine(day, begin.time(), self.tz), datetime.combine(day, self.end, self.tz))

    def target_deadline(self, start: datetime, days: float, seconds: int) -> datetime:
        """When a target of `days` opening days and `seconds` business seconds more, counted from
        `start`, falls due: the whole days by `opening_days_later`, then a part day (as a share of
        the opening day) and the seconds in business time."""
        whole = int(days)
        extra = round((days - whole) * self.day_seconds) + seconds
        due = self.opening_days_later(start, whole) if whole else start
        return self.deadline(due, extra) if extra else due


def _nothing_open() -> ConfigError:
    return ConfigError(
        "no business hours configured in the next ten years",
        "check business_hours.days and business_hours.holidays",
    )


def _window() -> dict[str, str]:
    """The window users may type times in, as stored text: times outside it (stored by another
    tool) span no business-time table."""
    from carecli.text.clock import to_db
    from carecli.text.when import EARLIEST, LATEST

    return {"earliest": to_db(EARLIEST), "latest": to_db(LATEST)}


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def prepare_offsets(conn: sqlite3.Connection, hours: BusinessHours, first: datetime, last: datetime) -> None:
    """(Re)build the TEMP offsets table covering the UTC hours from `first` to `last` (a day of margin).

    Only inside the window users may type (1970 to 2100): a time another tool stored in year 1 or
    9999 would otherwise ask for millions of hours (a 60 s, 4 GB export). Business durations of
    such times are NULL, so those tickets are left out of business-time figures."""
    from carecli.text.when import EARLIEST, LATEST

    first, last = min(max(first, EARLIEST), LATEST), max(min(last, LATEST), EARLIEST)
    first_hour, last_hour = _epoch(first) // HOUR_S - 24, _epoch(last) // HOUR_S + 24
    local_first = datetime.fromtimestamp(first_hour * HOUR_S, timezone.utc).astimezone(hours.tz).date() - timedelta(
        days=1
    )
    local_last = datetime.fromtimestamp(last_hour * HOUR_S, timezone.utc).astimezone(hours.tz).date() + timedelta(
        days=1
    )
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
    conn.execute(
        f"CREATE TEMP TABLE {TABLE} (hour TEXT PRIMARY KEY, cum INTEGER NOT NULL, "
        "a1 INTEGER, l1 INTEGER, a2 INTEGER, l2 INTEGER) WITHOUT ROWID"
    )
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
    return (
        f"LEFT JOIN temp.{TABLE} {alias} ON {alias}.hour = substr({instant}, 1, 13)",
        f"({_offset_parts(instant, alias)})",
    )


def duration_sql(start: str, end: str) -> str:
    """SQL for the business seconds between two stored instants (NULL when either is NULL)."""
    return f"({offset_sql(end)} - {offset_sql(start)})"


def wall_duration_sql(start: str, end: str) -> str:
    """SQL for the elapsed seconds between two stored instants."""
    return f"({EPOCH_SQL.format(end)} - {EPOCH_SQL.format(start)})"


# ---------------------------------------------------------------- stored business-time durations
# Business-time durations stored on tickets (first_response_bs, first_resolution_bs, resolution_bs).
#
# They are a cache of offset(end) - offset(start) from carecli/business_hours.py, so `kpi
# --business-hours` reads stored integers like the wall-clock figures. A trigger (migration m005)
# clears a value whenever an instant it depends on changes, whoever writes the ticket; `refresh`
# fills the cleared and new values in one SQL statement, and clears and refills all of them when
# [business_hours] is no longer what they were computed with (the fingerprint).

# Bump when the arithmetic changes, so stored values are recomputed.
VERSION = 1
COLUMNS = {
    "first_response_bs": "first_response_at",
    "first_resolution_bs": "first_closed_at",
    "resolution_bs": "closed_at",
}
# Where each duration starts: first response from the customer's wait start (their first message
# on a ticket we started), the others from the opening.
STARTS = {
    "first_response_bs": "(CASE WHEN outreach = 1 THEN first_contact_at ELSE created_at END)",
    "first_resolution_bs": "created_at",
    "resolution_bs": "created_at",
}
# The same text as the partial index tickets_business_stale (migration m008), so SQLite uses it.
STALE = """(first_response_at IS NOT NULL AND first_response_bs IS NULL)
               OR (first_closed_at IS NOT NULL AND first_resolution_bs IS NULL)
               OR (closed_at IS NOT NULL AND resolution_bs IS NULL)
               OR (paused_s > 0 AND paused_bs IS NULL)"""


def fingerprint(hours: BusinessHours) -> str:
    zone = getattr(hours.tz, "key", None) or str(hours.tz)
    return (
        f"v{VERSION} {zone} {sorted(hours.weekdays)} {hours.start:%H:%M:%S}-{hours.end:%H:%M:%S} "
        f"{sorted(d.isoformat() for d in hours.holidays)}"
    )


def refresh(conn: sqlite3.Connection, hours: BusinessHours) -> int:
    """Bring the stored business durations up to date; returns how many tickets were (re)computed.

    Reads only (no write lock) when everything is current, the usual case."""
    from carecli.core import store
    from carecli.text.clock import from_db

    current = fingerprint(hours)
    stored = conn.execute("SELECT fingerprint FROM business_time").fetchone()
    changed = stored is None or stored[0] != current
    if not changed and conn.execute(f"SELECT 1 FROM tickets WHERE {STALE} LIMIT 1").fetchone() is None:
        return 0
    with store.transaction(conn):
        if changed:
            conn.execute(
                "UPDATE tickets SET first_response_bs = NULL, first_resolution_bs = NULL, resolution_bs = NULL,"
                " paused_bs = NULL WHERE first_response_bs IS NOT NULL OR first_resolution_bs IS NOT NULL"
                " OR resolution_bs IS NOT NULL OR paused_bs IS NOT NULL"
            )
            conn.execute("INSERT OR REPLACE INTO business_time (id, fingerprint) VALUES (1, ?)", (current,))
        # Only times inside the window users may type span the offsets (see prepare_offsets).
        first, *lasts = conn.execute(
            "SELECT MIN(CASE WHEN created_at >= :earliest THEN created_at END),"
            " MAX(CASE WHEN first_response_at < :latest THEN first_response_at END),"
            " MAX(CASE WHEN first_closed_at < :latest THEN first_closed_at END),"
            f" MAX(CASE WHEN closed_at < :latest THEN closed_at END) FROM tickets WHERE {STALE}",
            _window(),
        ).fetchone()
        paused = _refresh_paused(conn, hours)
        if first is None:
            return paused
        moments = [from_db(text) for text in (first, *lasts) if text]
        prepare_offsets(conn, hours, min(moments), max(moments))
        sets = ", ".join(f"{column} = {duration_sql(STARTS[column], instant)}" for column, instant in COLUMNS.items())
        return conn.execute(f"UPDATE tickets SET {sets} WHERE {STALE}").rowcount + paused


def _refresh_paused(conn: sqlite3.Connection, hours: BusinessHours) -> int:
    """paused_bs of the tickets whose pending spells changed, from their status events: only
    tickets that went pending through carecli's commands have any, one at a time."""
    from carecli.records.tickets import STATUS_EVENTS, paused_before
    from carecli.text.when import LATEST

    stale = [row[0] for row in conn.execute("SELECT id FROM tickets WHERE paused_s > 0 AND paused_bs IS NULL")]
    marks = ", ".join("?" * len(STATUS_EVENTS))
    for ticket_id in stale:
        changes = conn.execute(
            f"SELECT kind, at FROM events WHERE ticket_id = ? AND kind IN ({marks}) AND voided_by IS NULL ORDER BY at, id",
            (ticket_id, *STATUS_EVENTS),
        ).fetchall()
        seconds = paused_before(changes, LATEST, hours.seconds_between)[0]
        conn.execute("UPDATE tickets SET paused_bs = ? WHERE id = ?", (seconds, ticket_id))
    return len(stale)


# ---------------------------------------------------------------- before a computation


def prepare(
    conn: sqlite3.Connection,
    settings: Settings,
    *,
    now: datetime,
    period: Period | None = None,
    business_hours: bool = True,
) -> None:
    """Register the aggregate and, when business time is involved, build the offsets table over
    every instant the period's figures can touch."""
    from carecli.text.clock import from_db

    register(conn)
    if not (business_hours or settings["business_hours.enabled"]):
        return
    hours = BusinessHours.from_settings(settings)
    if period is not None:
        refresh(conn, hours)  # stored durations; offsets are left for the clocks still running
        if not settings["business_hours.enabled"]:
            return  # no SLA clock counts business time: the stored durations are all we need
    # Running SLA clocks: open tickets (without a period), or tickets created in the period,
    # measured up to now or the period's end.
    first = conn.execute(
        "SELECT MIN(created_at) FROM tickets WHERE status IN ('open', 'pending') AND created_at >= :earliest"
        if period is None
        else "SELECT MIN(created_at) FROM tickets WHERE created_at >= max(:since, :earliest)",
        {**_window(), "since": to_db(period.since) if period else None},
    ).fetchone()[0]
    # A ticket created after now (stored by another tool) runs no clock yet: it does not widen the table.
    moments = [now] + ([min(from_db(first), now)] if first else []) + ([period.since, period.until] if period else [])
    if period is not None and first:
        moments.remove(period.since)  # no offsets needed before the first ticket
    prepare_offsets(conn, hours, min(moments), max(moments))
