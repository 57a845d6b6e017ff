"""The KPI engine: every figure of docs/metrics.md, computed in SQL over a period [since, until).

Each block is one aggregate query (grouped when asked); medians and 90th percentiles come from
one aggregate registered on the connection, so no ticket row is ever loaded into Python.
Counts are never null (nothing happened = 0); a mean, median, percentile or percentage with
nothing to measure is None.

Why one module of about 600 lines: the blocks share one _Context (period, grouping, the choice
between index walks and aggregates, the closed set's corrections) and the index hints of
migrations m005/m006; read apart, a change to one block's query would miss the others' plans.
"""

from __future__ import annotations

import bisect
import math
import sqlite3
from datetime import datetime, timedelta
from typing import Any, overload

from carecli.core.config import Settings
from carecli.core.errors import InvalidInput
from carecli.measure import asof
from carecli.measure.clocks import Stale, prepare, stored_value
from carecli.measure.periods import Period, buckets, calendar_period
from carecli.text.clock import local_day_bounds, to_db

ATTRIBUTE_GROUPS = ("channel", "category", "priority")
TIME_GROUPS = ("day", "week", "month")
PRODUCT_GROUP = "product"  # the order figures per line-item product (measure/loyalty.py)
GROUPS = ATTRIBUTE_GROUPS + TIME_GROUPS + (PRODUCT_GROUP,)


# ---------------------------------------------------------------- calendar buckets


# ---------------------------------------------------------------- aggregates


def _durations(text: str | None) -> dict:
    """The block {n, mean, median, p90} from kpi_durations' text."""
    if text is None:
        return _duration(0, None, None)
    n, mean, middle, ninetieth = (float(v) if "." in v or "e" in v else int(v) for v in text.split())
    return _duration(n, mean, (middle, ninetieth))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _pct(part: float | None, whole: float | None) -> float | None:
    return None if not whole or part is None else round(100.0 * part / whole, 2)


def _duration(n: float, mean: float | None, quantiles: tuple | list | None) -> dict:
    middle, ninetieth = quantiles if quantiles else (None, None)
    return {
        "n": n or 0,
        "mean": _round(mean) if n else None,
        "median": _round(middle) if n else None,
        "p90": _round(ninetieth) if n else None,
    }


# ---------------------------------------------------------------- the computation


