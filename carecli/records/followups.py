"""Follow-ups: promises to contact a customer on a day (or at a time), maybe on a cadence.

A follow-up is due on a local day of the configured zone. It is *on time* when completed before
that day ends, *overdue* while still scheduled after that day has ended. A recurring follow-up
stores its rule as RFC 5545 text with its first occurrence (``DTSTART:...\\nRRULE:...``, local
wall time), so the series keeps its grid whatever happens to one occurrence (snoozed, done late).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Iterable, Iterator, Sequence

from carecli.core import store, undolog
from carecli.core.config import FOLLOWUP_KINDS, Settings
from carecli.core.errors import Conflict, InvalidInput, NotFound
from carecli.records.activity import log_interaction
from carecli.text.cadence import next_occurrence, occurrences_after, parse_every, parse_rrule
from carecli.text.clock import from_db, local_day_bounds, to_db
from carecli.text.vocabulary import TimeParseError

KINDS = FOLLOWUP_KINDS
STATUSES = ("scheduled", "done", "skipped")
DEFAULT_KIND = "check-in"

FOLLOWUP_FIELDS = """
    f.id, f.customer_id, c.name AS customer_name, f.ticket_id, f.kind, f.note, f.due_at, f.all_day,
    f.recurrence, f.status, f.on_time, f.created_at, f.completed_at, f.outcome, f.source, f.previous_id,
    f.template, f.plan, f.plan_step, f.order_id, f.asset_id
