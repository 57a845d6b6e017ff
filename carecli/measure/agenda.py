"""The day's agenda: follow-ups due and overdue, tickets waiting on us (and since when), tickets
waiting too long on the customer. A plain dict of plain lists, so `today`, `report daily` and JSON
all share it. And the days ahead (`today --week`): each day's follow-ups and SLA deadlines.

Every query is served by an index (followups_status_due, tickets_status_created, events_ticket):
the agenda stays fast however long the shop's history grows.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta, timezone

from carecli.core.config import Settings
from carecli.measure.sla import breaching_tickets, deadlines_between
from carecli.records import followups
from carecli.records.ticket_queries import priority_params, priority_rank_sql
from carecli.text.clock import from_db, local_day_bounds, to_db

LISTS = ("followups_due", "followups_overdue", "waiting_on_us", "waiting_on_customer", "sla_breaching")
# The lists that say how things stand now, whatever day the agenda is for: a ticket's wait and
# its SLA clocks are measured to now (follow-ups are listed by the day they are due on).
AS_OF_NOW = ("waiting_on_us", "waiting_on_customer", "sla_breaching")
MAX_DAYS_AHEAD = 92
_LONG_AGO = datetime(1970, 1, 1, tzinfo=timezone.utc)

_TICKET_FIELDS = """
    t.id, t.customer_id, c.name AS customer_name, t.subject, t.priority, t.status, t.channel, t.created_at,
    CAST(strftime('%s', :now) - strftime('%s', t.created_at) AS INTEGER) AS age_s