class _Context:
    """One KPI computation: the connection, period bounds as stored text, grouping and duration SQL."""

    def __init__(
        self,
        conn,
        settings: Settings,
        period: Period,
        *,
        now: datetime,
        group: str | None,
        business_hours: bool,
        stale: Stale | None = None,
    ) -> None:

        self.conn, self.settings, self.group = conn, settings, group
        self.since, self.until = to_db(period.since), to_db(period.until)
        self.cutoff = to_db(min(period.until, now))  # open tickets are measured up to here
        self.now = to_db(now)
        self.params = {"since": self.since, "until": self.until, "cutoff": self.cutoff, "now": self.now}
        self.business_hours = business_hours
        self.sla_business = settings["business_hours.enabled"]
        # The tickets whose stored business durations are not current (measure/clocks.py): read
        # through `value`, computed on the fly, so no index of stored values can be walked.
        self.stale = stale
        self.ticket_group = f"t.{group}" if group in ATTRIBUTE_GROUPS else "NULL"
        self.covers_most = covers_most = _covers_most(conn, period)
        # Tickets whose stored row is not what they were at :until: reopened after their latest
        # close and still open then, or changed after it. measure/asof.py rebuilds them as of :until.
        reopened = [row[0] for row in conn.execute(REOPENED_AFTER_CLOSE_SQL, self.params)]
        self.rebuilt = asof.prepare(
            conn,
            period.since,
            period.until,
            now=now,
            business=_business_seconds(settings, business_hours),
            also=reopened,
        )
        # Over most of the history, medians and p90s come from walking a value index (migration
        # m005) to the wanted rank, and the rebuilt tickets correct the stored rows' figures
        # afterwards (`corrected`, `quantiles`); over a short period the aggregate over the few
        # values is faster, and the rebuilt rows stand in for the stored ones (`asof.source`).
        self.walk = covers_most and group in (None, "channel") and not (business_hours and stale)
        self.tickets_from = "tickets t" + (" NOT INDEXED" if covers_most else "")
        if self.rebuilt and not self.walk:
            self.tickets_from = asof.source("t")
        elif covers_most and group == "channel":
            # The covering index in channel order (migration m006): each ticket block streams
            # through it into GROUP BY instead of scanning the table and sorting a million rows.
            self.tickets_from = "tickets t INDEXED BY tickets_kpi_channel"
        # Grouping by a constant still runs SQLite's sorter: only group when asked.
        self.group_by = "GROUP BY 1" if group in ATTRIBUTE_GROUPS else ""
        self.suffix = "bs" if business_hours else "s"  # stored business-time or wall-clock durations

    def rows(self, sql: str) -> list[sqlite3.Row]:
        return self.conn.execute(sql, self.params).fetchall()

    def corrected(self, sql: str, params: dict | None = None) -> list[tuple]:
        """The rows of an additive aggregate query over `{tickets}`, grouped by its first column:
        over the tickets as read (`tickets_from`) and, when walking with rebuilt tickets, less
        their stored rows plus their rebuilt ones. NULL columns stay NULL (the walk's placeholders)."""
        params = {**self.params, **(params or {})}
        rows = [list(row) for row in self.conn.execute(sql.format(tickets=self.tickets_from), params)]
        if not (self.rebuilt and self.walk):
            return [tuple(row) for row in rows]
        by_group = {row[0]: row for row in rows}
        for sign, source in ((-1, asof.stored("t")), (1, asof.rebuilt("t"))):
            for row in self.conn.execute(sql.format(tickets=source), params):
                into = by_group.setdefault(row[0], [row[0]] + [None] * (len(row) - 1))
                for i, value in enumerate(row[1:], 1):
                    if value is not None:
                        into[i] = (into[i] or 0) + sign * value
        return [tuple(row) for row in by_group.values()]

    def value(self, name: str) -> str:
        """SQL for ticket `t`'s duration `name`, business time read current with --business-hours."""
        if not self.business_hours:
            return f"t.{name}_s"
        return stored_value(f"{name}_bs", "t", self.stale)

    def column(self, name: str) -> str:
        """The stored duration column for `name` (first_response, resolution, first_resolution):
        business time with --business-hours, wall-clock time otherwise."""
        return f"{name}_{self.suffix}"

    def rebuilt_keys(self, value: str, instant: str, group: Any) -> tuple[list[tuple], list[tuple]]:
        """(duration, instant, id) of the rebuilt tickets in the period, in the value index's
        order: their stored rows (to take out of a walk) and their rebuilt rows (to put in)."""
        if not (self.rebuilt and self.walk):
            return [], []
        where = (
            f"WHERE {value} IS NOT NULL AND {instant} >= :since AND {instant} < :until"
            f"{' AND channel = :group' if self.group == 'channel' else ''}"
        )
        params = {**self.params, "group": group}

        def keys(source: str) -> list[tuple]:
            return sorted(
                tuple(row) for row in self.conn.execute(f"SELECT {value}, {instant}, id FROM {source} {where}", params)
            )

        return keys(asof.stored("t")), keys(asof.rebuilt("t"))

    def quantiles(self, name: str, instant: str, group: Any, n: int) -> tuple:
        """(median, p90) of the `name` durations whose `instant` is in the period (in `group` when
        grouped), read by walking the value index to each rank in C, the rebuilt tickets' stored
        values taken out and their rebuilt values put in."""
        value = self.column(name)
        grouped = self.group == "channel"
        sql = (
            f"SELECT {value}, {instant}, id FROM tickets INDEXED BY tickets_{value}_{'channel' if grouped else 'value'} "
            f"WHERE {'channel = :group AND ' if grouped else ''}{value} IS NOT NULL "
            f"AND {instant} >= :since AND {instant} < :until ORDER BY {value}, {instant}, id LIMIT :limit OFFSET :offset"
        )
        # The index holds (value, instant, rowid) (migration m005), so this order costs no sort.
        dropped, added = self.rebuilt_keys(value, instant, group)
        gone, spread = set(dropped), len(dropped) + len(added)

        def walk(offset: int, limit: int) -> list[tuple]:
            params = {**self.params, "group": group, "limit": limit, "offset": offset}
            return [tuple(row) for row in self.conn.execute(sql, params)]

        def at(rank: int, count: int = 1) -> list:
            """`count` values from `rank` on of (index rows - dropped) + added, in one walk: they lie
            within `spread` rows of offset `rank` in the index."""
            if not spread:
                return [key[0] for key in walk(rank, count)]
            offset, limit = max(0, rank - spread), count + 3 * spread
            keys = walk(offset, limit)
            to_end = len(keys) < limit
            # The window's first rank: the index rows kept before it, and (unless it starts the
            # index, where every added value before it belongs to the window) the added ones before it.
            before = bisect.bisect_left(added, keys[0]) if keys and offset else 0
            start = offset - (bisect.bisect_left(dropped, keys[0]) if keys else 0) + before
            window = sorted(
                [key for key in keys if key not in gone] + [key for key in added[before:] if to_end or key <= keys[-1]]
            )
            return [key[0] for key in window[rank - start : rank - start + count]]

        middle = n // 2
        median_value = at(middle)[0] if n % 2 else sum(at(middle - 1, 2)) / 2
        return median_value, at(math.ceil(0.9 * n) - 1)[0]

    def durations(self, name: str, instant: str, group: Any, n: int, total: float | None, text: str | None) -> dict:
        """The {n, mean, median, p90} block: from kpi_durations' text, or from the count and total
        and index walks."""
        if not self.walk:
            return _durations(text)
        mean = total / n if n and total is not None else None
        return _duration(n, mean, self.quantiles(name, instant, group, n) if n else None)

    def measured(self, name: str) -> str:
        """The SQL aggregates over a duration column matching `durations` (additive when walking)."""
        value = self.value(name)
        return f"COUNT({value}), SUM({value}), NULL" if self.walk else f"NULL, NULL, kpi_durations({value})"


