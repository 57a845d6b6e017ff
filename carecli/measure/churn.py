"""Customers lost in a period, by the reason recorded."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from carecli.text.clock import to_db


def churn_by_reason(conn: sqlite3.Connection, *, since: datetime, until: datetime) -> list[dict]:
    """Customers lost in [since, until), counted by reason, most frequent first; `won_back` counts
    those of them won back since (by now)."""
    rows = conn.execute(
        """
        SELECT json_extract(e.detail, '$.reason') AS reason,
               count(*) AS lost,
               sum(EXISTS (SELECT 1 FROM events w WHERE w.customer_id = e.customer_id
                                                  AND w.kind = 'won-back' AND w.at >= e.at)) AS won_back
        FROM events e
        WHERE e.kind = 'lost' AND e.at >= ? AND e.at < ?
        GROUP BY reason
        ORDER BY lost DESC, reason
        """,
        (to_db(since), to_db(until)),
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
