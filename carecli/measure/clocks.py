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

MAX_ID = 2**63 - 1

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


def prepare_offsets(
    conn: sqlite3.Connection, hours: BusinessHours, first: datetime, last: datetime, *, table: str = TABLE
) -> None:
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
    conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
    conn.execute(
        f"CREATE TEMP TABLE {table} (hour TEXT PRIMARY KEY, cum INTEGER NOT NULL, "
        "a1 INTEGER, l1 INTEGER, a2 INTEGER, l2 INTEGER) WITHOUT ROWID"
    )
    conn.executemany(f"INSERT INTO temp.{table} VALUES (?, ?, ?, ?, ?, ?)", rows)


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


def offset_sql(instant: str, *, table: str = TABLE) -> str:
    """SQL for the business offset of `instant` (a column or parameter holding stored UTC text)."""
    return f"(SELECT {_offset_parts(instant, 'b')} FROM temp.{table} b WHERE b.hour = substr({instant}, 1, 13))"


def joined_offset(instant: str, alias: str) -> tuple[str, str]:
    """(JOIN clause, offset expression) for `instant`: a join reuses one cursor for every row,
    which measured several times faster than a correlated subquery per row."""
    return (
        f"LEFT JOIN temp.{TABLE} {alias} ON {alias}.hour = substr({instant}, 1, 13)",
        f"({_offset_parts(instant, alias)})",
    )


def duration_sql(start: str, end: str, *, table: str = TABLE) -> str:
    """SQL for the business seconds between two stored instants (NULL when either is NULL)."""
    return f"({offset_sql(end, table=table)} - {offset_sql(start, table=table)})"


def wall_duration_sql(start: str, end: str) -> str:
    """SQL for the elapsed seconds between two stored instants."""
    return f"({EPOCH_SQL.format(end)} - {EPOCH_SQL.format(start)})"


# ---------------------------------------------------------------- stored business-time durations
# Business-time durations stored on tickets (first_response_bs, first_resolution_bs, resolution_bs,
# paused_bs): a cache of offset(end) - offset(start), so `kpi --business-hours` reads stored
# integers like the wall-clock figures.
#
# Only writes change it, and no read ever waits for it or writes it (issue 12: a report that
# refreshed it held the write lock for 23 s and the worker's replies failed):
# - A trigger (migrations m005, m008) clears a value whenever an instant it depends on changes,
#   whoever writes the ticket; `keep_current` runs before every carecli write commits (the CLI
#   puts it in the connection's `before_commit`) and fills what that write cleared or added.
# - After a [business_hours] change (the fingerprint) every stored value is of the old hours.
#   `keep_current` then works through the tickets in id order, RECOMPUTE_BATCH per write
#   (business_time.through is how far it got, migration m013), so no write holds the lock long;
#   `carecli db refresh` does all of it at once, in such batches.
# - Reads meanwhile compute the values the cache lacks on the fly (`Stale`), in memory.

# Bump when the arithmetic changes, so stored values are recomputed.
VERSION = 1
COLUMNS = {
    "first_response_bs": "first_response_at",
    "first_resolution_bs": "first_closed_at",
    "resolution_bs": "closed_at",
}
# Where each duration starts, on ticket `{t}`: first response from the customer's wait start (their
# first message on a ticket we started), the others from the opening.
STARTS = {
    "first_response_bs": "(CASE WHEN {t}.outreach = 1 THEN {t}.first_contact_at ELSE {t}.created_at END)",
    "first_resolution_bs": "{t}.created_at",
    "resolution_bs": "{t}.created_at",
}
# The same text as the partial index tickets_business_stale (migration m008), so SQLite uses it.
STALE = """(first_response_at IS NOT NULL AND first_response_bs IS NULL)
               OR (first_closed_at IS NOT NULL AND first_resolution_bs IS NULL)
               OR (closed_at IS NOT NULL AND resolution_bs IS NULL)
               OR (paused_s > 0 AND paused_bs IS NULL)"""
