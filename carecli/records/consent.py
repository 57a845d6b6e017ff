"""Consent to care mail: the one writer of table `consent` (migration m017). Replies go to whoever
wrote; outreach (care messages nobody asked for) goes only to customers who have not opted out.
Each customer gets a random token the first time outreach is composed for them; a mail to the shop
carrying `unsubscribe <token>` (what the List-Unsubscribe mailto link sends) opts them out."""

from __future__ import annotations

import re
import secrets
import sqlite3
from datetime import datetime

from carecli.core import store
from carecli.core.errors import Conflict
from carecli.records.activity import record_event
from carecli.text.clock import to_db

TOKEN_BYTES = 12
_IN_SUBJECT = re.compile(r"\bunsubscribe\s+([A-Za-z0-9_-]{16})(?![A-Za-z0-9_-])", re.I)


def state(conn: sqlite3.Connection, customer_id: int) -> sqlite3.Row | None:
    return store.one(
        conn, "SELECT customer_id, token, opted_out_at, how FROM consent WHERE customer_id = ?", (customer_id,)
    )


def opted_out_at(conn: sqlite3.Connection, customer_id: int) -> str | None:
    row = state(conn, customer_id)
    return row["opted_out_at"] if row else None


def token_for(conn: sqlite3.Connection, customer_id: int) -> str:
    """The customer's unsubscribe token, made on first use (inside the caller's transaction)."""
    row = state(conn, customer_id)
    if row is not None:
        return row["token"]
    token = secrets.token_urlsafe(TOKEN_BYTES)
    store.insert(conn, "consent", {"customer_id": customer_id, "token": token})
    return token


def token_in(subject: str) -> str | None:
    found = _IN_SUBJECT.search(subject or "")
    return found[1] if found else None


def customer_of_token(conn: sqlite3.Connection, token: str) -> int | None:
    return store.scalar(conn, "SELECT customer_id FROM consent WHERE token = ?", (token,))


def opt_out(conn: sqlite3.Connection, customer_id: int, *, at: datetime, how: str) -> bool:
    """Opt the customer out; False when they already were (nothing changes)."""
    token_for(conn, customer_id)
    if opted_out_at(conn, customer_id):
        return False
    conn.execute("UPDATE consent SET opted_out_at = ?, how = ? WHERE customer_id = ?", (to_db(at), how, customer_id))
    record_event(conn, "opted-out", customer_id=customer_id, at=at, detail={"how": how})
    return True


def opt_in(conn: sqlite3.Connection, customer_id: int, *, at: datetime, how: str) -> None:
    if not opted_out_at(conn, customer_id):
        raise Conflict("that customer has not opted out", "care mail already goes to them")
    conn.execute("UPDATE consent SET opted_out_at = NULL, how = ? WHERE customer_id = ?", (how, customer_id))
    record_event(conn, "opted-in", customer_id=customer_id, at=at, detail={"how": how})
