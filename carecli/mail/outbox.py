"""The outbox: the one writer of table `outbox` (migration m016). Queuing happens inside the
command that decides to send (a reply, a care rule), so the message exists exactly when the
record of it does; `send` hands due messages to one transport, each in three steps, each its own
transaction: claim (queued -> sending), hand over, record the answer (sent, failed, or queued
again later). What it can guarantee: a message is never handed over twice by carecli on its own;
one whose answer was lost (a crash or a broken connection after the whole message went out) stays
`sending` and is resent only with `retry_unknown`, because it may already be in the customer's
mailbox. What it cannot: that a server which said 250 delivers."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from carecli.core import store
from carecli.core.config import Settings
from carecli.core.errors import Conflict, NotFound, ServerUnavailable
from carecli.mail import transport as transports
from carecli.mail.compose import Composed
from carecli.text.clock import now_utc, to_db

STATES = ("queued", "sending", "sent", "failed", "cancelled")
LISTED = (
    "SELECT o.id, o.kind, o.state, o.ticket_id, o.customer_id, c.name AS customer_name, o.recipient, o.subject,"
    " o.due_at, o.attempts, o.sent_at, o.server_reply, o.last_error, o.cancelled_why, o.rule, o.message_id,"
    " o.created_at FROM outbox o LEFT JOIN customers c ON c.id = o.customer_id"
)


def queue(
    conn: sqlite3.Connection,
    composed: Composed,
    *,
    kind: str,
    at: datetime,
    due: datetime | None = None,
    customer_id: int | None = None,
    ticket_id: int | None = None,
    interaction_id: int | None = None,
    followup_id: int | None = None,
    rule: str | None = None,
) -> int:
    """Queue one message (inside the caller's transaction) and record its Message-ID as one we
    sent on the ticket, so that the customer's answer threads onto it by In-Reply-To."""
    outbox_id = store.insert(
        conn,
        "outbox",
        {
            "kind": kind,
            "customer_id": customer_id,
            "ticket_id": ticket_id,
            "interaction_id": interaction_id,
            "followup_id": followup_id,
            "rule": rule,
            "message_id": composed.message_id,
            "sender": composed.sender,
            "recipient": composed.recipient,
            "subject": composed.subject,
            "raw": composed.raw,
            "state": "queued",
            "due_at": to_db(due or at),
            "created_at": to_db(at),
        },
    )
    store.insert(
        conn,
        "mail_messages",
        {
            "message_id": composed.message_id,
            "content_hash": hashlib.sha256(composed.raw.encode("ascii")).hexdigest(),
            "direction": "out",
            "status": "filed",
            "reason": f"sent by carecli (outbox {outbox_id})",
            "sender": composed.sender,
            "subject": composed.subject,
            "sent_at": to_db(at),
            "received_at": to_db(at),
            "customer_id": customer_id,
            "ticket_id": ticket_id,
            "interaction_id": interaction_id,
        },
    )
    return outbox_id


def listing(conn: sqlite3.Connection, *, states: tuple[str, ...] = STATES, limit: int | None = None) -> list[dict]:
    marks = ", ".join("?" for _ in states)
    sql = f"{LISTED} WHERE o.state IN ({marks}) ORDER BY o.id DESC"
    rows = conn.execute(sql + (" LIMIT ?" if limit else ""), (*states, *((limit,) if limit else ())))
    return [dict(row) for row in rows]


def get(conn: sqlite3.Connection, outbox_id: int) -> sqlite3.Row:
    row = conn.execute(f"{LISTED} WHERE o.id = ?", (outbox_id,)).fetchone()
    if row is None:
        raise NotFound(f"no message {outbox_id} in the outbox", "carecli outbox list shows them")
    return row


def cancel(conn: sqlite3.Connection, outbox_id: int, *, why: str) -> sqlite3.Row:
    row = get(conn, outbox_id)
    if row["state"] not in ("queued", "failed"):
        raise Conflict(
            f"message {outbox_id} is {row['state']}, not queued",
            "only a queued or failed message can be cancelled" + ("; it was sent" if row["state"] == "sent" else ""),
        )
    store.update(conn, "outbox", outbox_id, {"state": "cancelled", "cancelled_why": why})
    return get(conn, outbox_id)


def retry(conn: sqlite3.Connection, outbox_id: int, *, at: datetime, unknown: bool = False) -> sqlite3.Row:
    """A failed message (or, told so, one of unknown fate) due again now."""
    row = get(conn, outbox_id)
    allowed = ("failed", "sending") if unknown else ("failed",)
    if row["state"] not in allowed:
        hint = (
            "its fate is unknown (it may have been delivered): `outbox retry --unknown` resends it anyway"
            if row["state"] == "sending"
            else "only a failed message can be retried"
        )
        raise Conflict(f"message {outbox_id} is {row['state']}", hint)
    store.update(conn, "outbox", outbox_id, {"state": "queued", "due_at": to_db(at), "attempts": 0, "last_error": None})
    return get(conn, outbox_id)


def cancel_care_for_ticket(conn: sqlite3.Connection, ticket_id: int) -> list[int]:
    """The customer wrote in first: their queued outreach on that ticket, and whatever a care rule
    queued on it (a nudge is a reply, but one the customer has just made pointless), is not sent."""
    ids = [
        row[0]
        for row in conn.execute(
            "SELECT id FROM outbox WHERE ticket_id = ? AND state = 'queued' AND (kind = 'outreach' OR rule IS NOT NULL)",
            (ticket_id,),
        )
    ]
    for outbox_id in ids:
        store.update(conn, "outbox", outbox_id, {"state": "cancelled", "cancelled_why": "the customer wrote first"})
    return ids


@dataclass
class Sent:
    sent: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)  # queued again, for later
    failed: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)  # handed over, no answer: left `sending`
    stuck: int = 0  # older rows of unknown fate, not touched
    stopped: str | None = None  # why the run stopped early (the server went away)


