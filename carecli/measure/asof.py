"""Tickets as they stood at a past moment, so that a period's figures are those of its end.

A ticket's stored row is its state now. For the few tickets whose stored row is not what they
were at a period's end (something happened to them after it: a reopen, a reply, a close, an
answer; or reopened inside it after its last close), `prepare` writes their state at that moment
into a TEMP table with the tickets table's columns, from the append-only events and the timeline.
The KPI engine then reads `source` in place of `tickets` (the unchanged rows plus the rebuilt
ones), or, where it walks indexes over most of the history, corrects the stored rows' aggregates
by `stored` and `rebuilt`. A period ending now usually finds nothing and costs one index probe.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Callable, Iterable

from carecli.text.clock import from_db, to_db

TABLE = "asof_tickets"

# What a status event leaves the ticket in.
STATUS_AFTER = {"opened": "open", "resumed": "open", "reopened": "open", "pending": "pending", "closed": "closed"}

# Ticket events that change a stored field the figures read ('opened' after the moment means the
# ticket did not exist yet: it is outside every period ending then).
_CHANGING_EVENTS = ("replied-first", "pending", "resumed", "closed", "reopened", "corrected")

# The tickets a period's ticket figures read: created in it (first response, SLA) or closed in it
# (the closed set). Two ways to find those changed since :until; `prepare` takes the cheaper.
_IN_PERIOD = """t.created_at < :until AND (t.created_at >= :since OR EXISTS (
    SELECT 1 FROM events e WHERE e.ticket_id = t.id AND e.kind = 'closed' AND e.at >= :since AND e.at < :until
    AND e.voided_by IS NULL))"""
_KINDS = ", ".join(f"'{k}'" for k in _CHANGING_EVENTS)
_AFTER = f"FROM events WHERE kind IN ({_KINDS}) AND at >= :until AND ticket_id IS NOT NULL AND voided_by IS NULL"

# From the period's tickets, each checked for a change since :until: grows with the period.
_CHANGED_FROM_PERIOD_SQL = f"""
    SELECT t.id FROM tickets t WHERE t.created_at < :until AND t.id IN (
            SELECT id FROM tickets WHERE created_at >= :since AND created_at < :until
            UNION SELECT ticket_id FROM events WHERE kind = 'closed' AND at >= :since AND at < :until
                AND voided_by IS NULL)
        AND (EXISTS (SELECT 1 FROM events e WHERE e.ticket_id = t.id AND e.at >= :until AND e.kind IN ({_KINDS})
                    AND e.voided_by IS NULL)
             OR EXISTS (SELECT 1 FROM interactions i WHERE i.ticket_id = t.id AND i.direction = 'out'
                        AND i.at >= :until))
"""

# From the changes since :until, each checked for being in the period: grows with the time since.
_CHANGED_SINCE_SQL = f"""
    SELECT t.id FROM tickets t WHERE t.id IN (
            SELECT ticket_id {_AFTER}
            UNION SELECT ticket_id FROM interactions INDEXED BY interactions_out
                WHERE direction = 'out' AND at >= :until AND ticket_id IS NOT NULL)
        AND {_IN_PERIOD}