# Tickets per write while a [business_hours] change is worked through (bench/RESULTS.md: about
# 0.3 s of write lock per batch on the benchmark machine).
RECOMPUTE_BATCH = 20_000
_WRITER_TABLE = "business_offsets_writer"  # not the readers' table: a command may read after it writes


# The first and last instants the business durations of some tickets reach, inside the window users
# may type (see prepare_offsets: a time another tool stored in year 1 spans nothing).
_SPAN_SQL = "SELECT " + ", ".join(
    f"{aggregate}(CASE WHEN {column} >= :earliest AND {column} < :latest THEN {column} END)"
    for aggregate, column in (
        ("MIN", "created_at"),
        ("MAX", "first_response_at"),
        ("MAX", "first_closed_at"),
        ("MAX", "closed_at"),
    )
)


def fingerprint(hours: BusinessHours) -> str:
    zone = getattr(hours.tz, "key", None) or str(hours.tz)
    return (
        f"v{VERSION} {zone} {sorted(hours.weekdays)} {hours.start:%H:%M:%S}-{hours.end:%H:%M:%S} "
        f"{sorted(d.isoformat() for d in hours.holidays)}"
    )


def _cache_state(conn: sqlite3.Connection) -> tuple[str | None, int | None]:
    row = conn.execute("SELECT fingerprint, through FROM business_time").fetchone()
    return (row[0], row[1]) if row else (None, None)


def keep_current(conn: sqlite3.Connection, hours: BusinessHours, *, everything: bool = False) -> int:
    """Inside a write transaction: fill the stored business durations the write cleared or added,
    and take the next RECOMPUTE_BATCH tickets of a [business_hours] change (all of them with
    `everything`); returns how many tickets were (re)computed. One index probe when all is
    current, the usual case."""
    current = fingerprint(hours)
    stored, through = _cache_state(conn)
    if stored != current:
        through = 0 if conn.execute("SELECT 1 FROM tickets LIMIT 1").fetchone() else None
        conn.execute(
            "INSERT OR REPLACE INTO business_time (id, fingerprint, through) VALUES (1, ?, ?)", (current, through)
        )
    if through is not None:
        last = (
            None
            if everything
            else conn.execute(
                "SELECT id FROM tickets WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?", (through, RECOMPUTE_BATCH - 1)
            ).fetchone()
        )
        upto = last[0] if last else None
        # Cleared, they are stale like any other: the one fill below computes them.
        conn.execute(
            "UPDATE tickets SET first_response_bs = NULL, first_resolution_bs = NULL, resolution_bs = NULL,"
            " paused_bs = NULL WHERE id > ? AND id <= ?",
            (through, upto if upto is not None else MAX_ID),
        )
        conn.execute("UPDATE business_time SET through = ?", (upto,))
    if conn.execute(f"SELECT 1 FROM tickets WHERE {STALE} LIMIT 1").fetchone() is None:
        return 0
    try:
        return _fill(conn, hours)
    finally:
        conn.execute(f"DROP TABLE IF EXISTS temp.{_WRITER_TABLE}")


def recompute_all(conn: sqlite3.Connection, hours: BusinessHours, *, progress=None) -> int:
    """`carecli db refresh`: bring the whole cache up to date, one short transaction per batch so
    other writes go on between them; returns how many tickets were computed."""
    from carecli.core import store

    done = 0
    while True:
        with store.transaction(conn):
            count = keep_current(conn, hours)
            remaining = _cache_state(conn)[1] is not None
        done += count
        if progress is not None:
            progress(count)
        if not remaining:
            return done


