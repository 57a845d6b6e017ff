"""Customer health: a 0-100 score per customer that explains itself factor by factor.

Every customer starts at 100 and loses points for what we know went wrong (docs/metrics.md,
"Customer health", is this module in words). The inputs are counted in SQL, one row per customer;
the points are a small table of rules below, so each line of the explanation is one rule.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import datetime
from typing import Any, Callable, Mapping, NamedTuple

from carecli.core.config import Settings
from carecli.measure import loyalty
from carecli.measure.sla import breaching_tickets
from carecli.records.tickets import STATUS_EVENTS
from carecli.text.clock import from_db, local_day_bounds, to_db

START = 100


class Factor(NamedTuple):
    name: str
    points: Callable[[Mapping[str, Any]], int]  # 0 or negative
    detail: Callable[[Mapping[str, Any]], str]


def _by_score(table: dict[int, int], column: str) -> Callable[[Mapping[str, Any]], int]:
    return lambda row: 0 if row[column] is None else table.get(row[column], 0)


def _per_item(column: str, each: int, cap: int) -> Callable[[Mapping[str, Any]], int]:
    return lambda row: max(row[column] * each, cap)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


CSAT_POINTS = {1: -30, 2: -20, 3: -10}
CES_POINTS = {1: -15, 2: -10, 3: -5}
NPS_POINTS = {**dict.fromkeys(range(0, 7), -20), 7: -5, 8: -5}
SILENT_POINTS = -15
SILENT_BUYER_POINTS = -10

FACTORS = (
    Factor("csat", _by_score(CSAT_POINTS, "csat"), lambda r: f"latest CSAT {r['csat']} (of 5)"),
    Factor("ces", _by_score(CES_POINTS, "ces"), lambda r: f"latest CES {r['ces']} (of 7)"),
    Factor(
        "nps",
        _by_score(NPS_POINTS, "nps"),
        lambda r: f"latest NPS {r['nps']} ({'detractor' if r['nps'] <= 6 else 'passive'})",
    ),
    Factor(
        "open_tickets",
        _per_item("active_tickets", -5, -15),
        lambda r: f"{_plural(r['active_tickets'], 'open or pending ticket')}",
    ),
    Factor(
        "stale_tickets",
        _per_item("stale_tickets", -10, -20),
        lambda r: f"{_plural(r['stale_tickets'], 'ticket')} waiting on us too long",
    ),
    Factor(
        "reopened_tickets",
        _per_item("reopened_tickets", -5, -15),
        lambda r: f"{_plural(r['reopened_tickets'], 'ticket')} reopened recently",
    ),
    Factor(
        "overdue_followups",
        _per_item("overdue_followups", -10, -20),
        lambda r: f"{_plural(r['overdue_followups'], 'overdue follow-up')}",
    ),
    Factor(
        "sla_breaches",
        _per_item("sla_breaches", -10, -20),
        lambda r: f"{_plural(r['sla_breaches'], 'ticket')} past an SLA deadline",
    ),
    Factor(
        "silent",
        lambda r: SILENT_POINTS if r["silent"] else 0,
        lambda r: f"no contact since {r['last_contact_at'][:10]}",
    ),
    # `silent_buyer` is the evidence text (measure/loyalty.py) for a silent buyer, else None.
    Factor(
        "silent_buyer",
        lambda r: SILENT_BUYER_POINTS if r.get("silent_buyer") else 0,
        lambda r: r["silent_buyer"],
    ),
)

# When open ticket `t` last moved: its latest message in or out (notes are not seen by the
# customer) or status change. (Two-argument max() is NULL if either is NULL; a ticket has at
# least its 'opened' event, and its creation time when another tool wrote no events.)
LAST_ACTIVITY_SQL = f"""max(
    coalesce((SELECT max(i.at) FROM interactions i WHERE i.ticket_id = t.id AND i.direction IN ('in', 'out')), ''),
    coalesce((SELECT max(e.at) FROM events e WHERE e.ticket_id = t.id AND e.voided_by IS NULL
        AND e.kind IN ({", ".join(f"'{kind}'" for kind in STATUS_EVENTS)})), ''),
    t.created_at)"""

_INPUTS = f"""
    SELECT c.id AS customer_id, c.name AS customer_name, c.lost_at, c.lost_reason,
        (SELECT s.score FROM surveys s WHERE s.customer_id = c.id AND s.kind = 'csat' AND s.superseded_at IS NULL
            AND s.at >= :since AND s.at <= :now ORDER BY s.at DESC, s.id DESC LIMIT 1) AS csat,
        (SELECT s.score FROM surveys s WHERE s.customer_id = c.id AND s.kind = 'ces' AND s.superseded_at IS NULL
            AND s.at >= :since AND s.at <= :now ORDER BY s.at DESC, s.id DESC LIMIT 1) AS ces,
        (SELECT s.score FROM surveys s WHERE s.customer_id = c.id AND s.kind = 'nps' AND s.superseded_at IS NULL
            AND s.at >= :since AND s.at <= :now ORDER BY s.at DESC, s.id DESC LIMIT 1) AS nps,
        (SELECT count(*) FROM tickets t WHERE t.customer_id = c.id AND t.status != 'closed') AS active_tickets,
        (SELECT count(*) FROM tickets t WHERE t.customer_id = c.id AND t.status = 'open'
            AND {LAST_ACTIVITY_SQL} < :stale_before) AS stale_tickets,
        (SELECT count(DISTINCT e.ticket_id) FROM events e WHERE e.customer_id = c.id AND e.kind = 'reopened'
            AND e.at >= :since AND e.at <= :now AND e.voided_by IS NULL) AS reopened_tickets,
        (SELECT count(*) FROM followups f WHERE f.customer_id = c.id AND f.status = 'scheduled'
            AND f.due_at < :today_start) AS overdue_followups,
        coalesce((SELECT max(i.at) FROM interactions i WHERE i.customer_id = c.id AND i.direction != 'note'),
                 c.created_at) AS last_contact_at
    FROM customers c