def unknown_fate(conn: sqlite3.Connection) -> list[int]:
    return [row[0] for row in conn.execute("SELECT id FROM outbox WHERE state = 'sending' ORDER BY id")]


def send_due(
    conn: sqlite3.Connection,
    settings: Settings,
    open_transport: Callable[[], transports.Transport],
    *,
    retry_unknown: bool = False,
    limit: int | None = None,
    on_each: Callable[[int], None] = lambda _: None,
) -> Sent:
    """Send what is due over one transport, opened only when something is due."""
    result = Sent()
    now = now_utc()
    if retry_unknown:
        with store.transaction(conn):
            conn.execute("UPDATE outbox SET state = 'queued', due_at = ? WHERE state = 'sending'", (to_db(now),))
    result.stuck = len(unknown_fate(conn))
    due = [
        row[0]
        for row in conn.execute(
            "SELECT id FROM outbox WHERE state = 'queued' AND due_at <= ? ORDER BY due_at, id"
            + (" LIMIT ?" if limit else ""),
            (to_db(now), *((limit,) if limit else ())),
        )
    ]
    if not due:
        return result
    link = open_transport()
    try:
        for outbox_id in due:
            row = _claim(conn, outbox_id)
            if row is None:  # another `outbox send` took it, or it was cancelled meanwhile
                continue
            try:
                answer = link.send(row["sender"], row["recipient"], row["raw"].encode("ascii"))
            except transports.Unknown as exc:
                _note(conn, outbox_id, {"last_error": str(exc)})  # stays `sending`
                result.unknown.append(outbox_id)
                result.stopped = str(exc)
                break
            except transports.Refused as exc:
                _note(conn, outbox_id, {"state": "failed", "last_error": str(exc)})
                result.failed.append(outbox_id)
            except transports.Deferred as exc:
                failed_for_good = _defer(conn, settings, row, str(exc))
                (result.failed if failed_for_good else result.deferred).append(outbox_id)
            except ServerUnavailable as exc:  # nothing of this message was taken; the rest wait too
                failed_for_good = _defer(conn, settings, row, exc.message)
                (result.failed if failed_for_good else result.deferred).append(outbox_id)
                result.stopped = exc.message
                break
            else:
                _note(conn, outbox_id, {"state": "sent", "sent_at": to_db(now_utc()), "server_reply": answer})
                result.sent.append(outbox_id)
            on_each(outbox_id)
    finally:
        link.close()
    return result


def _claim(conn: sqlite3.Connection, outbox_id: int) -> sqlite3.Row | None:
    with store.transaction(conn):
        taken = conn.execute(
            "UPDATE outbox SET state = 'sending', claimed_at = ?, attempts = attempts + 1"
            " WHERE id = ? AND state = 'queued'",
            (to_db(now_utc()), outbox_id),
        ).rowcount
        if not taken:
            return None
        return conn.execute("SELECT * FROM outbox WHERE id = ?", (outbox_id,)).fetchone()


def _note(conn: sqlite3.Connection, outbox_id: int, values: dict) -> None:
    with store.transaction(conn):
        store.update(conn, "outbox", outbox_id, values)


def _defer(conn: sqlite3.Connection, settings: Settings, row: sqlite3.Row, error: str) -> bool:
    """Queued again after a wait that doubles each attempt; failed after mail.max_attempts."""
    if row["attempts"] >= settings["mail.max_attempts"]:
        _note(conn, row["id"], {"state": "failed", "last_error": f"{error} (after {row['attempts']} attempts)"})
        return True
    wait: timedelta = settings.duration("mail.retry_after") * (2 ** (row["attempts"] - 1))
    _note(conn, row["id"], {"state": "queued", "last_error": error, "due_at": to_db(now_utc() + wait)})
    return False
