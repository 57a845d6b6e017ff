"""Tickets: the reactive service loop — open, reply, wait, close, reopen — and its rules."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable, NamedTuple, Sequence

from carecli.core import store, undolog
from carecli.core.config import Settings
from carecli.core.errors import Conflict, InvalidInput, NotFound
from carecli.records.activity import log_interaction, record_event
from carecli.records.customers import merge_tags, normalize_tags
from carecli.text.clock import from_db, to_db

STATUSES = ("open", "pending", "closed")
ACTIVE = ("open", "pending")

TICKET_FIELDS = """
    t.id, t.customer_id, c.name AS customer_name, c.email AS customer_email,
    t.subject, t.status, t.priority, t.channel, t.category, t.tags,
    t.created_at, t.first_response_at, t.first_closed_at, t.closed_at,
    t.reopen_count, t.reply_count, t.first_response_s, t.first_resolution_s, t.resolution_s,
    t.resolution, t.updated_at, t.outreach, t.first_contact_at, t.order_id, t.asset_id
"""


def get_ticket(conn: sqlite3.Connection, ticket_id: int) -> sqlite3.Row:
    row = store.one(
        conn,
        f"SELECT {TICKET_FIELDS} FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.id = ?",
        (ticket_id,),
    )
    if row is None:
        raise _missing(conn, ticket_id)
    return row


def _missing(conn: sqlite3.Connection, ticket_id: int) -> NotFound:
    """Not found, saying where it went when it is in the trash or was merged."""
    gone = (
        store.one(
            conn,
            "SELECT kind, into_id, at FROM trash WHERE ref_id = ? AND kind IN ('ticket', 'merged') ORDER BY id DESC LIMIT 1",
            (ticket_id,),
        )
        if store.scalar(conn, "SELECT 1 FROM sqlite_master WHERE name = 'trash'")
        else None
    )
    if gone is not None and gone["kind"] == "merged":
        return NotFound(
            f"ticket #{ticket_id} was merged into #{gone['into_id']} at {gone['at']}",
            f"see carecli ticket show {gone['into_id']} (carecli undo --list to take the merge back)",
        )
    if gone is not None:
        return NotFound(
            f"ticket #{ticket_id} is in the trash (deleted at {gone['at']})",
            f"bring it back with: carecli ticket restore {ticket_id}",
        )
    return NotFound(f"no ticket #{ticket_id}", "see `carecli ticket list --status all`")


def elapsed_s(start: datetime, end: datetime) -> int:
    """A stored duration: whole seconds from `start` to `end` (truncated; negative if `end` is earlier)."""
    return int((end - start).total_seconds())


def _not_before(ticket: sqlite3.Row, at: datetime, what: str, field: str = "created_at") -> None:
    """Refuse events dated before the ticket (or its last close) existed."""
    if at < from_db(ticket[field]):
        since = "was opened" if field == "created_at" else "was closed"
        raise InvalidInput(
            f"cannot {what} ticket #{ticket['id']} at {to_db(at)}: it {since} at {ticket[field]}",
            "check --at",
        )


# The events that change a ticket's status: their order is the ticket's history.
STATUS_EVENTS = ("opened", "pending", "resumed", "closed", "reopened")


def _in_order(conn: sqlite3.Connection, ticket: sqlite3.Row, at: datetime, what: str) -> None:
    """Refuse a status change dated before the ticket's latest one: closing at 10:30 a ticket
    closed at 10:00 and reopened at 11:00 would put its history out of order."""
    latest = _latest_change_event(conn, ticket["id"])
    if latest is not None and at < from_db(latest["at"]):
        raise InvalidInput(
            f"cannot {what} ticket #{ticket['id']} at {to_db(at)}: it was {latest['kind']} later, at {latest['at']}",
            "check --at: a ticket's status changes must stay in time order",
        )


def _latest_change_event(conn: sqlite3.Connection, ticket_id: int) -> sqlite3.Row | None:
    marks = ", ".join("?" * len(STATUS_EVENTS))
    return store.one(
        conn,
        f"SELECT kind, at FROM events WHERE ticket_id = ? AND kind IN ({marks}) AND voided_by IS NULL ORDER BY at DESC, id DESC LIMIT 1",
        (ticket_id, *STATUS_EVENTS),
    )


def _latest_change(conn: sqlite3.Connection, ticket_id: int) -> datetime:
    latest = _latest_change_event(conn, ticket_id)
    return from_db(latest["at"]) if latest is not None else datetime.min.replace(tzinfo=timezone.utc)


def paused_before(
    changes: Sequence[Sequence], until: datetime, business: Callable[[datetime, datetime], int] | None = None
) -> tuple[int, datetime | None]:
    """(seconds spent pending in spells that ended before `until`, start of the spell still going
    at `until` or None), from the ticket's status events (kind, stored at) in order. Seconds are
    wall-clock, or from `business(start, end)` when given. The SLA resolution clock stops for them."""
    paused, since = 0, None
    for kind, text in changes:
        at = from_db(text)
        if at >= until:
            break
        if kind == "pending":
            since = since or at
        elif since is not None:
            paused += business(since, at) if business else elapsed_s(since, at)
            since = None
    return paused, since


def _end_pause(conn: sqlite3.Connection, ticket: sqlite3.Row, at: datetime) -> dict:
    """The changes that end a pending spell at `at`: its length added to paused_s. None when the
    ticket is not pending (or went pending before carecli kept the time, as in an import)."""
    row = store.one(conn, "SELECT paused_s, pending_since FROM tickets WHERE id = ?", (ticket["id"],))
    if ticket["status"] != "pending" or row is None or row["pending_since"] is None:
        return {}
    spell = max(0, elapsed_s(from_db(row["pending_since"]), at))
    return {"paused_s": (row["paused_s"] or 0) + spell, "pending_since": None}


def _log_on_ticket(
    conn: sqlite3.Connection,
    settings: Settings,
    ticket: sqlite3.Row,
    direction: str,
    text: str,
    *,
    at: datetime,
    channel: str | None,
    what: str,
) -> None:
    """Log a message on the ticket: dated no earlier than the ticket, on its channel unless told
    otherwise (only a channel typed now is checked against the config list)."""
    _not_before(ticket, at, what)
    log_interaction(
        conn,
        customer_id=ticket["customer_id"],
        ticket_id=ticket["id"],
        direction=direction,
        channel=settings.choose("channels", channel) if channel else ticket["channel"],
        body=text,
        at=at,
    )


def _subject_key(subject: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in subject.casefold()).split())


def similar_open(
    conn: sqlite3.Connection, customer_id: int, subject: str, at: datetime, *, within_s: int = 86400
) -> sqlite3.Row | None:
    """The customer's open or pending ticket with the same or a very similar subject opened in
    the `within_s` seconds before `at` (a ticket opened twice: up-arrow, Enter), or None."""
    from difflib import SequenceMatcher

    key = _subject_key(subject)
    since = to_db(datetime.fromtimestamp(at.timestamp() - within_s, tz=timezone.utc))
    for row in conn.execute(
        f"SELECT {TICKET_FIELDS} FROM tickets t JOIN customers c ON c.id = t.customer_id "
        "WHERE t.customer_id = ? AND t.status IN ('open', 'pending') AND t.created_at >= ? AND t.created_at <= ? "
        "ORDER BY t.created_at DESC, t.id DESC LIMIT 20",
        (customer_id, since, to_db(at)),
    ):
        other = _subject_key(row["subject"])
        if other == key or SequenceMatcher(None, other, key).ratio() >= 0.85:
            return row
    return None


def open_ticket(
    conn: sqlite3.Connection,
    settings: Settings,
    *,
    customer_id: int,
    subject: str,
    at: datetime,
    channel: str | None = None,
    category: str | None = None,
    priority: str | None = None,
    message: str | None = None,
    tags: Iterable[str] = (),
    outreach: bool = False,
    order_id: int | None = None,
    asset_id: int | None = None,
) -> sqlite3.Row:
    """A new ticket; `message` is the customer's first message, or with `outreach` (we start the
    conversation) ours: then the customer's wait, and first response, start at their first reply.
    `order_id` and `asset_id` name the order or the asset (of this customer) it is about."""
    subject = " ".join(subject.split())
    if not subject:
        raise InvalidInput("a ticket needs a subject", "e.g. carecli ticket open ada 'Order #31 arrived damaged'")
    channel = settings.choose("channels", channel, "default_channel")
    values = {
        "id": undolog.next_id(conn, "tickets"),
        "customer_id": customer_id,
        "subject": subject,
        "channel": channel,
        "category": settings.choose("categories", category, "default_category"),
        "priority": settings.choose("priorities", priority, "default_priority"),
        "status": "open",
        "tags": normalize_tags(tags),
        "created_at": to_db(at),
        "updated_at": to_db(at),
        "outreach": int(outreach),
    }
    for table, ref_id, label in (("orders", order_id, "order"), ("assets", asset_id, "asset")):
        if ref_id is None:
            continue
        owner = store.scalar(conn, f"SELECT customer_id FROM {table} WHERE id = ?", (ref_id,))
        if owner != customer_id:
            raise InvalidInput(
                f"{label} #{ref_id} is not one of this customer's",
                f"see `carecli {label} list --customer {customer_id}`",
            )
        values[f"{label}_id"] = ref_id
    ticket_id = store.insert(conn, "tickets", values)
    record_event(conn, "opened", customer_id=customer_id, ticket_id=ticket_id, at=at)
    if message is not None:
        direction = "out" if outreach else "in"
        log_interaction(
            conn,
            customer_id=customer_id,
            ticket_id=ticket_id,
            direction=direction,
            channel=channel,
            body=message,
            at=at,
        )
    return get_ticket(conn, ticket_id)


def reply(
    conn: sqlite3.Connection,
    settings: Settings,
    ticket: sqlite3.Row,
    text: str,
    *,
    at: datetime,
    channel: str | None = None,
    pending: bool | None = None,
) -> sqlite3.Row:
    """Log an outbound message; the first one sets first_response_at. With `pending` (by default
    `[tickets] after_reply`, whoever replies: a command, a mailed reply), the reply
    hands an open ticket to the customer (set pending, its 'pending' event at `at`), unless the
    reply is older than the ticket's latest status change or the customer's latest message. On a
    ticket we started, our messages before the customer's first one are outreach, not replies: no
    response, no reply count."""
    _log_on_ticket(conn, settings, ticket, "out", text, at=at, channel=channel, what="reply to")
    changes: dict = {"updated_at": to_db(at)}
    if not _before_contact(ticket, at):
        changes["reply_count"] = ticket["reply_count"] + 1
        if ticket["first_response_at"] is None or at < from_db(ticket["first_response_at"]):
            # A reply logged after the fact may predate the one recorded as first.
            changes["first_response_at"] = to_db(at)
            changes["first_response_s"] = elapsed_s(_wait_start(ticket), at)
            if ticket["first_response_at"] is None:
                record_event(conn, "replied-first", customer_id=ticket["customer_id"], ticket_id=ticket["id"], at=at)
    store.update(conn, "tickets", ticket["id"], changes)
    row = get_ticket(conn, ticket["id"])
    if pending is None:
        pending = settings["tickets.after_reply"] == "pending"
    if pending and row["status"] == "open" and _latest_word(conn, row, at):
        row = set_pending(conn, row, at=at)
    return row


def _latest_word(conn: sqlite3.Connection, ticket: sqlite3.Row, at: datetime) -> bool:
    """A reply at `at` is the latest word on the ticket: no status change and no message from the
    customer after it (a reply logged after the fact must not undo what happened since)."""
    later_message = store.one(
        conn,
        "SELECT 1 FROM interactions WHERE ticket_id = ? AND direction = 'in' AND at > ? LIMIT 1",
        (ticket["id"], to_db(at)),
    )
    return later_message is None and _latest_change(conn, ticket["id"]) <= at


def _wait_start(ticket: sqlite3.Row) -> datetime:
    """When the customer's wait for an answer began: the opening, or on a ticket we started their
    first message."""
    return from_db(ticket["first_contact_at"] if ticket["outreach"] else ticket["created_at"])


def _before_contact(ticket: sqlite3.Row, at: datetime) -> bool:
    """Whether `at` comes before the customer wrote on a ticket we started (always False otherwise)."""
    return bool(ticket["outreach"]) and (ticket["first_contact_at"] is None or at < from_db(ticket["first_contact_at"]))


def _first_contact(conn: sqlite3.Connection, ticket: sqlite3.Row, at: datetime) -> dict:
    """On a ticket we started, the customer's first message at `at`: their wait starts there, so
    first response and the reply count are derived again from our messages after it."""
    contact = to_db(at)
    replies = store.the_row(
        conn,
        "SELECT COUNT(*) AS n, MIN(at) AS first FROM interactions WHERE ticket_id = ? AND direction = 'out' AND at >= ?",
        (ticket["id"], contact),
    )
    changes: dict = {"first_contact_at": contact, "reply_count": replies["n"], "first_response_at": replies["first"]}
    changes["first_response_s"] = replies["first"] and elapsed_s(at, from_db(replies["first"]))
    if replies["first"] and ticket["first_response_at"] is None:
        record_event(
            conn,
            "replied-first",
            customer_id=ticket["customer_id"],
            ticket_id=ticket["id"],
            at=from_db(replies["first"]),
        )
    return changes


def note(conn: sqlite3.Connection, settings: Settings, ticket: sqlite3.Row, text: str, *, at: datetime) -> sqlite3.Row:
    """An internal note: part of the timeline, never seen by the customer, not a response."""
    _log_on_ticket(conn, settings, ticket, "note", text, at=at, channel=None, what="add a note to")
    store.update(conn, "tickets", ticket["id"], {"updated_at": to_db(at)})
    return get_ticket(conn, ticket["id"])


@dataclass
class InboundResult:
    ticket: sqlite3.Row
    resumed: bool  # a pending ticket went back to open
    closed: bool  # the ticket is closed: the caller may suggest reopening


def inbound(
    conn: sqlite3.Connection,
    settings: Settings,
    ticket: sqlite3.Row,
    text: str,
    *,
    at: datetime,
    channel: str | None = None,
) -> InboundResult:
    """The customer wrote again: log it; a pending ticket is waiting on us again."""
    _log_on_ticket(conn, settings, ticket, "in", text, at=at, channel=channel, what="log a message on")
    changes: dict = {"updated_at": to_db(at)}
    if _before_contact(ticket, at):
        changes.update(_first_contact(conn, ticket, at))
    # A message dated before the ticket went pending (logged after the fact) does not resume it.
    resumed = ticket["status"] == "pending" and at >= _latest_change(conn, ticket["id"])
    if resumed:
        changes.update(_end_pause(conn, ticket, at), status="open")
        record_event(conn, "resumed", customer_id=ticket["customer_id"], ticket_id=ticket["id"], at=at)
    store.update(conn, "tickets", ticket["id"], changes)
    return InboundResult(get_ticket(conn, ticket["id"]), resumed, ticket["status"] == "closed")


def set_pending(conn: sqlite3.Connection, ticket: sqlite3.Row, *, at: datetime) -> sqlite3.Row:
    """Waiting on the customer."""
    if ticket["status"] == "pending":
        raise Conflict(f"ticket #{ticket['id']} is already pending")
    if ticket["status"] == "closed":
        raise Conflict(f"ticket #{ticket['id']} is closed", f"reopen it first: carecli ticket reopen {ticket['id']}")
    _not_before(ticket, at, "set pending")
    _in_order(conn, ticket, at, "set pending")
    store.update(
        conn, "tickets", ticket["id"], {"status": "pending", "pending_since": to_db(at), "updated_at": to_db(at)}
    )
    record_event(conn, "pending", customer_id=ticket["customer_id"], ticket_id=ticket["id"], at=at)
    return get_ticket(conn, ticket["id"])


def close(
    conn: sqlite3.Connection,
    ticket: sqlite3.Row,
    *,
    at: datetime,
    resolution: str | None = None,
) -> sqlite3.Row:
    if ticket["status"] == "closed":
        raise Conflict(
            f"ticket #{ticket['id']} is already closed", f"reopen it with: carecli ticket reopen {ticket['id']}"
        )
    _not_before(ticket, at, "close")
    if ticket["closed_at"] is not None:
        _not_before(ticket, at, "close", field="closed_at")
    _in_order(conn, ticket, at, "close")
    elapsed = elapsed_s(from_db(ticket["created_at"]), at)
    changes = {
        **_end_pause(conn, ticket, at),
        "status": "closed",
        "closed_at": to_db(at),
        "resolution_s": elapsed,
        "updated_at": to_db(at),
    }
    if ticket["first_closed_at"] is None:
        changes["first_closed_at"] = to_db(at)
        changes["first_resolution_s"] = elapsed
    if resolution is not None and resolution.strip():
        changes["resolution"] = resolution.strip()
    store.update(conn, "tickets", ticket["id"], changes)
    record_event(
        conn,
        "closed",
        customer_id=ticket["customer_id"],
        ticket_id=ticket["id"],
        at=at,
        detail={"resolution": changes["resolution"]} if "resolution" in changes else None,
    )
    return get_ticket(conn, ticket["id"])


def reopen(conn: sqlite3.Connection, ticket: sqlite3.Row, *, at: datetime, reason: str | None = None) -> sqlite3.Row:
    if ticket["status"] != "closed":
        raise Conflict(
            f"ticket #{ticket['id']} is {ticket['status']}, not closed", "only a closed ticket can be reopened"
        )
    _not_before(ticket, at, "reopen", field="closed_at")
    _in_order(conn, ticket, at, "reopen")
    store.update(
        conn,
        "tickets",
        ticket["id"],
        {
            "status": "open",
            "reopen_count": ticket["reopen_count"] + 1,
            "updated_at": to_db(at),
        },
    )
    record_event(
        conn,
        "reopened",
        customer_id=ticket["customer_id"],
        ticket_id=ticket["id"],
        at=at,
        detail={"reason": reason} if reason else None,
    )
    return get_ticket(conn, ticket["id"])


def edit(
    conn: sqlite3.Connection,
    settings: Settings,
    ticket: sqlite3.Row,
    *,
    at: datetime,
    subject: str | None = None,
    channel: str | None = None,
    category: str | None = None,
    priority: str | None = None,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
) -> sqlite3.Row:
    changes: dict = {}
    if subject is not None:
        changes["subject"] = " ".join(subject.split())
        if not changes["subject"]:
            raise InvalidInput("a ticket needs a subject")
    if channel is not None:
        changes["channel"] = settings.choose("channels", channel)
    if category is not None:
        changes["category"] = settings.choose("categories", category)
    if priority is not None:
        changes["priority"] = settings.choose("priorities", priority)
    add_tags, remove_tags = list(add_tags), list(remove_tags)
    if add_tags or remove_tags:
        changes["tags"] = merge_tags(ticket["tags"], add_tags, remove_tags)
    if not changes:
        raise InvalidInput(
            "nothing to change", "pass at least one of --subject, --channel, --category, --priority, --tag, --untag"
        )
    changes["updated_at"] = to_db(at)
    store.update(conn, "tickets", ticket["id"], changes)
    if "priority" in changes and changes["priority"] != ticket["priority"]:
        record_event(
            conn,
            "priority",
            customer_id=ticket["customer_id"],
            ticket_id=ticket["id"],
            at=at,
            detail={"from": ticket["priority"], "to": changes["priority"]},
        )
    return get_ticket(conn, ticket["id"])


# ---------------------------------------------------------------------------------------------
# Tickets whose whole history arrives at once: an import from another helpdesk, the generator
# ---------------------------------------------------------------------------------------------

Instant = tuple[datetime, str]  # a moment and its stored text, computed once by whoever read it


class TicketHistory(NamedTuple):
    """A ticket's stored fields as the commands above would have left them, step by step."""

    subject: str
    channel: str
    category: str
    priority: str
    status: str
    tags: str
    resolution: str | None
    created_at: str
    updated_at: str
    first_response_at: str | None
    first_closed_at: str | None
    closed_at: str | None
    reopen_count: int
    reply_count: int
    first_response_s: int | None
    first_resolution_s: int | None
    resolution_s: int | None


