"""Customer care records beyond single follow-ups: the after-close check-in, customers lost and won back.

Churn by reason is measure/churn.py; the suggested follow-ups are measure/suggest.py."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from carecli.core import store
from carecli.core.config import Settings
from carecli.core.errors import Conflict, InvalidInput
from carecli.records import followups
from carecli.records.activity import record_event
from carecli.text.clock import from_db, to_db
from carecli.text.durations import parse_duration
from carecli.text.vocabulary import TimeParseError

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
    due: tuple[datetime, bool] | None = None,
) -> sqlite3.Row | None:
    """Schedule a check-in `after` the close at `at`, linked to the ticket; whole days make it an
    all-day follow-up on that local day. `due` (a time, and whether it names a whole day) sets the
    day itself instead. Call inside the close's transaction."""
    if due is not None:
        due_at, all_day = due
    elif after is not None:
        due_at, all_day = at + after, after % DAY == timedelta(0)
    else:
        return None
    return followups.add_followup(
        conn,
        settings,
        customer_id=ticket["customer_id"],
        ticket_id=ticket["id"],
        due=due_at,
        all_day=all_day,
        at=at,
        kind="check-in",
        note=f"How is it going since ticket #{ticket['id']} ({ticket['subject']})?",
        source=AFTER_CLOSE,
    )


def skip_after_close(conn: sqlite3.Connection, ticket: sqlite3.Row, *, at: datetime | None = None) -> list[int]:
    """The ticket was reopened (at `at`): skip its pending after-close check-in(s); returns their ids."""
    ids = [
        row[0]
        for row in conn.execute(
            "SELECT id FROM followups WHERE ticket_id = ? AND source = ? AND status = 'scheduled'",
            (ticket["id"], AFTER_CLOSE),
        )
    ]
    for followup_id in ids:
        followups.mark_skipped(conn, followup_id, at=at, reason="ticket reopened")
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
        raise Conflict(
            f"customer #{customer['id']} {customer['name']} is already lost (since {customer['lost_at']})",
            f"if they came back: carecli customer won-back {customer['id']}",
        )
    reason = settings.choose("care.lost_reasons", reason)
    if at < from_db(customer["created_at"]):
        raise InvalidInput(
            f"cannot mark customer #{customer['id']} lost at {to_db(at)}: they were added at {customer['created_at']}",
            "check --at",
        )
    store.update(conn, "customers", customer["id"], {"lost_at": to_db(at), "lost_reason": reason})
    detail = {"reason": reason, **({"note": note.strip()} if note and note.strip() else {})}
    record_event(conn, "lost", customer_id=customer["id"], at=at, detail=detail)
    return _customer(conn, customer["id"])


def mark_won_back(conn: sqlite3.Connection, customer: sqlite3.Row, *, at: datetime) -> sqlite3.Row:
    if customer["lost_at"] is None:
        raise Conflict(
            f"customer #{customer['id']} {customer['name']} is not lost",
            f"record a loss with: carecli customer lost {customer['id']} --reason REASON",
        )
    if at < from_db(customer["lost_at"]):
        raise InvalidInput(
            f"cannot win back customer #{customer['id']} at {to_db(at)}: they were lost at {customer['lost_at']}",
            "check --at",
        )
    store.update(conn, "customers", customer["id"], {"lost_at": None, "lost_reason": None})
    record_event(
        conn,
        "won-back",
        customer_id=customer["id"],
        at=at,
        detail={"lost_at": customer["lost_at"], "reason": customer["lost_reason"]},
    )
    return _customer(conn, customer["id"])


def _customer(conn: sqlite3.Connection, customer_id: int) -> sqlite3.Row:
    from carecli.records.customers import get_customer

    return get_customer(conn, customer_id)


# ---------------------------------------------------------------- the care queue


# ---------------------------------------------------------------- demo history