"""


# ---------------------------------------------------------------- reading

# Batched writers (the generator) give rows in these columns' order.
FOLLOWUP_COLUMNS = (
    "id",
    "customer_id",
    "ticket_id",
    "kind",
    "note",
    "due_at",
    "all_day",
    "recurrence",
    "status",
    "created_at",
    "completed_at",
    "outcome",
    "source",
    "previous_id",
    "on_time",
)


# ...and care plans' (records/plans.py) in these.
PLAN_FOLLOWUP_COLUMNS = (
    "id",
    "customer_id",
    "kind",
    "note",
    "due_at",
    "all_day",
    "recurrence",
    "status",
    "created_at",
    "source",
    "template",
    "plan",
    "plan_step",
    "order_id",
    "asset_id",
)


def add_many(conn: sqlite3.Connection, rows: Iterable[Sequence], columns: Sequence[str] = FOLLOWUP_COLUMNS) -> None:
    """Follow-ups in bulk, rows in `columns` order, already checked."""
    store.insert_many(conn, "followups", columns, rows)


def get_followup(conn: sqlite3.Connection, followup_id: int) -> sqlite3.Row:
    row = store.one(
        conn,
        f"SELECT {FOLLOWUP_FIELDS} FROM followups f JOIN customers c ON c.id = f.customer_id WHERE f.id = ?",
        (followup_id,),
    )
    if row is None:
        raise NotFound(f"no follow-up #{followup_id}", "see `carecli followup list --status all`")
    return row


def due_day(followup: sqlite3.Row | dict, tz: tzinfo) -> date:
    """The local day a follow-up is due on."""
    return from_db(followup["due_at"]).astimezone(tz).date()


def due_day_end(due_at: str, tz: tzinfo) -> datetime:
    """The local midnight that ends the due day (aware UTC): done before it is on time."""
    return local_day_bounds(from_db(due_at).astimezone(tz).date(), tz)[1]


def is_on_time(due_at: str, completed_at: datetime, tz: tzinfo) -> bool:
    return completed_at < due_day_end(due_at, tz)


def rule_text(recurrence: str | None) -> str:
    """The RRULE part of a stored recurrence, for people: ``FREQ=MONTHLY;BYMONTHDAY=1``."""
    if not recurrence:
        return ""
    return recurrence.rsplit("RRULE:", 1)[-1]


def as_dict(row: sqlite3.Row, *, tz: tzinfo, today_start: datetime) -> dict:
    """A follow-up row as a plain JSON-ready dict, with its due day and whether it is overdue."""
    record = dict(row)
    record["all_day"] = bool(record["all_day"])
    record["on_time"] = None if record["on_time"] is None else bool(record["on_time"])
    record["due_day"] = due_day(row, tz).isoformat()
    record["overdue"] = record["status"] == "scheduled" and row["due_at"] < to_db(today_start)
    record["rule"] = rule_text(record["recurrence"])
    return record


@dataclass
class FollowupFilter:
    statuses: tuple[str, ...] = ("scheduled",)
    customer_id: int | None = None
    kind: str | None = None
    due_before: datetime | None = None  # due_at strictly before
    due_from: datetime | None = None  # due_at at or after


def list_followups(conn: sqlite3.Connection, filters: FollowupFilter, *, limit: int | None = None) -> sqlite3.Cursor:
    """Follow-ups matching the filter, earliest due first (served by followups_status_due)."""
    where: list[str] = []
    params: list[Any] = []
    if set(filters.statuses) != set(STATUSES):
        where.append(f"f.status IN ({', '.join('?' for _ in filters.statuses)})")
        params += filters.statuses
    if filters.customer_id is not None:
        where.append("f.customer_id = ?")
        params.append(filters.customer_id)
    if filters.kind is not None:
        where.append("f.kind = ?")
        params.append(filters.kind)
    if filters.due_before is not None:
        where.append("f.due_at < ?")
        params.append(to_db(filters.due_before))
    if filters.due_from is not None:
        where.append("f.due_at >= ?")
        params.append(to_db(filters.due_from))
    sql = f"""
        SELECT {FOLLOWUP_FIELDS} FROM followups f JOIN customers c ON c.id = f.customer_id
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY f.due_at, f.id
    """
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return conn.execute(sql, params)


# ---------------------------------------------------------------- checking input


def check_kind(kind: str | None) -> str:
    kind = (kind or DEFAULT_KIND).strip().lower()
    if kind not in KINDS:
        raise InvalidInput(f"unknown follow-up kind '{kind}'", f"use one of: {', '.join(KINDS)}")
    return kind


def check_status(status: str) -> tuple[str, ...]:
    status = status.strip().lower()
    if status == "all":
        return STATUSES
    chosen = tuple(s.strip() for s in status.split(",") if s.strip())
    if not chosen or any(s not in STATUSES for s in chosen):
        raise InvalidInput(f"unknown follow-up status '{status}'", f"use {', '.join(STATUSES)}, all, or a comma list")
    return chosen


def build_recurrence(*, every: str | None, rrule: str | None, first_due: datetime, tz: tzinfo) -> str | None:
    """The stored recurrence text for --every or --rrule starting at the first due time, or None."""
    if every is not None and rrule is not None:
        raise InvalidInput("give either --every or --rrule, not both")
    try:
        if every is not None:
            rule = parse_every(every, dtstart=first_due, tz=tz)
        elif rrule is not None:
            rule = parse_rrule(rrule, dtstart=first_due, tz=tz)
        else:
            return None
    except TimeParseError as exc:
        raise InvalidInput(f"{'--every' if every is not None else '--rrule'}: {exc}") from None
    return str(rule)


def load_rule(recurrence: str):
    from dateutil.rrule import rrulestr

    return rrulestr(recurrence)


def _check_ticket(conn: sqlite3.Connection, ticket_id: int | None, customer_id: int) -> None:
    if ticket_id is None:
        return
    row = store.one(conn, "SELECT customer_id FROM tickets WHERE id = ?", (ticket_id,))
    if row is None:
        raise NotFound(f"no ticket #{ticket_id}", "see `carecli ticket list --status all`")
    if row["customer_id"] != customer_id:
        raise InvalidInput(f"ticket #{ticket_id} belongs to another customer", "check --ticket or the customer")


def _require_scheduled(followup: sqlite3.Row, action: str) -> None:
    if followup["status"] != "scheduled":
        raise Conflict(
            f"follow-up #{followup['id']} is {followup['status']}, so it cannot be {action}",
            "only scheduled follow-ups can be; see `carecli followup list --status all`",
        )


# ---------------------------------------------------------------- writing


def add_followup(
    conn: sqlite3.Connection,
    settings: Settings,
    *,
    customer_id: int,
    due: datetime,
    all_day: bool,
    at: datetime,
    kind: str | None = None,
    note: str = "",
    ticket_id: int | None = None,
    every: str | None = None,
    rrule: str | None = None,
    recurrence: str | None = None,
    source: str = "manual",
    previous_id: int | None = None,
    template: str | None = None,
    plan_link: dict | None = None,
) -> sqlite3.Row:
    """Schedule a follow-up. ``due`` is aware; an all-day one is normalised to its local midnight.
    ``plan_link`` (plan, plan_step, order_id, asset_id) is for a care plan's follow-ups: the next
    occurrence of a plan's series keeps naming its plan, step, order or asset."""
    tz = settings.tz
    if all_day:
        due = local_day_bounds(due.astimezone(tz).date(), tz)[0]
    _check_ticket(conn, ticket_id, customer_id)
    if recurrence is None:
        recurrence = build_recurrence(every=every, rrule=rrule, first_due=due, tz=tz)
    followup_id = store.insert(
        conn,
        "followups",
        {
            "id": undolog.next_id(conn, "followups"),
            "customer_id": customer_id,
            "ticket_id": ticket_id,
            "kind": check_kind(kind),
            "note": " ".join(note.split()),
            "due_at": to_db(due),
            "all_day": int(all_day),
            "recurrence": recurrence,
            "status": "scheduled",
            "created_at": to_db(at),
            "source": source,
            "previous_id": previous_id,
            "template": template or None,
            **(plan_link or {}),
        },
    )
    return get_followup(conn, followup_id)


