"""Today's agenda: follow-ups due and overdue, tickets waiting on us and on the customer."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime

from carecli.config import Settings
from carecli.timeparse import local_day_bounds, to_db


def build_agenda(conn: sqlite3.Connection, settings: Settings, *, day: date, now: datetime) -> dict:
    start, end = (to_db(moment) for moment in local_day_bounds(day, settings.tz))
    followups = """
        SELECT f.id, f.kind, f.note, f.customer_id, c.name AS customer_name, f.ticket_id, f.due_at, f.all_day
        FROM followups f JOIN customers c ON c.id = f.customer_id
        WHERE f.status = 'scheduled' AND {where} ORDER BY f.due_at, f.id"""
    tickets = """
        SELECT t.id, t.subject, t.priority, t.customer_id, c.name AS customer_name, t.created_at, t.updated_at
        FROM tickets t JOIN customers c ON c.id = t.customer_id
        WHERE t.status = ? ORDER BY t.created_at, t.id"""

    def rows(sql: str, params) -> list[dict]:
        return [dict(row) for row in conn.execute(sql, params)]

    return {
        "date": day.isoformat(),
        "followups_due": rows(followups.format(where="f.due_at >= ? AND f.due_at < ?"), (start, end)),
        "followups_overdue": rows(followups.format(where="f.due_at < ?"), (start,)),
        "waiting_on_us": rows(tickets, ("open",)),
        "waiting_on_customer": rows(tickets, ("pending",)),
    }
