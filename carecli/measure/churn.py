"""Customers lost in a period, by the reason recorded, and the lost/won-back history the KPI
engine's retention figures read."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from carecli.text.clock import to_db

# A customer's lost/won-back history, one row per mark (customer_id, kind, at, id, reason): the
# `lost` and `won-back` events, or customers.lost_at (with lost_reason) when no `lost` event
# records the loss. A customer is lost at an instant when their latest mark before it is `lost`.
MARKS_SQL = """
    marks AS (
        SELECT customer_id, kind, at, id, json_extract(detail, '$.reason') AS reason
        FROM events WHERE kind IN ('lost', 'won-back') AND voided_by IS NULL
        UNION ALL
        SELECT c.id, 'lost', c.lost_at, 0, c.lost_reason FROM customers c
        WHERE c.lost_at IS NOT NULL
          -- not correlated: a customer's events are many, the losses few (0.19 s -> 0.01 s of 1M tickets)
          AND c.id NOT IN (SELECT customer_id FROM events WHERE kind = 'lost' AND voided_by IS NULL)
    )
"""


def lost_at_sql(name: str, instant: str) -> str:
    """A CTE `name` of the customers lost at `instant` (a bound parameter such as :since)."""
    return f"""
    {name} AS (
        SELECT customer_id FROM (
            SELECT customer_id, kind,
                   ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY at DESC, id DESC) AS rn
            FROM marks WHERE at < {instant})
        WHERE rn = 1 AND kind = 'lost'
    )
"""


def churn_by_reason(conn: sqlite3.Connection, *, since: datetime, until: datetime) -> list[dict]:
    """Customers lost in [since, until), each counted once under the reason of their latest loss in
    the period, most frequent first; `won_back` counts those of them won back after that loss and
    before `until`."""
    rows = conn.execute(
        f"""
        WITH {MARKS_SQL},
        latest_loss AS (
            SELECT customer_id, reason, at, id FROM (
                SELECT customer_id, reason, at, id,
                       ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY at DESC, id DESC) AS rn
                FROM marks WHERE kind = 'lost' AND at >= :since AND at < :until)
            WHERE rn = 1
        )
        SELECT l.reason,
               count(*) AS lost,
               sum(EXISTS (SELECT 1 FROM marks w WHERE w.customer_id = l.customer_id AND w.kind = 'won-back'
                                                   AND (w.at > l.at OR (w.at = l.at AND w.id > l.id))
                                                   AND w.at < :until)) AS won_back
        FROM latest_loss l
        GROUP BY l.reason
        ORDER BY lost DESC, l.reason
        """,
        {"since": to_db(since), "until": to_db(until)},
    ).fetchall()
    total = sum(row["lost"] for row in rows)
    return [
        {
            "reason": row["reason"],
            "lost": row["lost"],
            "won_back": row["won_back"],
            "share_pct": round(row["lost"] * 100 / total, 2),
        }
        for row in rows
    ]
