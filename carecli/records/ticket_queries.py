"""Reading tickets: filtered listings in urgency order, and one ticket's timeline.

The writes are in records/tickets.py; this module only reads.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, tzinfo

from carecli.core import store
from carecli.core.config import Settings
from carecli.records.customers import normalize_tags
from carecli.records.tickets import ACTIVE, STATUSES, TICKET_FIELDS
from carecli.text.clock import format_local, to_db


@dataclass
class TicketFilter:
    statuses: tuple[str, ...] = ACTIVE
    customer_id: int | None = None
    channel: str | None = None
    category: str | None = None
    priority: str | None = None
    tag: str | None = None
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before


def priority_rank_sql(settings: Settings, column: str = "t.priority") -> str:
    """A SQL expression ranking priorities, most urgent highest (config lists least urgent first).

    The priority names are bound, never pasted: run it with `priority_params(settings)`."""
    cases = " ".join(f"WHEN :priority_{rank} THEN {rank}" for rank in range(len(settings["priorities"])))
    return f"CASE {column} {cases} ELSE -1 END"


def priority_params(settings: Settings) -> dict[str, str]:
    """The named parameters of `priority_rank_sql`."""
    return {f"priority_{rank}": name for rank, name in enumerate(settings["priorities"])}


def list_tickets(
    conn: sqlite3.Connection,
    settings: Settings,
    filters: TicketFilter,
    *,
    limit: int | None = None,
) -> sqlite3.Cursor:
    """Tickets matching the filter: open work most urgent and oldest first; a listing with closed
    tickets in it (`--status all`) newest first, as people look back through history. Each filter has an index."""
    where: list[str] = []
    params: dict = priority_params(settings)
    if set(filters.statuses) != set(STATUSES):
        where.append(f"t.status IN ({', '.join(f':status_{i}' for i in range(len(filters.statuses)))})")
        params.update({f"status_{i}": status for i, status in enumerate(filters.statuses)})
    for column in ("customer_id", "channel", "category", "priority"):
        value = getattr(filters, column)
        if value is not None:
            where.append(f"t.{column} = :{column}")
            params[column] = value
    if filters.tag:
        where.append("(',' || t.tags || ',') LIKE :tag ESCAPE '\\'")
        params["tag"] = store.containing(f",{normalize_tags([filters.tag])},")
    if filters.since is not None:
        where.append("t.created_at >= :since")
        params["since"] = to_db(filters.since)
    if filters.until is not None:
        where.append("t.created_at < :until")
        params["until"] = to_db(filters.until)
    order = (
        "t.created_at DESC, t.id DESC"
        if "closed" in filters.statuses
        else f"{priority_rank_sql(settings)} DESC, t.created_at, t.id"
    )
    sql = f"""
        SELECT {TICKET_FIELDS}
        FROM tickets t JOIN customers c ON c.id = t.customer_id
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY {order}
    """
    if limit:
        sql += " LIMIT :limit"
        params["limit"] = limit
    return conn.execute(sql, params)


def ticket_timeline(conn: sqlite3.Connection, ticket_id: int, tz: tzinfo) -> list[dict]:
    """Messages, notes and status changes of one ticket, oldest first; a change says what its
    event's detail records (see `event_text`)."""
    rows = conn.execute(
        """
        SELECT at, direction AS kind, channel, body, NULL AS detail, 1 AS step, id FROM interactions WHERE ticket_id = ?
        UNION ALL
        -- at the same second, 'opened' comes before the first message, other changes after
        SELECT at, 'event' AS kind, NULL, kind, detail, CASE kind WHEN 'opened' THEN 0 ELSE 2 END, id
        FROM events WHERE ticket_id = ? AND voided_by IS NULL
        ORDER BY at, step, id
        """,
        (ticket_id, ticket_id),
    )
    return [
        {
            "id": row["id"] if row["step"] == 1 else None,  # an interaction's id, for `interaction move/edit`
            "at": row["at"],
            "kind": row["kind"],
            "channel": row["channel"],
            "body": event_text(row["body"], row["detail"], tz) if row["kind"] == "event" else row["body"],
        }
        for row in rows
    ]


# The events that record a correction (issue 13); their detail names the records involved.
CORRECTIONS = ("undone", "deleted", "restored", "merged", "moved", "edited")

_STORED_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


def event_text(kind: str, detail: str | None, tz: tzinfo) -> str:
    """An event as a line of the timeline: its kind, then what its detail records, e.g.
    `priority: normal → high`, `reopened: still leaking`, `corrected: created_at 2026-03-01 09:00 →
    2026-03-01 08:00` (stored times shown in `tz`)."""
    if not detail:
        return kind
    data = json.loads(detail)
    if kind == "care":  # `care run`: the rule's name and what it did, in words
        return f"care rule {data.get('rule', '?')}: {data.get('what') or data.get('action', '')}"

    def shown(value) -> str:
        return format_local(value, tz) if isinstance(value, str) and _STORED_TIME.fullmatch(value) else str(value)

    def is_change(value) -> bool:
        return isinstance(value, dict) and set(value) == {"from", "to"}

    if is_change(data):
        parts = [f"{shown(data['from'])} → {shown(data['to'])}"]
    elif kind in CORRECTIONS:  # "deleted: duplicate; trash 3": the ids say which
        parts = [
            shown(value) if key in ("reason", "command") else f"{key} {shown(value)}"
            for key, value in data.items()
            if value not in (None, "")
        ]
    else:
        parts = [
            f"{key} {shown(value['from'])} → {shown(value['to'])}" if is_change(value) else shown(value)
            for key, value in data.items()
            if value not in (None, "")
        ]
    return f"{kind}: {'; '.join(parts)}" if parts else kind
