"""Daily, weekly and monthly reports: the period's figures against the previous period, plus the
current state (backlog by age, SLA breaches, overdue follow-ups) and today's agenda."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta

from carecli.core.config import Settings
from carecli.core.errors import InvalidInput
from carecli.measure import metrics, periods
from carecli.measure.agenda import build_agenda
from carecli.text.clock import to_db

UNITS = {"daily": "day", "weekly": "week", "monthly": "month"}
# Headline figures compared with the previous period: (dotted key, lower is better).
HEADLINE = [
    ("tickets.opened", None),
    ("tickets.closed", None),
    ("tickets.backlog", True),
    ("first_response_s.median", True),
    ("resolution_s.median", True),
    ("fcr_pct", False),
    ("reopen_pct", True),
    ("csat.mean", False),
    ("nps.score", False),
    ("followups.on_time_pct", False),
    ("proactive_pct", None),
    ("sla.breach_pct", True),
]
AGE_BUCKETS = ("<1d", "1-3d", "3-7d", ">7d")


def default_day(kind: str, now: datetime, tz) -> date:
    """A day inside the last complete period: yesterday, last week, last month."""
    today = now.astimezone(tz).date()
    return periods.bucket_start(today, UNITS[kind]) - timedelta(days=1)


def _get(record: dict, dotted: str):
    for part in dotted.split("."):
        record = record[part]
    return record


def build_report(conn: sqlite3.Connection, settings: Settings, kind: str, *, day: date, now: datetime) -> dict:
    tz, unit = settings.tz, UNITS[kind]
    period = periods.calendar_period(day, unit, tz)
    if period.since >= now:
        raise InvalidInput(f"the {unit} of {day.isoformat()} has not started yet", "pick a --date up to today")
    period = periods.Period(period.since, min(period.until, now), period.label)
    previous = periods.calendar_period(period.since.astimezone(tz).date() - timedelta(days=1), unit, tz)
    figures = metrics.compute(conn, settings, period, now=now)
    before = metrics.compute(conn, settings, previous, now=now)
    changes = []
    for key, lower_is_better in HEADLINE:
        value, was = _get(figures, key), _get(before, key)
        change = None if value is None or was is None else round(value - was, 2)
        changes.append(
            {
                "figure": key,
                "value": value,
                "previous": was,
                "change": change,
                "better": None if not change or lower_is_better is None else (change < 0) == lower_is_better,
            }
        )
    today = now.astimezone(tz).date()
    agenda = build_agenda(conn, settings, day=today, now=now)  # its SLA list is the report's too
    return {
        "report": kind,
        "period": {
            "label": period.label,
            "since": to_db(period.since),
            "until": to_db(period.until),
            "previous_since": to_db(previous.since),
            "previous_until": to_db(previous.until),
        },
        "figures": figures,
        "changes": changes,
        "backlog": backlog_by_age(conn, now=now),
        "sla_breaches": agenda["sla_breaching"],
        "followups_done": followups_done(conn, period),
        "followups_overdue": followups_overdue(conn, settings, now=now),
        "agenda": agenda,
    }


def backlog_by_age(conn: sqlite3.Connection, *, now: datetime) -> dict:
    """Open and pending tickets now, by age since they were opened."""
    from carecli.measure.clocks import EPOCH_SQL

    age = f"{EPOCH_SQL.format(':now')} - {EPOCH_SQL.format('created_at')}"
    row = conn.execute(
        f"""
        SELECT COUNT(*), SUM(age < 86400), SUM(age >= 86400 AND age < 3 * 86400),
               SUM(age >= 3 * 86400 AND age < 7 * 86400), SUM(age >= 7 * 86400)
        FROM (SELECT {age} AS age FROM tickets WHERE status IN ('open', 'pending'))
        """,
        {"now": to_db(now)},
    ).fetchone()
    return {"total": row[0], "by_age": {name: row[i + 1] or 0 for i, name in enumerate(AGE_BUCKETS)}}


_FOLLOWUP_FIELDS = """f.id, f.kind, f.note, f.customer_id, c.name AS customer_name, f.ticket_id, f.due_at,
                      f.completed_at, f.outcome"""


def followups_done(conn: sqlite3.Connection, period: periods.Period) -> list[dict]:
    rows = conn.execute(
        f"""SELECT {_FOLLOWUP_FIELDS} FROM followups f JOIN customers c ON c.id = f.customer_id
            WHERE f.status = 'done' AND f.completed_at >= ? AND f.completed_at < ? ORDER BY f.completed_at, f.id""",
        (to_db(period.since), to_db(period.until)),
    )
    return [dict(row) for row in rows]


def followups_overdue(conn: sqlite3.Connection, settings: Settings, *, now: datetime) -> list[dict]:
    """Still scheduled and due before today (the configured zone's today)."""
    start_of_today = metrics.local_day_bounds(now.astimezone(settings.tz).date(), settings.tz)[0]
    rows = conn.execute(
        f"""SELECT {_FOLLOWUP_FIELDS} FROM followups f JOIN customers c ON c.id = f.customer_id
            WHERE f.status = 'scheduled' AND f.due_at < ? ORDER BY f.due_at, f.id""",
        (to_db(start_of_today),),
    )
    return [dict(row) for row in rows]


TREND_PERIODS = 8


def history(conn: sqlite3.Connection, settings: Settings, report: dict, *, now: datetime) -> dict:
    """What the HTML report draws, from the same KPI engine as the report's figures: tickets opened
    and solved per day of the period, and the medians and scores of the last TREND_PERIODS periods."""
    from carecli.text.clock import from_db

    tz, unit = settings.tz, UNITS[report["report"]]
    since, until = from_db(report["period"]["since"]), from_db(report["period"]["until"])
    days = metrics.compute(conn, settings, periods.Period(since, until), now=now, by="day")
    first = since.astimezone(tz).date()
    for _ in range(TREND_PERIODS - 1):
        first = periods.calendar_period(first - timedelta(days=1), unit, tz).since.astimezone(tz).date()
    start = periods.calendar_period(first, unit, tz).since
    trend = metrics.compute(conn, settings, periods.Period(start, until), now=now, by=unit)
    return {
        "days": [
            {"label": d["group"], "opened": d["tickets"]["opened"], "solved": d["tickets"]["closed"]} for d in days
        ],
        "periods": [
            {
                "label": p["group"],
                "first_response_median_s": p["first_response_s"]["median"],
                "resolution_median_s": p["resolution_s"]["median"],
                "csat_mean": p["csat"]["mean"],
                "nps_score": p["nps"]["score"],
            }
            for p in trend
        ],
    }