# A known ticket's row: its id, external id and customer, then its history.
KNOWN_COLUMNS = ("id", "external_id", "customer_id", *TicketHistory._fields)


def history(
    *,
    subject: str,
    channel: str,
    category: str,
    priority: str,
    status: str,
    tags: str,
    resolution: str | None,
    created: Instant,
    first_response: Instant | None,
    first_closed: Instant | None,
    closed: Instant | None,
    updated: Instant | None,
    reopens: int,
    replies: int | None,
) -> TicketHistory:
    """Derive what `reply` and `close` store from the moments themselves: the durations from
    `created` (as `elapsed_s`), the first close (the last one unless told), the last change (the
    latest moment unless told) and the reply count (one if there was a first response)."""
    first_closed = first_closed or closed
    if updated is None:  # the latest of the moments (the earliest of equal ones); no max(): a million calls
        updated = created
        if first_response is not None and first_response[0] > updated[0]:
            updated = first_response
        if closed is not None and closed[0] > updated[0]:
            updated = closed
    start = created[0]
    # tuple.__new__ skips the NamedTuple's Python-level __new__: the generator calls this a million times.
    return tuple.__new__(
        TicketHistory,
        (
            subject,
            channel,
            category,
            priority,
            status,
            tags,
            resolution,
            created[1],
            updated[1],
            first_response and first_response[1],
            first_closed and first_closed[1],
            closed and closed[1],
            reopens,
            (1 if first_response else 0) if replies is None else replies,
            first_response and elapsed_s(start, first_response[0]),
            first_closed and elapsed_s(start, first_closed[0]),
            closed and elapsed_s(start, closed[0]),
        ),
    )


