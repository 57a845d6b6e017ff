"""Customer care beyond single follow-ups: the after-close check-in, customers lost and won back,
churn by reason, and the care queue (follow-ups suggested from the data)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from carecli import followups, store
from carecli.activity import record_event
from carecli.config import Settings
from carecli.errors import Conflict, InvalidInput
from carecli.timeparse import TimeParseError, from_db, local_day_bounds, parse_duration, to_db

AFTER_CLOSE = "after-close"
DAY = timedelta(days=1)


# ---------------------------------------------------------------- the after-close check-in

def after_close_delay(settings: Settings, followup: str | None = None, no_followup: bool = False) -> timedelta | None:
    """How long after a close to check in: --followup, else the config; None = no check-in."""
    if no_followup and followup is not None:
        raise InvalidInput("give either --followup or --no-followup, not both")
    if no_followup:
        return None
    if followup is None:
        return settings.duration("care.followup_after_close")
    try:
        delay = parse_duration(followup)
    except TimeParseError as exc:
        raise InvalidInput(f"--followup: {exc}") from None
    if not delay:
        raise InvalidInput("--followup must be longer than 0", "e.g. --followup 3d, or --no-followup for none")
    return delay


def schedule_after_close(
    conn: sqlite3.Connection,
    settings: Settings,
    ticket: sqlite3.Row,
    *,
    at: datetime,
    after: timedelta | None,
) -> sqlite3.Row | None:
    """Schedule a check-in `after` the close at `at`, linked to the ticket; whole days make it an
    all-day follow-up on that local day. Call inside the close's transaction."""
    if after is None:
        return None
    return followups.add_followup(
        conn, settings, customer_id=ticket["customer_id"], ticket_id=ticket["id"], due=at + after,
        all_day=after % DAY == timedelta(0), at=at, kind="check-in",
        note=f"How is it going since ticket #{ticket['id']} ({ticket['subject']})?", source=AFTER_CLOSE,
    )


def skip_after_close(conn: sqlite3.Connection, ticket: sqlite3.Row) -> list[int]:
    """The ticket was reopened: skip its pending after-close check-in(s); returns their ids."""
    ids = [row[0] for row in conn.execute(
        "SELECT id FROM followups WHERE ticket_id = ? AND source = ? AND status = 'scheduled'",
        (ticket["id"], AFTER_CLOSE),
    )]
    for followup_id in ids:
        store.update(conn, "followups", followup_id, {"status": "skipped", "outcome": "ticket reopened"})
    return ids


# ---------------------------------------------------------------- customers lost and won back

def mark_lost(
    conn: sqlite3.Connection,
    settings: Settings,
    customer: sqlite3.Row,
    *,
    reason: str,
    at: datetime,
    note: str | None = None,
) -> sqlite3.Row:
    if customer["lost_at"] is not None:
        raise Conflict(f"customer #{customer['id']} {customer['name']} is already lost (since {customer['lost_at']})",
                       f"if they came back: carecli customer won-back {customer['id']}")
    reason = settings.choose("care.lost_reasons", reason)
    if at < from_db(customer["created_at"]):
        raise InvalidInput(f"cannot mark customer #{customer['id']} lost at {to_db(at)}: "
                           f"they were added at {customer['created_at']}", "check --at")
    store.update(conn, "customers", customer["id"], {"lost_at": to_db(at), "lost_reason": reason})
    detail = {"reason": reason, **({"note": note.strip()} if note and note.strip() else {})}
    record_event(conn, "lost", customer_id=customer["id"], at=at, detail=detail)
    return _customer(conn, customer["id"])