@overload
def compute(
    conn: sqlite3.Connection,
    settings: Settings,
    period: Period,
    *,
    now: datetime,
    by: None = None,
    business_hours: bool = False,
) -> dict: ...


@overload
def compute(
    conn: sqlite3.Connection,
    settings: Settings,
    period: Period,
    *,
    now: datetime,
    by: str | None,
    business_hours: bool = False,
) -> dict | list[dict]: ...


def compute(
    conn: sqlite3.Connection,
    settings: Settings,
    period: Period,
    *,
    now: datetime,
    by: str | None = None,
    business_hours: bool = False,
) -> dict | list[dict]:
    """Every KPI over the period: one dict, or with `by` a list of dicts each with a `group` key."""
    if by is not None and by not in GROUPS:
        raise InvalidInput(f"cannot group by '{by}'", f"use one of: {', '.join(GROUPS)}")
    if by == PRODUCT_GROUP:
        return _by_product(conn, settings, period, business_hours=business_hours)
    stale = prepare(conn, settings, now=now, period=period, business_hours=business_hours)
    if by in TIME_GROUPS:
        return [
            {
                "group": part.label,
                # the calendar day, week or month is not over yet: its figures are so far
                "partial": _unfinished(part, by, settings, now),
                **_compute(conn, settings, part, now=now, group=None, business_hours=business_hours, stale=stale)[None],
            }
            for part in buckets(period, by, settings.tz)
        ]
    if by is None:
        return _compute(conn, settings, period, now=now, group=None, business_hours=business_hours, stale=stale)[None]
    configured = settings[LIST_KEYS[by]]
    results = _compute(
        conn, settings, period, now=now, group=by, business_hours=business_hours, extra_groups=configured, stale=stale
    )
    order = list(configured) + sorted(g for g in results if g not in configured and g is not None)
    return [{"group": g, **results[g]} for g in order if g in results]


def _unfinished(part: Period, unit: str, settings: Settings, now: datetime) -> bool:
    """Whether the calendar day, week or month `part` belongs to ends after `now` (a bucket cut
    short by --until in the past is over: it is not partial)."""
    return calendar_period(part.since.astimezone(settings.tz).date(), unit, settings.tz).until > now


LIST_KEYS = {"channel": "channels", "category": "categories", "priority": "priorities"}


def _compute(
    conn, settings, period: Period, *, now, group, business_hours, extra_groups=(), stale=None
) -> dict[Any, dict]:
    ctx = _Context(conn, settings, period, now=now, group=group, business_hours=business_hours, stale=stale)
    closed = _closed_set(ctx)
    tickets = _ticket_counts(ctx, {g: c["closed"] for g, c in closed.items()})
    first_response = _first_response(ctx)
    surveys = _surveys(ctx)
    sla = _sla(ctx)
    overall = {
        "nps": _nps(ctx),
        "followups": _followups(ctx),
        "retention": _retention(ctx),
        "loyalty": _loyalty(ctx),
    }
    proactive = _proactive(ctx)
    groups = set(tickets) | set(first_response) | set(closed) | set(surveys) | set(sla) | set(extra_groups)
    if group == "channel":
        groups |= set(proactive)
    if group is None:
        groups = {None}
    period_block = {"since": ctx.since, "until": ctx.until, "business_hours": business_hours}
    results = {}
    for g in groups:
        counts = tickets.get(g, _EMPTY_COUNTS)
        closed_g = closed.get(g, {})
        durations = closed_g.get("durations", (None, None))
        results[g] = {
            "period": period_block,
            "tickets": counts,
            "first_response_s": first_response.get(g, _duration(0, None, None)),
            "resolution_s": durations[0] or _duration(0, None, None),
            "first_resolution_s": durations[1] or _duration(0, None, None),
            "fcr_pct": _pct(closed_g.get("fcr"), counts["closed"]),
            "reopen_pct": _pct(counts["reopened"], counts["closed"]),
            "csat": surveys.get(g, {}).get("csat", _survey_block("csat", 0, None, None)),
            "ces": surveys.get(g, {}).get("ces", _survey_block("ces", 0, None, None)),
            "nps": overall["nps"],
            "followups": overall["followups"],
            "proactive_pct": proactive.get(g if group == "channel" or group is None else None),
            "retention": overall["retention"],
            "sla": sla.get(g, _sla_block(0, (0, 0), (0, 0))),
            "loyalty": overall["loyalty"],
        }
    return results