def insert_known(conn: sqlite3.Connection, rows: Sequence[Sequence]) -> None:
    """Insert known tickets, rows in KNOWN_COLUMNS order, with ids from `next_ticket_id`."""
    store.insert_many(conn, "tickets", KNOWN_COLUMNS, rows)


def next_ticket_id(conn: sqlite3.Connection) -> int:
    return undolog.next_id(conn, "tickets")


def add_known_events(conn: sqlite3.Connection, first_id: int) -> None:
    """The events every known ticket from `first_id` on has, written by SQLite from the stored rows,
    in the order the commands write them (ticket by ticket: opened, replied-first, closed)."""
    conn.execute(
        """
        INSERT INTO events (customer_id, ticket_id, kind, at)
        SELECT customer_id, id, kind, at FROM (
            SELECT customer_id, id, 1 AS step, 'opened' AS kind, created_at AS at FROM tickets WHERE id >= :first
            UNION ALL SELECT customer_id, id, 2, 'replied-first', first_response_at FROM tickets
                      WHERE id >= :first AND first_response_at IS NOT NULL
            UNION ALL SELECT customer_id, id, 3, 'closed', first_closed_at FROM tickets
                      WHERE id >= :first AND first_closed_at IS NOT NULL
            UNION ALL SELECT customer_id, id, 4, 'closed', closed_at FROM tickets
                      WHERE id >= :first AND closed_at IS NOT NULL
                        AND (first_closed_at IS NULL OR closed_at <> first_closed_at))
        ORDER BY id, step""",
        {"first": first_id},
    )