def mark_won_back(conn: sqlite3.Connection, customer: sqlite3.Row, *, at: datetime) -> sqlite3.Row:
    if customer["lost_at"] is None:
        raise Conflict(f"customer #{customer['id']} {customer['name']} is not lost",
                       f"record a loss with: carecli customer lost {customer['id']} --reason REASON")
    if at < from_db(customer["lost_at"]):
        raise InvalidInput(f"cannot win back customer #{customer['id']} at {to_db(at)}: "
                           f"they were lost at {customer['lost_at']}", "check --at")
    store.update(conn, "customers", customer["id"], {"lost_at": None, "lost_reason": None})
    record_event(conn, "won-back", customer_id=customer["id"], at=at,
                 detail={"lost_at": customer["lost_at"], "reason": customer["lost_reason"]})
    return _customer(conn, customer["id"])


def _customer(conn: sqlite3.Connection, customer_id: int) -> sqlite3.Row:
    from carecli.customers import get_customer

    return get_customer(conn, customer_id)


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
        {"reason": row["reason"], "lost": row["lost"], "won_back": row["won_back"],
         "share_pct": round(row["lost"] * 100 / total, 2)}
        for row in rows
    ]


# ---------------------------------------------------------------- the care queue

@dataclass(frozen=True)
class Rule:
    name: str
    kind: str  # the kind of follow-up it proposes


RULES = (
    Rule("recovery", "recovery"),
    Rule("repeat-contact", "check-in"),
    Rule("silent", "check-in"),
    Rule("thank-you", "thank-you"),
)
_RULE_KIND = {rule.name: rule.kind for rule in RULES}

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


def suggest(conn: sqlite3.Connection, settings: Settings, *, now: datetime) -> list[dict]:
    """Proposed follow-ups, one per customer and rule, each with its evidence; nothing is written."""
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
    }
    found = [
        *_recovery(conn, params),
        *_repeat_contact(conn, params),
        *_silent(conn, params),
        *_thank_you(conn, params),
    ]
    tz = settings.tz
    due = local_day_bounds(now.astimezone(tz).date(), tz)[0]
    return [
        {"rule": row["rule"], "customer_id": row["customer_id"], "customer_name": row["customer_name"],
         "kind": _RULE_KIND[row["rule"]], "due_at": to_db(due), "ticket_id": row["ticket_id"],
         "evidence": _evidence(row, now), "evidence_at": row["evidence_at"], "score": row["score"],
         "days": row["days"]}
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
            WHERE s.at >= :survey_since AND s.at <= :now
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
            SELECT customer_id, count(*) AS n, max(created_at) AS last_at, group_concat('#' || id, ', ') AS tickets
            FROM (SELECT id, customer_id, created_at FROM tickets
                  WHERE created_at >= :repeat_since AND created_at <= :now ORDER BY created_at)
            GROUP BY customer_id HAVING count(*) >= :repeat_min
        )
        SELECT 'repeat-contact' AS rule, c.id AS customer_id, c.name AS customer_name, NULL AS ticket_id,
               NULL AS survey, r.n AS score, r.last_at AS evidence_at, NULL AS days, r.tickets
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


def _thank_you(conn, params) -> list[sqlite3.Row]:
    """A recent promoter with no thank-you follow-up scheduled, or made within thank_you_quiet."""
    sql = f"""
        WITH best AS (
            SELECT s.*, row_number() OVER (PARTITION BY s.customer_id ORDER BY s.score DESC, s.at DESC) AS top
            FROM surveys s
            WHERE s.kind = 'nps' AND s.score >= :nps_min AND s.at >= :survey_since AND s.at <= :now
        )
        SELECT 'thank-you' AS rule, c.id AS customer_id, c.name AS customer_name, NULL AS ticket_id,
               'nps' AS survey, b.score, b.at AS evidence_at, NULL AS days, NULL AS tickets
        FROM best b JOIN customers c ON c.id = b.customer_id
        WHERE b.top = 1 AND c.lost_at IS NULL AND {_NOT_COVERED.format(evidence_at=":thanks_since")}
        ORDER BY c.id
    """
    return _query(conn, sql, params, "thank-you")