def _by_product(conn, settings: Settings, period: Period, *, business_hours: bool) -> list[dict]:
    """`--by product`: per line-item product sold in the period, only the order figures of the
    loyalty block (tickets, surveys and follow-ups are not about a product)."""
    from carecli.measure import loyalty

    since, until = to_db(period.since), to_db(period.until)
    period_block = {"since": since, "until": until, "business_hours": business_hours}
    return [
        {"group": row.pop("group"), "period": period_block, "loyalty": row}
        for row in loyalty.by_product(conn, settings, since, until)
    ]


_EMPTY_COUNTS = {"opened": 0, "closed": 0, "reopened": 0, "backlog": 0}


def _business_seconds(settings: Settings, business_hours: bool):
    """Business seconds between two instants, for tickets measured as of a past moment; None
    when no figure counts business time."""
    if not (business_hours or settings["business_hours.enabled"]):
        return None
    from carecli.measure.clocks import BusinessHours

    return BusinessHours.from_settings(settings).seconds_between


def _covers_most(conn, period: Period) -> bool:
    """Whether the period spans most of the tickets' history: then one table scan beats an index
    range plus a row lookup per ticket (measured 0.13 s against 0.33 s on a million tickets)."""
    from carecli.text.clock import from_db

    # Two subqueries: SQLite answers a lone MIN or MAX from the index, but scans the table for both
    # in one SELECT (100 ms on a million tickets).
    first, last = conn.execute(
        "SELECT (SELECT MIN(created_at) FROM tickets), (SELECT MAX(created_at) FROM tickets)"
    ).fetchone()
    if first is None:
        return False
    first, last = from_db(first), from_db(last)
    overlap = (min(period.until, last) - max(period.since, first)).total_seconds()
    return overlap > 0.3 * max((last - first).total_seconds(), 1)


def _ticket_counts(ctx: _Context, closed: dict) -> dict:
    """opened, closed, reopened and backlog per group; `closed` is {group: closed count}, counted
    with the closed set (_closed_set) rather than by another scan."""
    g = ctx.ticket_group
    counts: dict[Any, dict] = {}

    def add(sql: str, name: str) -> None:
        for row in ctx.rows(sql):
            counts.setdefault(row[0], dict(_EMPTY_COUNTS))[name] = row[1]

    by = ctx.group_by
    # By channel over most of the history, the covering channel index streams into GROUP BY
    # (0.3 s -> 0.08 s of 1M tickets); otherwise the created_at index finds the period's tickets.
    source = ctx.tickets_from if ctx.walk and ctx.group == "channel" else "tickets t"
    add(f"SELECT {g}, COUNT(*) FROM {source} WHERE t.created_at >= :since AND t.created_at < :until {by}", "opened")
    for group, count in closed.items():
        counts.setdefault(group, dict(_EMPTY_COUNTS))["closed"] = count
    reopened_from = "events e JOIN tickets t ON t.id = e.ticket_id" if ctx.group_by else "events e"
    add(
        f"""SELECT {g}, COUNT(DISTINCT e.ticket_id) FROM {reopened_from}
            WHERE e.kind = 'reopened' AND e.at >= :since AND e.at < :until AND e.voided_by IS NULL {by}""",
        "reopened",
    )
    add(f"SELECT {g}, COUNT(*) FROM tickets t WHERE t.id IN ({BACKLOG_IDS_SQL}) {by}", "backlog")
    return counts


# Tickets whose latest close is in the period but that were reopened after it, before :until: not
# closed at the end of the period, so not counted as closed in it (a reopen after :until leaves the
# period's figure alone). Such a ticket is open or pending now (a later close would have moved
# closed_at), so the status index finds the few candidates: 15 of 1M tickets in 20 ms.
REOPENED_AFTER_CLOSE_SQL = """
    SELECT t.id FROM tickets t
    WHERE t.status IN ('open', 'pending') AND t.closed_at >= :since AND t.closed_at < :until
      AND EXISTS (SELECT 1 FROM events e WHERE e.ticket_id = t.id AND e.kind = 'reopened'
                  AND e.at >= t.closed_at AND e.at < :until AND e.voided_by IS NULL)
"""


# Tickets open or pending at :until. A ticket's state at :until is its state now, unless it was
# closed or reopened since; those few (found through indexes on closed_at and events) are decided
# by their last close/reopen event before :until.
BACKLOG_IDS_SQL = """
    WITH changed AS (
        SELECT ticket_id AS id FROM events WHERE kind = 'reopened' AND at >= :until AND voided_by IS NULL
        UNION SELECT id FROM tickets WHERE closed_at >= :until
    )
    SELECT id FROM tickets WHERE status IN ('open', 'pending') AND created_at < :until
        AND id NOT IN (SELECT id FROM changed)
    UNION ALL
    SELECT c.id FROM changed c JOIN tickets t ON t.id = c.id
    WHERE t.created_at < :until AND COALESCE((
        SELECT e.kind FROM events e WHERE e.ticket_id = c.id AND e.kind IN ('closed', 'reopened')
            AND e.at < :until AND e.voided_by IS NULL ORDER BY e.at DESC, e.id DESC LIMIT 1), 'reopened') = 'reopened'
"""


