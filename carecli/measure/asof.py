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

# Only tickets a period's ticket figures can read: created in it (first response, SLA) or closed
# in it (the closed set), so the work grows with the period, not with the time since its end.
_CHANGED_SQL = f"""
    SELECT t.id FROM tickets t WHERE t.created_at < :until AND t.id IN (
            SELECT id FROM tickets WHERE created_at >= :since AND created_at < :until
            UNION SELECT ticket_id FROM events WHERE kind = 'closed' AND at >= :since AND at < :until)
        AND (EXISTS (SELECT 1 FROM events e WHERE e.ticket_id = t.id AND e.at >= :until
                     AND e.kind IN ({", ".join(f"'{k}'" for k in _CHANGING_EVENTS)}))
             OR EXISTS (SELECT 1 FROM interactions i WHERE i.ticket_id = t.id AND i.direction = 'out'
                        AND i.at >= :until))
    ORDER BY t.id
"""

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
        ids.update(row[0] for row in conn.execute(_CHANGED_SQL, {"since": to_db(since), "until": to_db(until)}))
    if not ids:
        return 0
    conn.execute(f"CREATE TEMP TABLE {TABLE} AS SELECT * FROM tickets WHERE 0")
    names = [row[1] for row in conn.execute("PRAGMA table_info(tickets)")]
    rows = [as_of(conn, ticket_id, until, names, business) for ticket_id in sorted(ids)]
    marks = ", ".join("?" * len(names))
    conn.executemany(f"INSERT INTO temp.{TABLE} VALUES ({marks})", rows)
    conn.execute(f"CREATE UNIQUE INDEX temp.{TABLE}_id ON {TABLE}(id)")
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
    conn: sqlite3.Connection, ticket_id: int, until: datetime, names: list[str], business: BusinessSeconds | None
) -> tuple:
    """The ticket's row (columns `names`) as it stood at `until`."""
    from carecli.records.tickets import STATUS_EVENTS, elapsed_s, paused_before

    ticket = dict(zip(names, conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()))
    cut = to_db(until)
    marks = ", ".join("?" * len(STATUS_EVENTS))
    changes = conn.execute(
        f"SELECT kind, at FROM events WHERE ticket_id = ? AND kind IN ({marks}) AND at < ? ORDER BY at, id",
        (ticket_id, *STATUS_EVENTS, cut),
    ).fetchall()
    later_replies = conn.execute(
        "SELECT COUNT(*) FROM interactions WHERE ticket_id = ? AND direction = 'out' AND at >= ?", (ticket_id, cut)
    ).fetchone()[0]
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
    return tuple(fixed.get(name, ticket[name]) for name in names)