def _evidence(row: sqlite3.Row, now: datetime) -> str:
    days_ago = int((now - from_db(row["evidence_at"])).total_seconds() // 86400)
    ago = "today" if days_ago == 0 else f"{days_ago} day{'s' if days_ago != 1 else ''} ago"
    rule = row["rule"]
    if rule == "recovery":
        on = f" on ticket #{row['ticket_id']}" if row["ticket_id"] else ""
        return f"{row['survey'].upper()} {row['score']}{on}, {ago}"
    if rule == "repeat-contact":
        return f"{row['score']} tickets in the window ({row['tickets']}), the last {ago}"
    if rule == "silent":
        return f"no contact for {row['days']} days (last {row['evidence_at'][:10]})"
    return f"NPS {row['score']}, {ago}"


def apply_suggestions(
    conn: sqlite3.Connection, settings: Settings, suggestions: list[dict], *, at: datetime
) -> list[sqlite3.Row]:
    """Schedule exactly the given suggestions (as listed), all-day on their due day."""
    made = []
    for item in suggestions:
        made.append(followups.add_followup(
            conn, settings, customer_id=item["customer_id"], ticket_id=item["ticket_id"],
            due=from_db(item["due_at"]), all_day=True, at=at, kind=item["kind"],
            note=f"{item['rule']}: {item['evidence']}", source=f"suggest:{item['rule']}",
        ))
    return made


# ---------------------------------------------------------------- demo history

def build_demo_care(
    conn: sqlite3.Connection, settings: Settings, people: list[sqlite3.Row], *, end: datetime, seed: int = 7
) -> dict[str, int]:
    """Add care to the demo shop (inside its transaction): monthly reminders kept on time and late,
    check-ins due today and overdue, after-close check-ins for recent closes, two lost customers."""
    import random

    rng = random.Random(seed)
    tz = settings.tz
    today = end.astimezone(tz).date()
    day = lambda offset: local_day_bounds(today + timedelta(days=offset), tz)[0]  # noqa: E731
    chosen = rng.sample(people, k=min(10, len(people)))
    made = 0

    for person in chosen[:3]:  # a monthly care call, completed each month, once late
        row = followups.add_followup(conn, settings, customer_id=person["id"], due=day(-95 + rng.randint(0, 4)),
                                     all_day=True, at=day(-100), kind="service-reminder", every="monthly",
                                     note="Monthly plant-care call for the subscription")
        made += 1
        while from_db(row["due_at"]) < day(-1):
            late = rng.random() < 0.25
            done_at = min(from_db(row["due_at"]) + timedelta(days=2 if late else 0, hours=10), end)
            result = followups.complete(conn, settings, row, at=done_at, channel="phone",
                                        outcome="Called: plants doing well" + (" (called late)" if late else ""))
            if result.next_followup is None:
                break
            row, made = result.next_followup, made + 1

    notes = ["Ask how the wedding flowers went", "Offer the spring catalogue", "Check the replacement arrived"]
    for offset, person in zip((0, 0, -2, -4), chosen[3:7]):  # due today, and overdue
        followups.add_followup(conn, settings, customer_id=person["id"], due=day(offset), all_day=True,
                               at=day(offset - 7), kind=rng.choice(["check-in", "offer", "tip"]),
                               note=rng.choice(notes))
        made += 1

    recent = conn.execute(
        "SELECT t.* FROM tickets t WHERE t.status = 'closed' AND t.closed_at >= ? ORDER BY t.closed_at LIMIT 4",
        (to_db(end - timedelta(days=5)),),
    ).fetchall()
    for ticket in recent:
        schedule_after_close(conn, settings, ticket, at=from_db(ticket["closed_at"]), after=timedelta(days=7))
        made += 1

    lost = 0
    for person, reason, days_ago in zip(chosen[7:9], ("price", "moved"), (20, 50)):
        mark_lost(conn, settings, person, reason=reason, at=end - timedelta(days=days_ago),
                  note="Told us on the phone")
        lost += 1
    return {"followups": made, "lost_customers": lost}
