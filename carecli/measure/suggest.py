"""`care suggest`: the follow-ups the data calls for (recovery, repeat contact, silent customers, silent
buyers, thanks, win-back), with their evidence. The rules are listed in docs/metrics.md ("Care suggestions")."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from carecli.core.config import Settings
from carecli.measure import loyalty
from carecli.records import followups
from carecli.text.clock import from_db, local_day_bounds, to_db


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str  # the kind of follow-up it proposes


RULES = (
    Rule("recovery", "recovery"),
    Rule("repeat-contact", "check-in"),
    Rule("silent", "check-in"),
    Rule("silent-buyer", "check-in"),
    Rule("thank-you", "thank-you"),
    Rule("win-back", "win-back"),
)

# Customers lost over price are not offered a win-back: a call cannot change the price.
WIN_BACK_EXCLUDED_REASON = "price"


_RULE_KIND = {rule.name: rule.kind for rule in RULES}


# Every rule but win-back proposes nothing for a lost customer (customers.lost_at set): they are
# not being served, so a recovery or check-in would be about a relationship that has ended.
# A customer is already covered for a rule when they have a follow-up of the rule's kind that is
# still scheduled, or that was made (done or skipped too) at or after the rule's evidence: the
# evidence has been acted on. `:kind` and `:evidence_at` are bound per rule.
_NOT_COVERED = """
    NOT EXISTS (SELECT 1 FROM followups f
                WHERE f.customer_id = c.id AND f.kind = :kind
                  AND (f.status = 'scheduled' OR f.created_at >= {evidence_at}))
"""


def _span(settings: Settings, key: str) -> timedelta:
    return settings.duration(key) or timedelta(0)


def suggest(
    conn: sqlite3.Connection, settings: Settings, *, now: datetime, only: tuple[str, ...] | None = None
) -> list[dict]:
    """Proposed follow-ups, one per customer and rule (of `only` those rules, when given), each with
    its evidence; nothing is written."""
    params = {
        "now": to_db(now),
        "survey_since": to_db(now - _span(settings, "care.survey_window")),
        "repeat_since": to_db(now - _span(settings, "care.repeat_contact_window")),
        "silent_before": to_db(now - _span(settings, "care.silent_after")),
        "thanks_since": to_db(now - _span(settings, "care.thank_you_quiet")),
        "csat_max": settings["care.recovery_csat_max"],
        "ces_max": settings["care.recovery_ces_max"],
        "nps_max": settings["care.recovery_nps_max"],
        "nps_min": settings["care.thank_you_nps_min"],
        "repeat_min": settings["care.repeat_contact_tickets"],
        "win_back_excluded": WIN_BACK_EXCLUDED_REASON,
        **loyalty.silent_buyer_params(settings, now),
    }
    win_back_within = settings.duration("care.win_back_within")
    finders = {
        "recovery": _recovery,
        "repeat-contact": _repeat_contact,
        "silent": _silent,
        "silent-buyer": _silent_buyer,
        "thank-you": _thank_you,
        "win-back": (lambda conn, params: _win_back(conn, {**params, "win_back_since": to_db(now - win_back_within)}))
        if win_back_within
        else (lambda conn, params: []),
    }
    found = [row for name, finder in finders.items() if only is None or name in only for row in finder(conn, params)]
    tz = settings.tz
    due = local_day_bounds(now.astimezone(tz).date(), tz)[0]
    return [
        {
            "rule": row["rule"],
            "customer_id": row["customer_id"],
            "customer_name": row["customer_name"],
            "kind": _RULE_KIND[row["rule"]],
            "due_at": to_db(due),
            "ticket_id": row["ticket_id"],
            "evidence": _evidence(row, tz),
            "evidence_at": row["evidence_at"],
            "score": row["score"],
            "days": row["days"],
        }
        for row in found
    ]


def _query(conn: sqlite3.Connection, sql: str, params: dict, kind: str) -> list[sqlite3.Row]:
    return conn.execute(sql, {**params, "kind": kind}).fetchall()


def _recovery(conn, params) -> list[sqlite3.Row]:
    """The customer's worst recent score among CSAT <= csat_max, CES <= ces_max, NPS <= nps_max."""
    sql = f"""
        WITH bad AS (
            SELECT s.*, row_number() OVER (
                       PARTITION BY s.customer_id
                       ORDER BY CASE s.kind WHEN 'nps' THEN s.score / 10.0 WHEN 'csat' THEN (s.score - 1) / 4.0
                                ELSE (s.score - 1) / 6.0 END, s.at DESC) AS worst
            FROM surveys s
            WHERE s.at >= :survey_since AND s.at <= :now AND s.superseded_at IS NULL
              AND ((s.kind = 'csat' AND s.score <= :csat_max) OR (s.kind = 'ces' AND s.score <= :ces_max)
                   OR (s.kind = 'nps' AND s.score <= :nps_max))
        )
        SELECT 'recovery' AS rule, c.id AS customer_id, c.name AS customer_name, b.ticket_id, b.kind AS survey,
               b.score, b.at AS evidence_at, NULL AS days, NULL AS tickets
        FROM bad b JOIN customers c ON c.id = b.customer_id
        WHERE b.worst = 1 AND c.lost_at IS NULL
          AND {_NOT_COVERED.format(evidence_at="b.at")}
        ORDER BY c.id
    """
    return _query(conn, sql, params, "recovery")