def _fill(conn: sqlite3.Connection, hours: BusinessHours) -> int:
    from carecli.text.clock import from_db

    # Only times inside the window users may type span the offsets (see prepare_offsets).
    first, *lasts = conn.execute(
        f"{_SPAN_SQL} FROM tickets WHERE {STALE}",
        _window(),
    ).fetchone()
    paused = 0
    for ticket_id, seconds in _paused_seconds(conn, hours, "tickets", "paused_bs IS NULL"):
        conn.execute("UPDATE tickets SET paused_bs = ? WHERE id = ?", (seconds, ticket_id))
        paused += 1
    # Pending time without status events (stored by another tool): none that carecli can count.
    paused += conn.execute("UPDATE tickets SET paused_bs = 0 WHERE paused_s > 0 AND paused_bs IS NULL").rowcount
    if first is None:
        return paused
    moments = [from_db(text) for text in (first, *lasts) if text]
    prepare_offsets(conn, hours, min(moments), max(moments), table=_WRITER_TABLE)
    sets = ", ".join(
        f"{column} = {duration_sql(STARTS[column].format(t='tickets'), instant, table=_WRITER_TABLE)}"
        for column, instant in COLUMNS.items()
    )
    return conn.execute(f"UPDATE tickets SET {sets} WHERE {STALE}").rowcount + paused


def _paused_seconds(
    conn: sqlite3.Connection, hours: BusinessHours, source: str, where: str
) -> Iterator[tuple[int, int]]:
    """(id, business seconds spent pending) of the tickets of `source` with pending spells and
    `where`, from their status events: only tickets that went pending through carecli's commands
    have any. One query for all of them, ticket by ticket through events_ticket."""
    from carecli.records.tickets import STATUS_EVENTS, paused_before
    from carecli.text.when import LATEST

    marks = ", ".join("?" * len(STATUS_EVENTS))
    rows = conn.execute(
        f"SELECT e.ticket_id, e.kind, e.at FROM {source} t CROSS JOIN events e ON e.ticket_id = t.id "
        f"WHERE t.paused_s > 0 AND ({where}) AND e.kind IN ({marks}) AND e.voided_by IS NULL ORDER BY e.ticket_id, e.at, e.id",
        STATUS_EVENTS,
    ).fetchall()
    changes: list[tuple[str, str]] = []
    for index, (ticket_id, kind, at) in enumerate(rows):
        changes.append((kind, at))
        if index + 1 == len(rows) or rows[index + 1][0] != ticket_id:
            yield ticket_id, paused_before(changes, LATEST, hours.seconds_between)[0]
            changes = []


class Stale:
    """For reads, the tickets whose stored business durations are not current, and SQL that
    reads every such duration current: the stored value, or for those tickets one computed on
    the fly from the offsets table (`prepare` spans their instants) and, for time spent pending,
    from a TEMP table made from their status events. Reads nothing more when all is current:
    `stale_tickets` returns None then."""

    IDS, FROM, PAUSED = "business_stale_ids", "business_stale_from", "business_stale_paused"

    def __init__(self, conn: sqlite3.Connection, hours: BusinessHours, *, every: bool, through: int | None) -> None:
        self.every = every
        for table in (self.IDS, self.FROM, self.PAUSED):
            conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
        if not every:
            conn.execute(f"CREATE TEMP TABLE {self.IDS} (id INTEGER PRIMARY KEY)")
            conn.execute(f"INSERT INTO temp.{self.IDS} SELECT id FROM tickets WHERE {STALE}")
            conn.execute(f"CREATE TEMP TABLE {self.FROM} (through INTEGER)")
            conn.execute(f"INSERT INTO temp.{self.FROM} VALUES (?)", (MAX_ID if through is None else through,))
        conn.execute(f"CREATE TEMP TABLE {self.PAUSED} (id INTEGER PRIMARY KEY, paused_s INTEGER, paused_bs INTEGER)")
        conn.executemany(
            f"INSERT INTO temp.{self.PAUSED} (id, paused_bs) VALUES (?, ?)",
            _paused_seconds(conn, hours, "tickets", self.where("t")),
        )
        conn.execute(
            f"UPDATE temp.{self.PAUSED} SET paused_s = (SELECT paused_s FROM tickets t WHERE t.id = {self.PAUSED}.id)"
        )

    def where(self, alias: str) -> str:
        """SQL: ticket `alias` is one of them."""
        if self.every:
            return "1"
        return f"({alias}.id IN temp.{self.IDS} OR {alias}.id > (SELECT through FROM temp.{self.FROM}))"

    def value(self, column: str, alias: str = "t") -> str:
        """SQL for the current business duration `column` (a *_bs column) of ticket `alias`."""
        if column == "paused_bs":
            # Where the row read has the pending time the fresh value was computed for (a ticket
            # rebuilt as of a past moment may have less: then its own value, measure/asof.py).
            fresh = f"(SELECT p.paused_bs FROM temp.{self.PAUSED} p WHERE p.id = {alias}.id AND p.paused_s = {alias}.paused_s)"
            return f"COALESCE({fresh}, {alias}.paused_bs)"
        computed = duration_sql(STARTS[column].format(t=alias), f"{alias}.{COLUMNS[column]}")
        return f"(CASE WHEN {self.where(alias)} THEN {computed} ELSE {alias}.{column} END)"

    def span(self, conn: sqlite3.Connection) -> list[datetime]:
        """The first and last instants their durations reach (inside the window users may type)."""
        from carecli.text.clock import from_db

        row = conn.execute(
            f"{_SPAN_SQL} FROM tickets t WHERE {self.where('t')}",
            _window(),
        ).fetchone()
        return [from_db(text) for text in row if text]