"""

# Each probe of the first way costs about three index entries of the second (measured on 1M
# tickets: a past month 59 ms against 74 ms, all time to a month ago 2.3 s against 0.2 s).
_PROBE_COST = 3
_COUNT_CAP = 200_000


def _changed(conn: sqlite3.Connection, since: datetime, until: datetime) -> list[int]:
    params = {"since": to_db(since), "until": to_db(until), "cap": _COUNT_CAP}
    in_period = conn.execute(
        "SELECT COUNT(*) FROM (SELECT 1 FROM tickets WHERE created_at >= :since AND created_at < :until LIMIT :cap)",
        params,
    ).fetchone()[0]
    params["cap"] = _PROBE_COST * in_period + 1
    after = conn.execute(f"SELECT COUNT(*) FROM (SELECT 1 {_AFTER} LIMIT :cap)", params).fetchone()[0]
    sql = _CHANGED_SINCE_SQL if after < params["cap"] else _CHANGED_FROM_PERIOD_SQL
    return [row[0] for row in conn.execute(sql, params)]


BusinessSeconds = Callable[[datetime, datetime], int]


def prepare(
    conn: sqlite3.Connection,
    since: datetime,
    until: datetime,
    *,
    now: datetime,
    business: BusinessSeconds | None,
    also: Iterable[int] = (),
) -> int:
    """Fill the TEMP table with the tickets of the period [since, until) changed since `until`,
    and the tickets `also` named, as they stood at `until`; returns how many. `business` gives
    business seconds between two instants when the figures need business time (the stored *_bs
    values of changed durations are recomputed with it)."""
    conn.execute(f"DROP TABLE IF EXISTS temp.{TABLE}")
    ids = set(also)
    if until < now:
        ids.update(_changed(conn, since, until))
    if not ids:
        return 0
    from carecli.records.tickets import STATUS_EVENTS

    # Three queries for all of them (one each per ticket cost 0.15 ms a ticket).
    conn.execute(
        f"CREATE TEMP TABLE {TABLE} AS SELECT * FROM tickets WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(ids)),),
    )
    conn.execute(f"CREATE UNIQUE INDEX temp.{TABLE}_id ON {TABLE}(id)")
    names = [row[1] for row in conn.execute("PRAGMA table_info(tickets)")]
    params = {"until": to_db(until)}
    changes: dict[int, list[tuple[str, str]]] = {}
    marks = ", ".join(f"'{kind}'" for kind in STATUS_EVENTS)
    for ticket_id, kind, at in conn.execute(
        # CROSS JOIN: ticket by ticket through events_ticket (SQLite would otherwise read every
        # status event before :until from events_kind_at: 1.5 s of 1M tickets).
        f"SELECT e.ticket_id, e.kind, e.at FROM temp.{TABLE} a CROSS JOIN events e ON e.ticket_id = a.id "
        f"WHERE e.kind IN ({marks}) AND e.at < :until AND e.voided_by IS NULL ORDER BY e.ticket_id, e.at, e.id",
        params,
    ):
        changes.setdefault(ticket_id, []).append((kind, at))
    later = dict(
        conn.execute(
            f"SELECT ticket_id, COUNT(*) FROM interactions WHERE ticket_id IN (SELECT id FROM temp.{TABLE}) "
            "AND direction = 'out' AND at >= :until GROUP BY ticket_id",
            params,
        ).fetchall()
    )
    rows = [
        as_of(dict(zip(names, row)), changes.get(row[0], []), later.get(row[0], 0), until, business)
        for row in conn.execute(f"SELECT * FROM temp.{TABLE} ORDER BY id").fetchall()
    ]
    conn.execute(f"DELETE FROM temp.{TABLE}")
    conn.executemany(f"INSERT INTO temp.{TABLE} VALUES ({', '.join('?' * len(names))})", rows)
    return len(ids)


def source(alias: str = "t") -> str:
    """A FROM item reading like `tickets`, with the rebuilt tickets as they stood at the moment."""
    return (
        f"(SELECT * FROM tickets WHERE id NOT IN (SELECT id FROM temp.{TABLE}) "
        f"UNION ALL SELECT * FROM temp.{TABLE}) {alias}"
    )


def stored(alias: str = "t") -> str:
    """A FROM item with the stored rows of the rebuilt tickets (what a correction takes away)."""
    return f"(SELECT * FROM tickets WHERE id IN (SELECT id FROM temp.{TABLE})) {alias}"


def rebuilt(alias: str = "t") -> str:
    """A FROM item with the rebuilt rows (what a correction puts back)."""
    return f"temp.{TABLE} {alias}"


def as_of(
    ticket: dict, changes: list[tuple[str, str]], later_replies: int, until: datetime, business: BusinessSeconds | None
) -> tuple:
    """The stored `ticket` row as it stood at `until`, from its status events before `until`
    ((kind, stored at) in order) and the number of our messages on it since."""
    from carecli.records.tickets import elapsed_s, paused_before

    cut = to_db(until)
    status = STATUS_AFTER[changes[-1][0]] if changes else "open"
    closes = [at for kind, at in changes if kind == "closed"]
    created = from_db(ticket["created_at"])

    def before(column: str) -> str | None:
        value = ticket[column]
        return value if value is not None and value < cut else None

    closed_at = closes[-1] if status == "closed" and closes else None
    first_closed_at = before("first_closed_at")
    first_response_at = before("first_response_at")
    paused_s, pending_since = paused_before(changes, until)

    def duration(column: str, instant: str | None, stored: str | None) -> int | None:
        """A stored duration, kept where its instant did not change, else computed again."""
        if instant is None:
            return None
        if instant == stored and ticket[column] is not None:
            return ticket[column]
        end = from_db(instant)
        if column.endswith("_bs"):
            return business(created, end) if business else None
        return elapsed_s(created, end)

    fixed = {
        "status": status,
        "closed_at": closed_at,
        "first_closed_at": first_closed_at,
        "first_response_at": first_response_at,
        "first_contact_at": before("first_contact_at"),
        "reopen_count": sum(1 for kind, _ in changes if kind == "reopened"),
        "reply_count": max(0, ticket["reply_count"] - later_replies),
        "paused_s": paused_s,
        "pending_since": pending_since and to_db(pending_since),
    }
    for suffix in ("s", "bs"):
        fixed[f"resolution_{suffix}"] = duration(f"resolution_{suffix}", closed_at, ticket["closed_at"])
        fixed[f"first_resolution_{suffix}"] = duration(
            f"first_resolution_{suffix}", first_closed_at, ticket["first_closed_at"]
        )
        fixed[f"first_response_{suffix}"] = duration(
            f"first_response_{suffix}", first_response_at, ticket["first_response_at"]
        )
    if "paused_bs" in ticket:
        fixed["paused_bs"] = (
            ticket["paused_bs"]
            if paused_s == ticket["paused_s"]
            else (paused_before(changes, until, business)[0] if business else None)
        )
    return tuple(fixed.get(name, value) for name, value in ticket.items())