def _repeat_contact(conn, params) -> list[sqlite3.Row]:
    sql = f"""
        WITH recent AS (
            SELECT customer_id, count(*) AS n, min(created_at) AS first_at, max(created_at) AS last_at,
                   group_concat('#' || id, ', ') AS tickets
            FROM (SELECT id, customer_id, created_at FROM tickets
                  WHERE created_at >= :repeat_since AND created_at <= :now ORDER BY created_at)
            GROUP BY customer_id HAVING count(*) >= :repeat_min
        )
        SELECT 'repeat-contact' AS rule, c.id AS customer_id, c.name AS customer_name, NULL AS ticket_id,
               NULL AS survey, r.n AS score, r.last_at AS evidence_at, NULL AS days, r.tickets, r.first_at
        FROM recent r JOIN customers c ON c.id = r.customer_id
        WHERE c.lost_at IS NULL AND {_NOT_COVERED.format(evidence_at="r.last_at")}
        ORDER BY c.id
    """
    return _query(conn, sql, params, "check-in")


def _silent(conn, params) -> list[sqlite3.Row]:
    """No message in or out (notes do not count) since silent_before; a customer never contacted
    counts from when they were added."""
    sql = f"""
        WITH last AS (
            SELECT c.id, c.name, coalesce(
                       (SELECT max(i.at) FROM interactions i WHERE i.customer_id = c.id AND i.direction != 'note'),
                       c.created_at) AS last_at
            FROM customers c WHERE c.lost_at IS NULL
        )
        SELECT 'silent' AS rule, l.id AS customer_id, l.name AS customer_name, NULL AS ticket_id, NULL AS survey,
               NULL AS score, l.last_at AS evidence_at,
               CAST((julianday(:now) - julianday(l.last_at)) AS INTEGER) AS days, NULL AS tickets
        FROM last l JOIN customers c ON c.id = l.id
        WHERE l.last_at < :silent_before AND {_NOT_COVERED.format(evidence_at="l.last_at")}
        ORDER BY l.last_at, c.id
    """
    return _query(conn, sql, params, "check-in")


def _silent_buyer(conn, params) -> list[sqlite3.Row]:
    """A customer whose usual gap between orders has passed `silent_buyer_factor` times over
    (measure/loyalty.py); a check-in made since their last order covers it."""
    sql = f"""
        {loyalty.silent_buyers_sql()}
        SELECT 'silent-buyer' AS rule, c.id AS customer_id, c.name AS customer_name, NULL AS ticket_id,
               NULL AS survey, NULL AS score, b.last_order_at AS evidence_at,
               CAST(b.days_since AS INTEGER) AS days, NULL AS tickets, b.median_gap_days, b.days_since,
               b.last_order_at
        FROM silent_buyers b JOIN customers c ON c.id = b.customer_id
        WHERE {_NOT_COVERED.format(evidence_at="b.last_order_at")}
        ORDER BY b.last_order_at, c.id
    """
    return _query(conn, sql, params, "check-in")