def update_known(
    conn: sqlite3.Connection, ticket_id: int, customer_id: int, known: TicketHistory, *, at: datetime
) -> None:
    """Overwrite a ticket with what its source now says. Events are append-only: a first answer or
    a (new) close gets its event; a moved opening or first answer gets a 'corrected' event, stamped
    `at`, saying from what to what."""
    before = store.the_row(
        conn, "SELECT created_at, first_response_at, closed_at FROM tickets WHERE id = ?", (ticket_id,)
    )
    store.update(conn, "tickets", ticket_id, {**known._asdict(), "customer_id": customer_id})
    if known.first_response_at and before["first_response_at"] is None:
        record_event(
            conn, "replied-first", customer_id=customer_id, ticket_id=ticket_id, at=from_db(known.first_response_at)
        )
    if known.closed_at and known.closed_at != before["closed_at"]:
        record_event(conn, "closed", customer_id=customer_id, ticket_id=ticket_id, at=from_db(known.closed_at))
    corrected = {
        column: {"from": before[column], "to": getattr(known, column)}
        for column in ("created_at", "first_response_at")
        if before[column] is not None and getattr(known, column) != before[column]
    }
    if corrected:
        record_event(conn, "corrected", customer_id=customer_id, ticket_id=ticket_id, at=at, detail=corrected)