PLAN_LINK = ("plan", "plan_step", "order_id", "asset_id")
SKIPPED_SHOWN = 5  # past occurrences a Completion lists by date; the rest are counted...
SKIPPED_COUNTED = 1000  # ...up to this many, so a series anchored decades back is done in bounded time


@dataclass
class Completion:
    followup: sqlite3.Row
    next_followup: sqlite3.Row | None = None
    skipped_occurrences: list[datetime] = field(default_factory=list)  # the first past occurrences not scheduled
    skipped_count: int = 0  # past occurrences not scheduled, counted up to SKIPPED_COUNTED
    skipped_more: bool = False  # more than skipped_count were skipped
    series_ended: bool = False  # the rule has no further occurrence


def _schedule_next(conn: sqlite3.Connection, settings: Settings, followup: sqlite3.Row, *, at: datetime) -> Completion:
    """For a recurring follow-up, schedule the first occurrence after it that is not already past."""
    result = Completion(followup)
    if not followup["recurrence"]:
        return result
    tz = settings.tz
    rule = load_rule(followup["recurrence"])
    all_day = bool(followup["all_day"])
    due_at = from_db(followup["due_at"])
    # An all-day occurrence today is still fine; a timed one must be after `at`.
    past_until = local_day_bounds(at.astimezone(tz).date(), tz)[0] - timedelta(seconds=1) if all_day else at
    occurrence = None
    if due_at < past_until:
        # Past occurrences are listed and counted in one walk; it starts near the due time, so it
        # costs what was skipped, not what the series holds since it began.
        for occurrence in occurrences_after(rule, after=due_at, tz=tz):
            if occurrence > past_until:
                break
            if result.skipped_count == SKIPPED_COUNTED:
                result.skipped_more = True
                occurrence = next_occurrence(rule, after=past_until, tz=tz)
                break
            if result.skipped_count < SKIPPED_SHOWN:
                result.skipped_occurrences.append(occurrence)
            result.skipped_count += 1
        else:
            occurrence = None
    else:
        occurrence = next_occurrence(rule, after=due_at, tz=tz)
    if occurrence is None:
        result.series_ended = True
        return result
    result.next_followup = add_followup(
        conn,
        settings,
        customer_id=followup["customer_id"],
        due=occurrence,
        all_day=all_day,
        at=at,
        kind=followup["kind"],
        note=followup["note"],
        ticket_id=followup["ticket_id"],
        recurrence=followup["recurrence"],
        source=followup["source"],
        previous_id=followup["id"],
        template=followup["template"],
        plan_link={key: followup[key] for key in PLAN_LINK} if followup["plan"] else None,
    )
    return result