def _thank_you(conn, params) -> list[sqlite3.Row]:
    """A recent promoter with no thank-you follow-up scheduled, or made within thank_you_quiet."""
    sql = f"""
        WITH best AS (
            SELECT s.*, row_number() OVER (PARTITION BY s.customer_id ORDER BY s.score DESC, s.at DESC) AS top
            FROM surveys s
            WHERE s.kind = 'nps' AND s.score >= :nps_min AND s.at >= :survey_since AND s.at <= :now
              AND s.superseded_at IS NULL
        )
        SELECT 'thank-you' AS rule, c.id AS customer_id, c.name AS customer_name, NULL AS ticket_id,
               'nps' AS survey, b.score, b.at AS evidence_at, NULL AS days, NULL AS tickets
        FROM best b JOIN customers c ON c.id = b.customer_id
        WHERE b.top = 1 AND c.lost_at IS NULL AND {_NOT_COVERED.format(evidence_at=":thanks_since")}
        ORDER BY c.id
    """
    return _query(conn, sql, params, "thank-you")


def _win_back(conn, params) -> list[sqlite3.Row]:
    """A customer lost since win_back_since, for a reason other than price (or none recorded)."""
    sql = f"""
        SELECT 'win-back' AS rule, c.id AS customer_id, c.name AS customer_name, NULL AS ticket_id,
               NULL AS survey, NULL AS score, c.lost_at AS evidence_at, NULL AS days, NULL AS tickets,
               c.lost_reason AS reason
        FROM customers c
        WHERE c.lost_at >= :win_back_since AND c.lost_at <= :now
          AND coalesce(c.lost_reason, '') <> :win_back_excluded
          AND {_NOT_COVERED.format(evidence_at="c.lost_at")}
        ORDER BY c.lost_at, c.id
    """
    return _query(conn, sql, params, "win-back")


def _evidence(row: sqlite3.Row, tz: tzinfo) -> str:
    """Why the rule fired, with absolute local dates: the text becomes the follow-up's note and is
    read days later, when "today" or "3 days ago" would be wrong."""

    def day(at: str) -> str:
        return from_db(at).astimezone(tz).date().isoformat()

    on = day(row["evidence_at"])
    rule = row["rule"]
    if rule == "recovery":
        ticket = f" on ticket #{row['ticket_id']}" if row["ticket_id"] else ""
        return f"{row['survey'].upper()} {row['score']}{ticket} on {on}"
    if rule == "repeat-contact":
        return f"{row['score']} tickets from {day(row['first_at'])} to {on} ({row['tickets']})"
    if rule == "silent":
        return f"no contact since {on}"
    if rule == "silent-buyer":
        return loyalty.silent_buyer_evidence(row, tz)
    if rule == "win-back":
        return f"lost ({row['reason'] or 'no reason recorded'}) on {on}"
    return f"NPS {row['score']} on {on}"


def apply_suggestions(
    conn: sqlite3.Connection, settings: Settings, suggestions: list[dict], *, at: datetime
) -> list[sqlite3.Row]:
    """Schedule exactly the given suggestions (as listed), all-day on their due day."""
    made = []
    for item in suggestions:
        made.append(
            followups.add_followup(
                conn,
                settings,
                customer_id=item["customer_id"],
                ticket_id=item["ticket_id"],
                due=from_db(item["due_at"]),
                all_day=True,
                at=at,
                kind=item["kind"],
                note=f"{item['rule']}: {item['evidence']}",
                source=f"suggest:{item['rule']}",
            )
        )
    return made