def _first_response(ctx: _Context) -> dict:
    source, only_measured = ctx.tickets_from, ""
    if ctx.walk:  # count and mean from the value index too: a covering scan, in channel order when grouped
        value = ctx.column("first_response")
        source = f"tickets t INDEXED BY tickets_{value}_{'channel' if ctx.group else 'value'}"
        only_measured = f"AND t.{value} IS NOT NULL"
    sql = f"""
        SELECT {ctx.ticket_group}, {ctx.measured("first_response")}
        FROM {source} WHERE t.first_response_at >= :since AND t.first_response_at < :until {only_measured}
        {ctx.group_by}"""
    return {
        row[0]: ctx.durations("first_response", "first_response_at", row[0], *row[1:])
        for row in ctx.rows(sql)
        if row[1] or row[3] is not None
    }


def _closed_set(ctx: _Context) -> dict:
    rows = ctx.corrected(f"""
        SELECT {ctx.ticket_group}, COUNT(*), SUM(t.reopen_count = 0 AND t.reply_count <= 1),
               {ctx.measured("resolution")}, {ctx.measured("first_resolution")}
        FROM {{tickets}} WHERE t.closed_at >= :since AND t.closed_at < :until
        {ctx.group_by}""")
    result = {}
    for row in rows:
        if not row[1]:
            continue  # no closed ticket (an aggregate without GROUP BY still returns one row)
        durations = (
            ctx.durations("resolution", "closed_at", row[0], *row[3:6]),
            ctx.durations("first_resolution", "closed_at", row[0], *row[6:9]),
        )
        result[row[0]] = {"durations": durations, "fcr": row[2], "closed": row[1]}
    return result


def _survey_block(kind: str, n: int, mean: float | None, good: int | None) -> dict:
    share = "satisfied_pct" if kind == "csat" else "easy_pct"
    return {"n": n, "mean": _round(mean) if n else None, share: _pct(good, n)}


# Answers superseded before :until no longer counted at the period's end (a replacement supersedes
# the old answer at its own time, so one superseded before :since was given before it too). The
# partial index of migration m007 finds these few; the aggregates read from the covering indexes
# (surveys_kind_at_ticket, surveys_kind_at) count them, and each block subtracts them afterwards.
_SUPERSEDED_BEFORE_UNTIL = """surveys s INDEXED BY surveys_superseded
    {join} WHERE s.superseded_at IS NOT NULL AND s.superseded_at >= :since AND s.superseded_at < :until
      AND {kinds} AND s.at >= :since AND s.at < :until"""


def _less_superseded(ctx: _Context, sql: str, superseded_sql: str, keys: int) -> list[tuple]:
    """Rows of the aggregate `sql` (`keys` leading key columns, then sums) less those of the same
    aggregate over the answers superseded before :until (`superseded_sql`)."""
    rows = [tuple(row) for row in ctx.rows(sql)]
    out = {tuple(row[:keys]): row[keys:] for row in ctx.rows(superseded_sql)}
    if not out:
        return rows
    corrected = []
    for row in rows:
        gone = out.get(row[:keys])
        if gone is not None:
            row = (*row[:keys], *((value or 0) - (less or 0) for value, less in zip(row[keys:], gone)))
        corrected.append(row)
    return corrected


def _surveys(ctx: _Context) -> dict:
    # Over most of the history by channel, each survey's channel comes from the narrow
    # (id, channel) index of migration m006, not from a lookup into the wide ticket rows.
    tickets = "tickets t INDEXED BY tickets_id_channel" if ctx.walk and ctx.group == "channel" else "tickets t"
    join = f"LEFT JOIN {tickets} ON t.id = s.ticket_id" if ctx.group_by else ""
    kinds = "s.kind IN ('csat', 'ces')"

    def sums(source: str) -> str:
        return f"""
            SELECT {ctx.ticket_group}, s.kind, COUNT(*), SUM(s.score),
                   SUM(CASE s.kind WHEN 'csat' THEN s.score >= 4 ELSE s.score >= 5 END)
            FROM {source}
            GROUP BY {"1, 2" if ctx.group_by else "2"}"""

    rows = _less_superseded(
        ctx,
        sums(f"surveys s {join} WHERE {kinds} AND s.at >= :since AND s.at < :until"),
        sums(_SUPERSEDED_BEFORE_UNTIL.format(join=join, kinds=kinds)),
        keys=2,
    )
    result: dict = {}
    for group, kind, n, total, good in rows:
        if n:
            result.setdefault(group, {})[kind] = _survey_block(kind, n, total / n, good)
    return result


