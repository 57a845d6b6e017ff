"""What happened with a customer: interactions (messages, calls, notes) and the append-only event trail."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any, Iterable, Sequence

from carecli.core import store, undolog
from carecli.core.errors import InvalidInput
from carecli.text.clock import to_db

DIRECTIONS = ("in", "out", "note")

# Batched writers (an import, the generator) give rows in these columns' order.
EVENT_COLUMNS = ("customer_id", "ticket_id", "kind", "at", "detail")
INTERACTION_COLUMNS = ("customer_id", "ticket_id", "followup_id", "direction", "channel", "body", "at")


def add_events(conn: sqlite3.Connection, rows: Iterable[Sequence]) -> None:
    """Events in bulk, rows in EVENT_COLUMNS order (detail as JSON text or None)."""
    store.insert_many(conn, "events", EVENT_COLUMNS, rows)


def add_interactions(conn: sqlite3.Connection, rows: Iterable[Sequence]) -> None:
    """Interactions in bulk, rows in INTERACTION_COLUMNS order, already checked by the caller."""
    store.insert_many(conn, "interactions", INTERACTION_COLUMNS, rows)


def record_event(
    conn: sqlite3.Connection,
    kind: str,
    *,
    customer_id: int,
    at: datetime,
    ticket_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    return store.insert(
        conn,
        "events",
        {
            "customer_id": customer_id,
            "ticket_id": ticket_id,
            "kind": kind,
            "at": to_db(at),
            "detail": json.dumps(detail, sort_keys=True) if detail else None,
        },
    )


def log_interaction(
    conn: sqlite3.Connection,
    *,
    customer_id: int,
    direction: str,
    channel: str,
    body: str,
    at: datetime,
    ticket_id: int | None = None,
    followup_id: int | None = None,
) -> sqlite3.Row:
    if direction not in DIRECTIONS:
        raise InvalidInput(f"unknown direction '{direction}'", f"use one of: {', '.join(DIRECTIONS)}")
    body = body.strip()
    if not body:
        raise InvalidInput("the message text is empty", "write what was said, e.g. 'Called to confirm delivery'")
    interaction_id = store.insert(
        conn,
        "interactions",
        {
            "id": undolog.next_id(conn, "interactions"),
            "customer_id": customer_id,
            "ticket_id": ticket_id,
            "followup_id": followup_id,
            "direction": direction,
            "channel": channel,
            "body": body,
            "at": to_db(at),
        },
    )
    return store.the_row(conn, "SELECT * FROM interactions WHERE id = ?", (interaction_id,))