def _not_before_creation(followup: sqlite3.Row, at: datetime, what: str) -> None:
    if at < from_db(followup["created_at"]):
        raise InvalidInput(
            f"cannot {what} follow-up #{followup['id']} at {to_db(at)}: it was created at {followup['created_at']}",
            "check --at",
        )


def complete(
    conn: sqlite3.Connection,
    settings: Settings,
    followup: sqlite3.Row,
    *,
    at: datetime,
    outcome: str | None = None,
    channel: str | None = None,
) -> Completion:
    """Mark done, log the outbound contact (linked by followup_id), schedule the next occurrence."""
    _require_scheduled(followup, "done")
    _not_before_creation(followup, at, "complete")
    outcome = " ".join((outcome or "").split()) or None
    body = outcome or f"{followup['kind'].capitalize()} follow-up" + (
        f": {followup['note']}" if followup["note"] else ""
    )
    # No ticket_id on the interaction: a care contact is not a reply on the ticket (FCR stays honest).
    log_interaction(
        conn,
        customer_id=followup["customer_id"],
        direction="out",
        channel=settings.choose("channels", channel, "default_channel"),
        body=body,
        at=at,
        followup_id=followup["id"],
    )
    store.update(
        conn,
        "followups",
        followup["id"],
        {
            "status": "done",
            "completed_at": to_db(at),
            "outcome": outcome,
            "on_time": int(is_on_time(followup["due_at"], at, settings.tz)),
        },
    )
    result = _schedule_next(conn, settings, followup, at=at)
    result.followup = get_followup(conn, followup["id"])
    return result


def mark_skipped(conn: sqlite3.Connection, followup_id: int, *, at: datetime | None, reason: str | None) -> None:
    """Mark a follow-up skipped at `at`, kept in completed_at as a done one's time is, so a period's
    figures judge it as it stood at their end. `at` None (a caller that does not know when) leaves
    no time: counted as skipped before any period's end, as rows skipped before migration m007 are."""
    reason = " ".join((reason or "").split()) or None
    changes = {"status": "skipped", "outcome": reason, "completed_at": None if at is None else to_db(at)}
    store.update(conn, "followups", followup_id, changes)


def move(
    conn: sqlite3.Connection, followup: sqlite3.Row, *, due: datetime, recurrence: str | None, at: datetime
) -> None:
    """Give a scheduled follow-up a new due time and series (a care plan's reminder after a
    service), keeping the due date it is moved from, as snooze and edit do."""
    _require_scheduled(followup, "moved")
    _log_due_change(conn, followup, to_db(due), at=at)
    store.update(conn, "followups", followup["id"], {"due_at": to_db(due), "recurrence": recurrence})


def _log_due_change(conn: sqlite3.Connection, followup: sqlite3.Row, to_due: str, *, at: datetime) -> None:
    """Keep the due date a follow-up is moved from (followup_due_changes, migration m007): the KPI
    engine judges a past period by the due dates as they were at its end."""
    if to_due != followup["due_at"]:
        store.insert(
            conn,
            "followup_due_changes",
            {"followup_id": followup["id"], "at": to_db(at), "from_due": followup["due_at"], "to_due": to_due},
        )