def _nps(ctx: _Context) -> dict:
    def sums(source: str) -> str:
        return f"""SELECT COUNT(*), SUM(s.score >= 9), SUM(s.score BETWEEN 7 AND 8), SUM(s.score <= 6)
                   FROM {source}"""

    row = _less_superseded(
        ctx,
        sums("surveys s WHERE s.kind = 'nps' AND s.at >= :since AND s.at < :until"),
        sums(_SUPERSEDED_BEFORE_UNTIL.format(join="", kinds="s.kind = 'nps'")),
        keys=0,
    )[0]
    n, promoters, passives, detractors = row[0], row[1] or 0, row[2] or 0, row[3] or 0
    return {
        "n": n,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "score": _pct(promoters - detractors, n),
    }


# Follow-ups whose due date was moved (snooze, edit --due) at or after :until, each with its due
# date as it was at :until: the from_due of its earliest move since (followup_due_changes,
# migration m007). The `at` index finds these few.
_DUE_AT_UNTIL_SQL = """
    SELECT followup_id AS id, from_due AS due_then FROM (
        SELECT followup_id, from_due, row_number() OVER (PARTITION BY followup_id ORDER BY at, id) AS move
        FROM followup_due_changes WHERE at >= :until AND voided_by IS NULL)
    WHERE move = 1"""


def _followups(ctx: _Context, plans_only: bool = False) -> dict:
    # Each follow-up due in the period is judged as it stood at :until. Done (or skipped) by then:
    # marked so before :until (completed_at; rows without a time, skipped before migration m007 or
    # done before completed_at was kept, count as before any :until). Overdue: still scheduled at
    # :until and due on a local day that ended by then, the rule of `today` and `followup list
    # --overdue`. Skipped ones and ones due on :until's own day still open are neither. On time is
    # stored when a follow-up is marked done (followups.on_time, migration m002); rows done before
    # that column existed are decided here against the end of the due day: the first local
    # midnight after the due time, from a small TEMP table (COALESCE evaluates it only for them).
    # Over most of the history, one pass over the table beats the due_at index and a row lookup per
    # follow-up (0.16 s -> 0.04 s of 200k). That pass judges each follow-up by its current due_at;
    # the few whose due date moved at or after :until are then corrected: their figures by the
    # current due date taken out, those by the due date they had at :until put in. `plans_only`
    # judges only the follow-ups a care plan scheduled.
    from carecli.text.clock import from_db

    _prepare_midnights(ctx)
    tz = ctx.settings.tz
    until_day_start = local_day_bounds(from_db(ctx.until).astimezone(tz).date(), tz)[0]
    params = {**ctx.params, "until_day_start": to_db(until_day_start)}
    done_then, skipped_then = (
        f"(status = '{status}' AND (completed_at IS NULL OR completed_at < :until))" for status in ("done", "skipped")
    )
    only = "AND f.plan IS NOT NULL" if plans_only else ""

    def sums(due: str, source: str) -> list:
        return ctx.conn.execute(
            f"""
            SELECT COUNT(*), SUM({done_then}),
                   SUM({done_then} AND COALESCE(on_time,
                       completed_at < (SELECT MIN(m.at) FROM temp.kpi_midnights m WHERE m.at > {due}))),
                   SUM(NOT {done_then} AND NOT {skipped_then} AND {due} < :until_day_start)
            FROM {source} WHERE {due} >= :since AND {due} < :until {only}""",
            params,
        ).fetchone()

    # Plan follow-ups are few: their partial index (migration m021) beats a pass over the table,
    # and the due_at index, which the planner would otherwise take for a short period.
    index = "INDEXED BY followups_plan" if plans_only else "NOT INDEXED" if ctx.covers_most else ""
    totals = [value or 0 for value in sums("f.due_at", f"followups f {index}")]
    moved = f"({_DUE_AT_UNTIL_SQL}) c JOIN followups f ON f.id = c.id"
    for sign, judged_by in ((-1, "f.due_at"), (1, "c.due_then")):
        totals = [total + sign * (value or 0) for total, value in zip(totals, sums(judged_by, moved))]
    due, done, on_time, overdue = totals
    return {
        "due": due,
        "done": done,
        "on_time": on_time,
        "overdue": overdue,
        "on_time_pct": _pct(on_time, done + overdue),
    }