def stale_tickets(conn: sqlite3.Connection, hours: BusinessHours) -> Stale | None:
    """The tickets whose stored business durations a read cannot use (None: all current). Reads only."""
    stored, through = _cache_state(conn)
    if stored != fingerprint(hours):
        if conn.execute("SELECT 1 FROM tickets LIMIT 1").fetchone() is None:
            return None
        return Stale(conn, hours, every=True, through=None)
    if through is None and conn.execute(f"SELECT 1 FROM tickets WHERE {STALE} LIMIT 1").fetchone() is None:
        return None
    return Stale(conn, hours, every=False, through=through)


def stored_value(column: str, alias: str, stale: Stale | None) -> str:
    """SQL for ticket `alias`'s business duration `column`, current whether or not the cache is."""
    return f"{alias}.{column}" if stale is None else stale.value(column, alias)


# ---------------------------------------------------------------- before a computation


def prepare(
    conn: sqlite3.Connection,
    settings: Settings,
    *,
    now: datetime,
    period: Period | None = None,
    business_hours: bool = True,
) -> Stale | None:
    """Register the aggregate and, when business time is involved, build the offsets table over
    every instant the period's figures can touch; returns the tickets whose stored business
    durations are not current (None when all are, or business time is not involved). Reads only."""
    from carecli.text.clock import from_db

    register(conn)
    if not (business_hours or settings["business_hours.enabled"]):
        return None
    hours = BusinessHours.from_settings(settings)
    stale = stale_tickets(conn, hours)
    # Durations computed on the fly span their tickets' instants (a period's figures read them;
    # without a period only the running clocks are read, which need no stored duration).
    moments = stale.span(conn) if stale is not None and period is not None else []
    if period is not None and not settings["business_hours.enabled"] and not moments:
        return stale  # no SLA clock counts business time: the stored durations are all we need
    # Running SLA clocks: open tickets (without a period), or tickets created in the period,
    # measured up to now or the period's end.
    first = conn.execute(
        "SELECT MIN(created_at) FROM tickets WHERE status IN ('open', 'pending') AND created_at >= :earliest"
        if period is None
        else "SELECT MIN(created_at) FROM tickets WHERE created_at >= max(:since, :earliest)",
        {**_window(), "since": to_db(period.since) if period else None},
    ).fetchone()[0]
    # A ticket created after now (stored by another tool) runs no clock yet: it does not widen the table.
    moments += [now] + ([min(from_db(first), now)] if first else []) + ([period.since, period.until] if period else [])
    if period is not None and first:
        moments.remove(period.since)  # no offsets needed before the first ticket
    prepare_offsets(conn, hours, min(moments), max(moments))
    return stale
