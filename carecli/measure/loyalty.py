"""What orders say about loyalty: repeat and returning buyers, recovery after a bad score (the order
figures of `kpi`'s loyalty block, docs/metrics.md "Loyalty"), and silent buyers (`care suggest`,
customer health). All of it is SQL over `orders` and `order_lines`; windows are compared in whole
seconds (`clocks.wall_duration_sql`), so "within 90 days" is exact at the boundary.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, tzinfo
from typing import Any, Mapping

from carecli.core.config import Settings
from carecli.measure.clocks import wall_duration_sql
from carecli.text.clock import from_db, to_db

DAY = 86_400


def _pct(part: float | None, whole: float | None) -> float | None:
    return None if not whole or part is None else round(100.0 * part / whole, 2)


def _money(value: float | None) -> float:
    return round(value or 0.0, 2)


def _order_params(settings: Settings, since: str, until: str) -> dict:
    return {"since": since, "until": until, "repeat_s": settings["care.repeat_window_days"] * DAY}


# The period's buyers, each with their first order ever and whether they ordered again within the
# repeat window of it before :until. Starts from the period's orders (the ordered_at index), so a
# short period reads only its own orders plus an index seek per buyer. The first order is a column
# of the grouped subquery, so SQLite computes it once per buyer (a CTE without the GROUP BY would
# be flattened into the outer query and its subquery run once per reference), and the repeat count
# runs for first-time buyers only (AND stops at a false first operand).
_BUYERS_SQL = f"""
    WITH buyers AS (
        SELECT o.customer_id, sum(o.total) AS revenue,
               (SELECT min(e.ordered_at) FROM orders e WHERE e.customer_id = o.customer_id) AS first_at
        FROM orders o WHERE o.ordered_at >= :since AND o.ordered_at < :until GROUP BY o.customer_id
    )
    SELECT count(*) AS buyers,
           coalesce(sum(first_at < :since), 0) AS returning_buyers,
           sum(revenue) AS revenue,
           sum(CASE WHEN first_at < :since THEN revenue END) AS returning_revenue,
           coalesce(sum(first_at >= :since), 0) AS first_buyers,
           coalesce(sum(first_at >= :since AND (
               SELECT count(*) FROM orders o
               WHERE o.customer_id = b.customer_id AND o.ordered_at >= b.first_at AND o.ordered_at < :until
                 AND {wall_duration_sql("b.first_at", "o.ordered_at")} <= :repeat_s) >= 2), 0) AS repeat_buyers
    FROM buyers b
"""

# The same per product: a customer's orders holding a line of that product. CROSS JOIN keeps the
# customer's orders (orders_customer) the outer loop and reads their lines by order
# (order_lines_order): order_lines has no index by product, and needs none.
_BUYERS_BY_PRODUCT_SQL = f"""
    WITH bought AS (
        SELECT l.product, o.customer_id, sum(l.amount) AS revenue,
               (SELECT min(e.ordered_at) FROM orders e CROSS JOIN order_lines el ON el.order_id = e.id
                WHERE e.customer_id = o.customer_id AND el.product = l.product) AS first_at
        FROM orders o CROSS JOIN order_lines l ON l.order_id = o.id
        WHERE o.ordered_at >= :since AND o.ordered_at < :until GROUP BY 1, 2
    )
    SELECT product AS "group", count(*) AS buyers,
           coalesce(sum(first_at < :since), 0) AS returning_buyers,
           sum(revenue) AS revenue,
           sum(CASE WHEN first_at < :since THEN revenue END) AS returning_revenue,
           coalesce(sum(first_at >= :since), 0) AS first_buyers,
           coalesce(sum(first_at >= :since AND (
               SELECT count(DISTINCT o.id) FROM orders o CROSS JOIN order_lines l ON l.order_id = o.id
               WHERE o.customer_id = b.customer_id AND l.product = b.product
                 AND o.ordered_at >= b.first_at AND o.ordered_at < :until
                 AND {wall_duration_sql("b.first_at", "o.ordered_at")} <= :repeat_s) >= 2), 0) AS repeat_buyers
    FROM bought b GROUP BY product ORDER BY buyers DESC, product