"""

# Since when an open ticket `t` has waited on us: the customer's oldest message since the ball was
# last in their court (our latest reply, or the ticket's latest pending or close: a close answers
# too), else when the ticket last became open. (Two-argument max() is NULL if either is NULL.)
WAITING_SINCE_SQL = """coalesce(
    (SELECT min(i.at) FROM interactions i WHERE i.ticket_id = t.id AND i.direction = 'in' AND i.at > max(
        coalesce((SELECT max(o.at) FROM interactions o WHERE o.ticket_id = t.id AND o.direction = 'out'), ''),
        coalesce((SELECT max(e.at) FROM events e WHERE e.ticket_id = t.id AND e.kind IN ('pending', 'closed') AND e.voided_by IS NULL), ''))),
    (SELECT max(e.at) FROM events e WHERE e.ticket_id = t.id AND e.kind IN ('opened', 'resumed', 'reopened')
        AND e.voided_by IS NULL),
    t.created_at)"""


def build_agenda(
    conn: sqlite3.Connection,
    settings: Settings,
    *,
    day: date,
    now: datetime,
    limit: int | None = None,
) -> dict:
    """The agenda of local `day` as seen at `now` (ages are measured to `now`).

    {"date", "now", "as_of_now", "followups_due", "followups_overdue", "waiting_on_us",
    "waiting_on_customer", "sla_breaching", "counts"}:
    each list holds JSON-ready dicts, at most `limit` of them (None = all); "counts" has each
    list's full length; "as_of_now" names the lists measured to `now` rather than to `day`.
    """
    tz = settings.tz
    day_start, day_end = local_day_bounds(day, tz)
    nudge = settings.duration("care.pending_nudge_after")
    params = {
        "day_start": to_db(day_start),
        "day_end": to_db(day_end),
        "now": to_db(now),
        "pending_before": to_db(now - nudge) if nudge else to_db(now),
        "limit": -1 if limit is None else limit,  # LIMIT -1 = no limit in SQLite
        **priority_params(settings),
    }
    agenda: dict = {"date": day.isoformat(), "now": to_db(now), "as_of_now": list(AS_OF_NOW)}
    counts = {}

    due_where = "f.status = 'scheduled' AND f.due_at >= :day_start AND f.due_at < :day_end"
    agenda["followups_due"] = [
        followups.as_dict(row, tz=tz, today_start=day_start) for row in conn.execute(_followups_sql(due_where), params)
    ]
    counts["followups_due"] = _count(conn, f"SELECT count(*) FROM followups f WHERE {due_where}", params)

    overdue_where = "f.status = 'scheduled' AND f.due_at < :day_start"
    agenda["followups_overdue"] = [
        {
            **followups.as_dict(row, tz=tz, today_start=day_start),
            "days_overdue": (day - followups.due_day(row, tz)).days,
        }
        for row in conn.execute(_followups_sql(overdue_where), params)
    ]
    counts["followups_overdue"] = _count(conn, f"SELECT count(*) FROM followups f WHERE {overdue_where}", params)

    # Most urgent first, then oldest.
    # Sort first (read from the covering tickets_status_priority index), then join the few kept:
    # only those few look up how long they have waited.
    order = f"{priority_rank_sql(settings)} DESC, t.created_at, t.id"
    agenda["waiting_on_us"] = [
        {**row, "waiting_s": int((now - from_db(row["waiting_since"])).total_seconds())}
        for row in map(
            dict,
            conn.execute(
                f"""SELECT {_TICKET_FIELDS}, {WAITING_SINCE_SQL} AS waiting_since
                FROM (SELECT t.id FROM tickets t WHERE t.status = 'open' ORDER BY {order} LIMIT :limit) kept
                JOIN tickets t ON t.id = kept.id JOIN customers c ON c.id = t.customer_id
                ORDER BY {order}""",
                params,
            ),
        )
    ]
    counts["waiting_on_us"] = _count(conn, "SELECT count(*) FROM tickets WHERE status = 'open'", params)

    # Waiting on the customer since the last time the ticket was set pending.
    pending = """
        SELECT t.id, (SELECT max(e.at) FROM events e WHERE e.ticket_id = t.id AND e.kind = 'pending'
            AND e.voided_by IS NULL) AS pending_since
        FROM tickets t WHERE t.status = 'pending'
    """
    agenda["waiting_on_customer"] = [
        dict(row)
        for row in conn.execute(
            f"""SELECT {_TICKET_FIELDS}, p.pending_since,
                   CAST(strftime('%s', :now) - strftime('%s', p.pending_since) AS INTEGER) AS waiting_s
            FROM ({pending}) p JOIN tickets t ON t.id = p.id JOIN customers c ON c.id = t.customer_id
            WHERE p.pending_since <= :pending_before
            ORDER BY p.pending_since, t.id LIMIT :limit""",
            params,
        )
    ]
    counts["waiting_on_customer"] = _count(
        conn, f"SELECT count(*) FROM ({pending}) p WHERE p.pending_since <= :pending_before", params
    )
    # Past an SLA deadline or within `sla.warn_before` of one (empty when no targets are set).
    breaching = breaching_tickets(conn, settings, now=now)
    agenda["sla_breaching"] = breaching if limit is None else breaching[:limit]
    counts["sla_breaching"] = len(breaching)
    agenda["counts"] = counts
    return agenda


def build_days(conn: sqlite3.Connection, settings: Settings, *, first_day: date, days: int, now: datetime) -> dict:
    """The follow-ups and SLA deadlines of `days` local days from `first_day`, day by day.

    {"since", "until", "items", "before"}: "items" are the rows of the `days_ahead` table in
    schema/tables.py, in time order (an all-day follow-up first on its day); a recurring
    follow-up's later occurrences in those days are there too (state `repeat`). SLA deadlines are
    as of `now`: where each running clock reaches its target. "before" counts what was already
    late when the days begin: follow-ups still scheduled and SLA deadlines still running.
    """
    from carecli.text.cadence import occurrences_after

    tz = settings.tz
    since = local_day_bounds(first_day, tz)[0]
    until = local_day_bounds(first_day + timedelta(days=days), tz)[0]
    params = {"since": to_db(since), "until": to_db(until), "limit": -1}
    items = [
        _followup_item(row, row["due_at"], "scheduled", tz)
        for row in conn.execute(
            _followups_sql("f.status = 'scheduled' AND f.due_at >= :since AND f.due_at < :until"), params
        )
    ]
    # Only the next occurrence of a series is stored; the ones after it are scheduled when it is
    # done, so they belong to these days too. The walk starts at the days, not at the series' start.
    recurring = "f.status = 'scheduled' AND f.recurrence IS NOT NULL AND f.due_at < :until"
    for row in conn.execute(_followups_sql(recurring), params):
        start = max(from_db(row["due_at"]), since - timedelta(microseconds=1))
        for occurrence in occurrences_after(followups.load_rule(row["recurrence"]), after=start, tz=tz):
            if occurrence >= until:
                break
            items.append(_followup_item(row, to_db(occurrence), "repeat", tz))
    for deadline in deadlines_between(conn, settings, now=now, since=since, until=until):
        items.append(
            {
                "day": from_db(deadline["due_at"]).astimezone(tz).date().isoformat(),
                "due_at": deadline["due_at"],
                "all_day": False,
                "item": deadline["target"],
                "state": deadline["state"],
                "followup_id": None,
                "ticket_id": deadline["id"],
                "customer_id": deadline["customer_id"],
                "customer_name": deadline["customer_name"],
                "kind": None,
                "priority": deadline["priority"],
                "about": deadline["subject"],
            }
        )
    items.sort(key=lambda item: (item["day"], not item["all_day"], item["due_at"], item["item"] != "followup"))
    late_followups = _count(
        conn, "SELECT count(*) FROM followups f WHERE f.status = 'scheduled' AND f.due_at < :since", params
    )
    late_deadlines = deadlines_between(conn, settings, now=now, since=_LONG_AGO, until=since)
    return {
        "since": to_db(since),
        "until": to_db(until),
        "items": items,
        "before": {"followups_overdue": late_followups, "sla_deadlines_missed": len(late_deadlines)},
    }


def _followup_item(row: sqlite3.Row, due_at: str, state: str, tz) -> dict:
    return {
        "day": from_db(due_at).astimezone(tz).date().isoformat(),
        "due_at": due_at,
        "all_day": bool(row["all_day"]),
        "item": "followup",
        "state": state,
        "followup_id": row["id"],
        "ticket_id": row["ticket_id"],
        "customer_id": row["customer_id"],
        "customer_name": row["customer_name"],
        "kind": row["kind"],
        "priority": None,
        "about": row["note"],
    }


def _followups_sql(where: str) -> str:
    return f"""SELECT {followups.FOLLOWUP_FIELDS} FROM followups f JOIN customers c ON c.id = f.customer_id
               WHERE {where} ORDER BY f.due_at, f.id LIMIT :limit"""


def _count(conn: sqlite3.Connection, sql: str, params: dict) -> int:
    return conn.execute(sql, params).fetchone()[0]