def _prepare_midnights(ctx: _Context) -> None:
    from carecli.text.clock import from_db

    tz = ctx.settings.tz
    ctx.conn.execute("CREATE TEMP TABLE IF NOT EXISTS kpi_midnights (at TEXT PRIMARY KEY) WITHOUT ROWID")
    # Only the days follow-ups are due on (now or, moved since, at :until): an all-time period
    # starts decades before the data. Separate subqueries, each answered from an index (one SELECT
    # of both min and max scans the range: 0.1 s).
    in_period = "FROM followups WHERE due_at >= :since AND due_at < :until"
    moved = (
        "FROM followup_due_changes WHERE at >= :until AND from_due >= :since AND from_due < :until"
        " AND voided_by IS NULL"
    )
    bounds = ctx.rows(
        f"SELECT (SELECT min(due_at) {in_period}), (SELECT max(due_at) {in_period}), "
        f"(SELECT min(from_due) {moved}), (SELECT max(from_due) {moved})"
    )[0]
    known = [value for value in bounds if value is not None]
    if not known:
        return
    first = from_db(min(known)).astimezone(tz).date()
    last = from_db(max(known)).astimezone(tz).date() + timedelta(days=1)
    days = (last - first).days + 1
    ctx.conn.executemany(
        "INSERT OR IGNORE INTO temp.kpi_midnights VALUES (?)",
        ((to_db(local_day_bounds(first + timedelta(days=i), tz)[0]),) for i in range(days)),
    )


def _proactive(ctx: _Context) -> dict:
    g, by = ("channel", "GROUP BY 1") if ctx.group == "channel" else ("NULL", "")
    # Grouped by channel over most of the history, the (channel, at) indexes of migration m006 let
    # GROUP BY stream instead of sorting every outbound interaction; otherwise the (at, channel) ones.
    suffix = "_channel" if ctx.walk and ctx.group == "channel" else ""
    counts: dict = {}
    for row in ctx.rows(f"""SELECT {g}, COUNT(*) FROM interactions INDEXED BY interactions_out{suffix}
                            WHERE direction = 'out' AND at >= :since AND at < :until {by}"""):
        counts[row[0]] = [row[1], 0]
    for row in ctx.rows(f"""SELECT {g}, COUNT(*) FROM interactions INDEXED BY interactions_proactive{suffix}
                            WHERE direction = 'out' AND (ticket_id IS NULL OR followup_id IS NOT NULL)
                              AND at >= :since AND at < :until {by}"""):
        counts.setdefault(row[0], [0, 0])[1] = row[1]
    # Our messages on tickets we started, before the customer wrote (outreach; migration m008's
    # partial index finds those few tickets, and CROSS JOIN keeps them the outer loop: the other
    # order walks every interaction of the period, 0.8 s of 1M tickets). Ones sent for a
    # follow-up are counted above.
    for row in ctx.rows(f"""SELECT {g.replace("channel", "i.channel")}, COUNT(*)
                            FROM tickets t INDEXED BY tickets_outreach CROSS JOIN interactions i ON i.ticket_id = t.id
                            WHERE t.outreach = 1 AND i.direction = 'out' AND i.followup_id IS NULL
                              AND (t.first_contact_at IS NULL OR i.at < t.first_contact_at)
                              AND i.at >= :since AND i.at < :until {by}"""):
        counts.setdefault(row[0], [0, 0])[1] += row[1]
    return {g: _pct(proactive, total) for g, (total, proactive) in counts.items()}


def _retention(ctx: _Context) -> dict:
    # Retained: customers at the start who are not lost at :until, so one lost and won back inside
    # the period is retained; `won_back` counts those of `lost`.
    from carecli.measure.churn import MARKS_SQL, lost_at_sql

    row = ctx.rows(
        f"WITH {MARKS_SQL}, {lost_at_sql('lost_at_start', ':since')}, {lost_at_sql('lost_at_end', ':until')}"
        + """
        , at_start AS (SELECT id FROM customers WHERE created_at < :since
                         AND id NOT IN (SELECT customer_id FROM lost_at_start)),
        lost AS (SELECT DISTINCT m.customer_id AS id FROM marks m JOIN at_start s ON s.id = m.customer_id
                 WHERE m.kind = 'lost' AND m.at >= :since AND m.at < :until)
        SELECT
            (SELECT COUNT(*) FROM at_start),
            (SELECT COUNT(*) FROM lost),
            (SELECT COUNT(*) FROM lost WHERE id NOT IN (SELECT customer_id FROM lost_at_end)),
            (SELECT COUNT(*) FROM customers WHERE created_at >= :since AND created_at < :until)"""
    )[0]
    at_start, lost, won_back, new = row
    return {
        "customers_at_start": at_start,
        "lost": lost,
        "won_back": won_back,
        "new": new,
        "retention_pct": _pct(at_start - lost + won_back, at_start),
        "churn_pct": _pct(lost, at_start),
    }


# ---------------------------------------------------------------- loyalty