"""


def _buyer_figures(row: sqlite3.Row) -> dict:
    return {
        "first_buyers": row["first_buyers"],
        "repeat_buyers": row["repeat_buyers"],
        "repeat_purchase_pct": _pct(row["repeat_buyers"], row["first_buyers"]),
        "buyers": row["buyers"],
        "returning_buyers": row["returning_buyers"],
        "returning_customer_pct": _pct(row["returning_buyers"], row["buyers"]),
        "revenue": _money(row["revenue"]),
        "returning_revenue": _money(row["returning_revenue"]),
        "returning_revenue_pct": _pct(row["returning_revenue"] or 0, row["revenue"]),
    }


# The figures `kpi --by product` gives for each product (docs/metrics.md), in _buyer_figures' order.
PRODUCT_FIGURES = (
    "first_buyers",
    "repeat_buyers",
    "repeat_purchase_pct",
    "buyers",
    "returning_buyers",
    "returning_customer_pct",
    "revenue",
    "returning_revenue",
    "returning_revenue_pct",
)


def buyer_figures(conn: sqlite3.Connection, settings: Settings, since: str, until: str) -> dict:
    """Repeat purchase, returning customers and their revenue over [since, until), as of until."""
    return _buyer_figures(conn.execute(_BUYERS_SQL, _order_params(settings, since, until)).fetchone())


def by_product(conn: sqlite3.Connection, settings: Settings, since: str, until: str) -> list[dict]:
    """The buyer figures per line-item product sold in the period, most buyers first."""
    return [
        {"group": row["group"], **_buyer_figures(row)}
        for row in conn.execute(_BUYERS_BY_PRODUCT_SQL, _order_params(settings, since, until))
    ]


def recovered_figures(conn: sqlite3.Connection, settings: Settings, since: str, until: str) -> dict:
    """Customers unhappy in the period (a CSAT or NPS at or below the recovery maxima, current at
    until) and, of them, those who ordered after such an answer, within the window and before until."""
    row = conn.execute(
        f"""
        WITH unhappy AS (
            SELECT s.customer_id, s.at FROM surveys s
            WHERE ((s.kind = 'csat' AND s.score <= :csat_max) OR (s.kind = 'nps' AND s.score <= :nps_max))
              AND s.at >= :since AND s.at < :until AND (s.superseded_at IS NULL OR s.superseded_at >= :until)
        )
        SELECT count(DISTINCT customer_id),
               count(DISTINCT CASE WHEN EXISTS (
                   SELECT 1 FROM orders o WHERE o.customer_id = u.customer_id AND o.ordered_at > u.at
                     AND o.ordered_at < :until AND {wall_duration_sql("u.at", "o.ordered_at")} <= :window_s)
                   THEN customer_id END)
        FROM unhappy u""",
        {
            "since": since,
            "until": until,
            "csat_max": settings["care.recovery_csat_max"],
            "nps_max": settings["care.recovery_nps_max"],
            "window_s": settings["care.recovered_window_days"] * DAY,
        },
    ).fetchone()
    unhappy, recovered = row
    return {"unhappy_customers": unhappy, "recovered_customers": recovered, "recovered_pct": _pct(recovered, unhappy)}


# ---------------------------------------------------------------- silent buyers

# Each customer's gaps between orders up to :now (days), orders less than a day after the one
# before being the same purchase (a forgotten item), and the median of those gaps: the middle one,
# or the mean of the two middle ones. A silent buyer has at least two gaps (three purchases: one
# gap is no habit), is not lost, and their last order is more than :factor median gaps before :now.
_SILENT_BUYERS_SQL = f"""
    WITH spaced AS (
        SELECT customer_id,
               {wall_duration_sql("lag(ordered_at) OVER (PARTITION BY customer_id ORDER BY ordered_at, id)", "ordered_at")}
                   / {float(DAY)} AS gap
        FROM orders WHERE ordered_at <= :now {{only}}
    ), gaps AS (
        SELECT customer_id, gap,
               row_number() OVER (PARTITION BY customer_id ORDER BY gap) AS k,
               count(*) OVER (PARTITION BY customer_id) AS n
        FROM spaced WHERE gap >= 1
    ), usual AS (
        SELECT customer_id, avg(gap) AS median_gap_days,
               (SELECT max(o.ordered_at) FROM orders o WHERE o.customer_id = gaps.customer_id AND o.ordered_at <= :now)
                   AS last_order_at
        FROM gaps WHERE n >= 2 AND k IN ((n + 1) / 2, (n + 2) / 2) GROUP BY customer_id
    ), silent_buyers AS (
        SELECT u.customer_id, u.median_gap_days, u.last_order_at,
               {wall_duration_sql("u.last_order_at", ":now")} / {float(DAY)} AS days_since
        FROM usual u JOIN customers c ON c.id = u.customer_id
        WHERE c.lost_at IS NULL AND {wall_duration_sql("u.last_order_at", ":now")} > :factor * u.median_gap_days * {DAY}
    )"""


def silent_buyers_sql(customer_id: bool = False) -> str:
    """`WITH ... silent_buyers AS (customer_id, median_gap_days, last_order_at, days_since)`, to
    be followed by a SELECT; binds :now and :factor (and :customer_id when `customer_id`)."""
    return _SILENT_BUYERS_SQL.format(only="AND customer_id = :customer_id" if customer_id else "")


def silent_buyer_params(settings: Settings, now: datetime) -> dict:
    return {"now": to_db(now), "factor": settings["care.silent_buyer_factor"]}


def silent_buyers(
    conn: sqlite3.Connection, settings: Settings, *, now: datetime, customer_id: int | None = None
) -> list[dict]:
    """Silent buyers as of `now` (of one customer, when given), oldest last order first."""
    sql = (
        f"{silent_buyers_sql(customer_id is not None)} SELECT * FROM silent_buyers ORDER BY last_order_at, customer_id"
    )
    params = {**silent_buyer_params(settings, now), "customer_id": customer_id}
    return [dict(row) for row in conn.execute(sql, params)]


def _span(days: float) -> str:
    """`5 weeks` from two weeks on, `9 days` below: how people say how often someone orders."""
    if days >= 14:
        weeks = round(days / 7)
        return f"{weeks} weeks"
    whole = max(1, round(days))
    return f"{whole} day{'' if whole == 1 else 's'}"


def silent_buyer_evidence(buyer: Mapping[str, Any] | sqlite3.Row, tz: tzinfo) -> str:
    """`usually orders every 5 weeks; last order 11 weeks ago, on 2025-12-20`: the span as counted
    when the evidence was found, and the absolute day, since the text is read later as a note."""
    day = from_db(buyer["last_order_at"]).astimezone(tz).date().isoformat()
    return (
        f"usually orders every {_span(buyer['median_gap_days'])}; last order {_span(buyer['days_since'])} ago, on {day}"
    )