"""


def health(
    conn: sqlite3.Connection,
    settings: Settings,
    *,
    now: datetime,
    customer_id: int | None = None,
) -> list[dict]:
    """Health of one customer, or of every customer not lost, worst first."""
    tz = settings.tz
    params = {
        "now": to_db(now),
        "since": to_db(now - settings.duration("care.health_window")),
        "stale_before": to_db(now - settings.duration("care.health_stale_ticket_after")),
        "today_start": to_db(local_day_bounds(now.astimezone(tz).date(), tz)[0]),
        "customer_id": customer_id,
    }
    where = "WHERE c.id = :customer_id" if customer_id is not None else "WHERE c.lost_at IS NULL"
    silent_before = now - settings.duration("care.silent_after")
    breaches = Counter(t["customer_id"] for t in breaching_tickets(conn, settings, now=now) if t["state"] == "breached")
    silent_buyers = {
        buyer["customer_id"]: loyalty.silent_buyer_evidence(buyer, tz)
        for buyer in loyalty.silent_buyers(conn, settings, now=now, customer_id=customer_id)
    }
    results = []
    for row in conn.execute(f"{_INPUTS} {where}", params):
        inputs = dict(row)
        inputs["silent"] = from_db(row["last_contact_at"]) < silent_before
        inputs["sla_breaches"] = breaches[row["customer_id"]]
        inputs["silent_buyer"] = silent_buyers.get(row["customer_id"])
        results.append(score(inputs))
    results.sort(key=lambda item: (item["score"], item["customer_name"].lower(), item["customer_id"]))
    return results


def score(inputs: dict) -> dict:
    """Apply the factor table to one customer's inputs: the score and the factors that moved it."""
    factors: list[dict[str, Any]]
    if inputs["lost_at"] is not None:
        factors = [
            {
                "factor": "lost",
                "points": -START,
                "detail": f"lost on {inputs['lost_at'][:10]} ({inputs['lost_reason']})",
            }
        ]
    else:
        factors = [
            {"factor": factor.name, "points": points, "detail": factor.detail(inputs)}
            for factor in FACTORS
            if (points := factor.points(inputs))
        ]
    return {
        "customer_id": inputs["customer_id"],
        "customer_name": inputs["customer_name"],
        "score": max(0, START + sum(f["points"] for f in factors)),
        "factors": factors,
        "last_contact_at": inputs["last_contact_at"],
    }