def _loyalty(ctx: _Context) -> dict:
    """Orders, plan follow-ups, service reminders and recovery as of :until (docs/metrics.md, "Loyalty")."""
    from carecli.measure import loyalty

    plan = _followups(ctx, plans_only=True)
    return {
        **loyalty.buyer_figures(ctx.conn, ctx.settings, ctx.since, ctx.until),
        "plan_followups_due": plan["due"],
        "plan_followups_done": plan["done"],
        "plan_followups_on_time": plan["on_time"],
        "plan_followups_overdue": plan["overdue"],
        "plan_on_time_pct": plan["on_time_pct"],
        **_service_reminders(ctx),
        **loyalty.recovered_figures(ctx.conn, ctx.settings, ctx.since, ctx.until),
    }


def _service_reminders(ctx: _Context) -> dict:
    from carecli.measure.clocks import wall_duration_sql

    # Each due date a service reminder (a follow-up of kind service-reminder for an asset) had
    # that falls in the period: its due date at :until (as `_followups` reads it), and each one it
    # was moved from before :until, since recording a service moves the asset's reminder on to
    # the next occurrence (records/plans.after_service), and so does a snooze. On time: the asset
    # has a service recorded before :until within service_grace_days of that due date, either
    # side. Late: none such, and the grace after the due date ended by :until. A due date still
    # within its grace at :until and not serviced is neither (not decided yet), nor is one whose
    # reminder was skipped before :until.
    reminders = "f.asset_id IS NOT NULL AND f.kind = 'service-reminder'"
    row = ctx.conn.execute(
        f"""
        WITH due_dates AS (
            SELECT f.asset_id, coalesce(c.due_then, f.due_at) AS due,
                   (f.status = 'skipped' AND (f.completed_at IS NULL OR f.completed_at < :until)) AS skipped
            FROM followups f INDEXED BY followups_asset LEFT JOIN ({_DUE_AT_UNTIL_SQL}) c ON c.id = f.id
            WHERE {reminders}
            UNION ALL
            SELECT f.asset_id, d.from_due, 0
            FROM followups f INDEXED BY followups_asset JOIN followup_due_changes d ON d.followup_id = f.id
            WHERE {reminders} AND d.at < :until AND d.voided_by IS NULL
        ), judged AS (
            SELECT due, skipped,
                   EXISTS (SELECT 1 FROM services s WHERE s.asset_id = due_dates.asset_id AND s.serviced_at < :until
                           AND abs({wall_duration_sql("s.serviced_at", "due")}) <= :grace_s) AS serviced
            FROM due_dates WHERE due >= :since AND due < :until
        )
        SELECT count(*), coalesce(sum(serviced AND NOT skipped), 0),
               coalesce(sum(NOT serviced AND NOT skipped AND {wall_duration_sql("due", ":until")} > :grace_s), 0)
        FROM judged""",
        {**ctx.params, "grace_s": ctx.settings["care.service_grace_days"] * 86_400},
    ).fetchone()
    due, on_time, late = row
    return {
        "service_reminders_due": due,
        "services_on_time": on_time,
        "services_late": late,
        "service_on_time_pct": _pct(on_time, on_time + late),
    }


# ---------------------------------------------------------------- SLAs


def _sla_block(tickets: int, first: tuple[int, int], resolution: tuple[int, int]) -> dict:
    """`first` and `resolution` are (breached, met) target counts; running targets are neither."""
    breached, decided = first[0] + resolution[0], sum(first) + sum(resolution)
    return {
        "tickets": tickets,
        "targets": decided,
        "first_response_breached": first[0],
        "first_response_met": first[1],
        "resolution_breached": resolution[0],
        "resolution_met": resolution[1],
        "breach_pct": _pct(breached, decided),
    }


def _sla(ctx: _Context) -> dict:
    from carecli.measure.sla import breach_sql, met_sql, target_params, target_sql, targets

    goals = targets(ctx.settings)
    if not goals:
        return {}
    first_target, resolution_target = target_sql(goals, "first_response"), target_sql(goals, "resolution")
    pause = ctx.settings["sla.pause_when_pending"]
    stale = ctx.stale if ctx.sla_business else None
    first_breach, resolution_breach = breach_sql(
        goals, business=ctx.sla_business, cutoff=":cutoff", pause=pause, stale=stale
    )
    first_met, resolution_met = met_sql(goals, business=ctx.sla_business, pause=pause, stale=stale)
    sql = f"""
        SELECT g, COUNT(*), SUM(fr_breach), SUM(fr_met), SUM(res_breach), SUM(res_met) FROM (
            SELECT {ctx.ticket_group} AS g,
                   {first_breach} AS fr_breach, {first_met} AS fr_met,
                   {resolution_breach} AS res_breach, {resolution_met} AS res_met
            FROM {{tickets}}
            WHERE t.created_at >= :since AND t.created_at < :until
              AND ({first_target} IS NOT NULL OR {resolution_target} IS NOT NULL))
        {ctx.group_by}"""
    rows = ctx.corrected(sql, target_params(goals))
    return {
        row[0]: _sla_block(row[1], (row[2] or 0, row[3] or 0), (row[4] or 0, row[5] or 0)) for row in rows if row[1]
    }