def derive_from_timeline(conn: sqlite3.Connection, ticket_id: int, *, at: datetime, why: str) -> sqlite3.Row:
    """Derive a ticket's first response, reply count and durations again from the messages on it
    now, after messages moved onto or off it (a merge, a move, an edited time): as if they had
    always been there. The opening moves back to an earlier customer message (a merged duplicate's
    first one). A replaced first response voids the old 'replied-first' event (`voided_by` says
    `why`) and appends the new one; a moved opening appends a 'corrected' event, as update_known
    does."""
    row = store.the_row(conn, "SELECT * FROM tickets WHERE id = ?", (ticket_id,))
    first_in = store.scalar(
        conn, "SELECT min(at) FROM interactions WHERE ticket_id = ? AND direction = 'in'", (ticket_id,)
    )
    created = row["created_at"]
    changes: dict = {}
    if row["outreach"]:
        changes["first_contact_at"] = first_in
        wait_start = first_in
    else:
        if first_in is not None and first_in < created:
            created = first_in
        wait_start = created
    replies = store.the_row(
        conn,
        "SELECT count(*) AS n, min(at) AS first FROM interactions WHERE ticket_id = ? AND direction = 'out' AND at >= ?",
        (ticket_id, wait_start or "9999"),
    )
    start = from_db(created)
    changes.update(
        created_at=created,
        reply_count=replies["n"],
        first_response_at=replies["first"],
        first_response_s=replies["first"] and elapsed_s(from_db(wait_start), from_db(replies["first"])),
        resolution_s=row["closed_at"] and elapsed_s(start, from_db(row["closed_at"])),
        first_resolution_s=row["first_closed_at"] and elapsed_s(start, from_db(row["first_closed_at"])),
    )
    changes = {key: value for key, value in changes.items() if row[key] != value}
    if changes:
        store.update(conn, "tickets", ticket_id, changes)
    if "first_response_at" in changes:
        undolog.void(conn, "events", why, "ticket_id = ? AND kind = 'replied-first'", (ticket_id,))
        if changes["first_response_at"] is not None:
            record_event(
                conn,
                "replied-first",
                customer_id=row["customer_id"],
                ticket_id=ticket_id,
                at=from_db(changes["first_response_at"]),
            )
    if "created_at" in changes:
        record_event(
            conn,
            "corrected",
            customer_id=row["customer_id"],
            ticket_id=ticket_id,
            at=at,
            detail={"created_at": {"from": row["created_at"], "to": created}},
        )
    return get_ticket(conn, ticket_id)