def skip(
    conn: sqlite3.Connection,
    settings: Settings,
    followup: sqlite3.Row,
    *,
    at: datetime,
    reason: str | None = None,
    stop: bool = False,
) -> Completion:
    """Skip this occurrence; a recurring series goes on unless ``stop``."""
    _require_scheduled(followup, "skipped")
    _not_before_creation(followup, at, "skip")
    mark_skipped(conn, followup["id"], at=at, reason=reason)
    result = Completion(followup) if stop else _schedule_next(conn, settings, followup, at=at)
    result.followup = get_followup(conn, followup["id"])
    return result


def snooze(
    conn: sqlite3.Connection,
    settings: Settings,
    followup: sqlite3.Row,
    *,
    until: datetime,
    all_day: bool,
    now: datetime,
) -> sqlite3.Row:
    """Move a scheduled follow-up to a later day or time; the series' grid stays as it was."""
    _require_scheduled(followup, "snoozed")
    tz = settings.tz
    if all_day:
        until = local_day_bounds(until.astimezone(tz).date(), tz)[0]
        in_past = until < local_day_bounds(now.astimezone(tz).date(), tz)[0]
    else:
        in_past = until <= now
    if in_past:
        raise InvalidInput(
            f"cannot snooze follow-up #{followup['id']} into the past ({to_db(until)})",
            "give a later time, e.g. tomorrow, +3d or 'next monday'",
        )
    _log_due_change(conn, followup, to_db(until), at=now)
    store.update(conn, "followups", followup["id"], {"due_at": to_db(until), "all_day": int(all_day)})
    return get_followup(conn, followup["id"])


def edit(
    conn: sqlite3.Connection,
    settings: Settings,
    followup: sqlite3.Row,
    *,
    due: datetime | None = None,
    all_day: bool | None = None,
    kind: str | None = None,
    note: str | None = None,
    ticket_id: int | None = None,
    every: str | None = None,
    rrule: str | None = None,
    no_repeat: bool = False,
    outcome: str | None = None,
    now: datetime,
) -> sqlite3.Row:
    """Change a follow-up. Due, ticket and cadence only while it is scheduled; a new cadence starts
    at the (new) due time; a new due time is logged as changed at `now`."""
    changes: dict = {}
    schedule_change = due is not None or ticket_id is not None or every is not None or rrule is not None or no_repeat
    if schedule_change:
        _require_scheduled(followup, "rescheduled")
    if no_repeat and (every is not None or rrule is not None):
        raise InvalidInput("give --no-repeat or a new cadence, not both")
    tz = settings.tz
    if due is not None:
        if all_day:
            due = local_day_bounds(due.astimezone(tz).date(), tz)[0]
        changes["due_at"] = to_db(due)
        changes["all_day"] = int(bool(all_day))
    if every is not None or rrule is not None:
        first = due if due is not None else from_db(followup["due_at"])
        changes["recurrence"] = build_recurrence(every=every, rrule=rrule, first_due=first, tz=tz)
    elif no_repeat:
        changes["recurrence"] = None
    if kind is not None:
        changes["kind"] = check_kind(kind)
    if note is not None:
        changes["note"] = " ".join(note.split())
    if ticket_id is not None:
        _check_ticket(conn, ticket_id, followup["customer_id"])
        changes["ticket_id"] = ticket_id
    if outcome is not None:
        if followup["status"] == "scheduled":
            raise InvalidInput(
                "a scheduled follow-up has no outcome yet", "record it with: carecli followup done ID --outcome TEXT"
            )
        changes["outcome"] = " ".join(outcome.split()) or None
    if not changes:
        raise InvalidInput(
            "nothing to change",
            "pass at least one of --due, --kind, --note, --ticket, --every, --rrule, --no-repeat, --outcome",
        )
    if "due_at" in changes:
        _log_due_change(conn, followup, changes["due_at"], at=now)
    store.update(conn, "followups", followup["id"], changes)
    return get_followup(conn, followup["id"])


def iter_dicts(rows: sqlite3.Cursor, *, tz: tzinfo, now: datetime) -> Iterator[dict]:
    today_start = local_day_bounds(now.astimezone(tz).date(), tz)[0]
    for row in rows:
        yield as_dict(row, tz=tz, today_start=today_start)
