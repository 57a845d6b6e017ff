"""Merge and move: records put where they belong, as if they had always been there.

`merge_tickets` moves a duplicate's timeline, surveys, follow-ups and mail onto the target and
the duplicate itself to the trash as kind 'merged' (pointing at the target: no listing or figure
counts it as opened); `move_interaction` and `edit_interaction` correct one message. After each,
`derive_from_timeline` (records/tickets.py) derives the tickets' first response, reply count and
durations again from their messages, and the events say what happened ('merged', 'moved',
'edited'; a replaced first response voids the old 'replied-first' and appends the new one).
`merge_customers` moves everything of one customer to another; the source's e-mail and phone
become extra addresses of the target.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from carecli.core import store
from carecli.core.config import Settings
from carecli.core.errors import InvalidInput, NotFound
from carecli.records import tickets as ticket_records
from carecli.records.activity import DIRECTIONS, record_event
from carecli.records.trash import move_to_trash
from carecli.text.clock import to_db


def get_interaction(conn: sqlite3.Connection, interaction_id: int) -> sqlite3.Row:
    row = store.one(conn, "SELECT * FROM interactions WHERE id = ?", (interaction_id,))
    if row is None:
        raise NotFound(
            f"no interaction #{interaction_id}", "`carecli ticket show N` lists a ticket's messages with their ids"
        )
    return row


def _current_surveys(conn: sqlite3.Connection, ticket_id: int) -> dict[str, sqlite3.Row]:
    return {
        row["kind"]: row
        for row in conn.execute(
            "SELECT id, kind, at FROM surveys WHERE ticket_id = ? AND superseded_at IS NULL", (ticket_id,)
        )
    }


def merge_tickets(conn: sqlite3.Connection, source: sqlite3.Row, target: sqlite3.Row, *, at: datetime) -> sqlite3.Row:
    """Merge ticket `source` into `target` (inside the caller's transaction, references unchecked)."""
    if source["id"] == target["id"]:
        raise InvalidInput(f"cannot merge ticket #{source['id']} into itself")
    if source["customer_id"] != target["customer_id"]:
        raise InvalidInput(
            f"tickets #{source['id']} and #{target['id']} belong to different customers",
            f"move single messages with carecli interaction move ID --to-ticket {target['id']}",
        )
    # One current answer of each kind per ticket: the later one stays current.
    mine, theirs = _current_surveys(conn, source["id"]), _current_surveys(conn, target["id"])
    for kind, answer in mine.items():
        other = theirs.get(kind)
        if other is not None:
            older, newer = (
                (answer, other) if (answer["at"], answer["id"]) < (other["at"], other["id"]) else (other, answer)
            )
            store.update(conn, "surveys", older["id"], {"superseded_at": newer["at"]})
    for table in _present(conn, ("interactions", "surveys", "followups", "mail_messages", "outbox")):
        conn.execute(f"UPDATE {table} SET ticket_id = ? WHERE ticket_id = ?", (target["id"], source["id"]))
    ticket_records.derive_from_timeline(conn, target["id"], at=at, why=f"merge of #{source['id']}")
    move_to_trash(
        conn,
        "merged",
        source["id"],
        label=source["subject"],
        customer_id=source["customer_id"],
        ticket_id=target["id"],
        reason="merged",
        at=at,
        into_id=target["id"],
    )
    return ticket_records.get_ticket(conn, target["id"])


def move_interaction(
    conn: sqlite3.Connection,
    interaction: sqlite3.Row,
    *,
    ticket: sqlite3.Row | None,
    customer_id: int | None,
    at: datetime,
) -> sqlite3.Row:
    """Put a message on another ticket (and that ticket's customer), or on a customer without a ticket."""
    old_ticket = interaction["ticket_id"]
    if ticket is not None:
        if ticket["id"] == old_ticket:
            raise InvalidInput(f"interaction #{interaction['id']} is already on ticket #{ticket['id']}")
        if interaction["at"] < ticket["created_at"]:
            raise InvalidInput(
                f"interaction #{interaction['id']} at {interaction['at']} is older than ticket #{ticket['id']}"
                f" (opened {ticket['created_at']})",
                "move it to a ticket opened before it, or edit its time first",
            )
        changes = {"ticket_id": ticket["id"], "customer_id": ticket["customer_id"]}
    else:
        assert customer_id is not None
        if old_ticket is None and customer_id == interaction["customer_id"]:
            raise InvalidInput(f"interaction #{interaction['id']} is already with customer #{customer_id}")
        changes = {"ticket_id": None, "customer_id": customer_id}
    store.update(conn, "interactions", interaction["id"], changes)
    detail = {"interaction": interaction["id"], "from": old_ticket, "to": changes["ticket_id"]}
    for ticket_id in dict.fromkeys([old_ticket, changes["ticket_id"]]):
        if ticket_id is None:
            continue
        row = ticket_records.derive_from_timeline(
            conn, ticket_id, at=at, why=f"move of interaction #{interaction['id']}"
        )
        record_event(conn, "moved", customer_id=row["customer_id"], ticket_id=ticket_id, at=at, detail=detail)
    if old_ticket is None and changes["ticket_id"] is None:
        record_event(conn, "moved", customer_id=customer_id or interaction["customer_id"], at=at, detail=detail)
    return get_interaction(conn, interaction["id"])


def edit_interaction(
    conn: sqlite3.Connection,
    settings: Settings,
    interaction: sqlite3.Row,
    *,
    text: str | None,
    channel: str | None,
    when: datetime | None,
    at: datetime,
) -> sqlite3.Row:
    """Correct a message's text, channel or time, with the checks of logging it."""
    changes: dict = {}
    if text is not None:
        body = text.strip()
        if not body:
            raise InvalidInput("the message text is empty", "write what was said, e.g. 'Called to confirm delivery'")
        changes["body"] = body
    if channel is not None:
        changes["channel"] = settings.choose("channels", channel)
    if when is not None:
        changes["at"] = to_db(when)
        if interaction["ticket_id"] is not None:
            ticket = ticket_records.get_ticket(conn, interaction["ticket_id"])
            if changes["at"] < ticket["created_at"]:
                raise InvalidInput(
                    f"cannot move interaction #{interaction['id']} to {changes['at']}: ticket #{ticket['id']}"
                    f" was opened at {ticket['created_at']}",
                    "check --at",
                )
    changes = {key: value for key, value in changes.items() if value != interaction[key]}
    if not changes:
        raise InvalidInput("nothing to change", "pass --text, --channel or --at with a new value")
    assert interaction["direction"] in DIRECTIONS
    store.update(conn, "interactions", interaction["id"], changes)
    detail = {
        "interaction": interaction["id"],
        **{k: {"from": interaction[k], "to": v} for k, v in changes.items() if k != "body"},
    }
    if "body" in changes:
        detail["text"] = "changed"
    customer = interaction["customer_id"]
    if interaction["ticket_id"] is not None and "at" in changes:
        ticket_records.derive_from_timeline(
            conn, interaction["ticket_id"], at=at, why=f"edit of interaction #{interaction['id']}"
        )
    record_event(conn, "edited", customer_id=customer, ticket_id=interaction["ticket_id"], at=at, detail=detail)
    return get_interaction(conn, interaction["id"])


def _present(conn: sqlite3.Connection, tables: tuple[str, ...]) -> list[str]:
    """The tables this database has (a merge may run on a database of an older schema's tables)."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return [table for table in tables if table in names]


def _merge_consent(conn: sqlite3.Connection, source_id: int, target_id: int) -> None:
    """The merged customer's consent: kept when the target has none; an opt-out of either stands
    (one person who said no to care mail under any address said no)."""
    mine = store.one(conn, "SELECT id, opted_out_at, how FROM consent WHERE customer_id = ?", (source_id,))
    if mine is None:
        return
    theirs = store.one(conn, "SELECT id, opted_out_at FROM consent WHERE customer_id = ?", (target_id,))
    if theirs is None:
        conn.execute("UPDATE consent SET customer_id = ? WHERE id = ?", (target_id, mine["id"]))
        return
    if mine["opted_out_at"] and not theirs["opted_out_at"]:
        store.update(conn, "consent", theirs["id"], {"opted_out_at": mine["opted_out_at"], "how": mine["how"]})
    conn.execute("DELETE FROM consent WHERE id = ?", (mine["id"],))


def merge_customers(conn: sqlite3.Connection, source: sqlite3.Row, target: sqlite3.Row, *, at: datetime) -> int:
    """Move every record of customer `source` to `target`; the source's e-mail and phone become
    extra addresses of the target, the source goes to the trash (kind 'merged-customer'). Returns
    how many tickets moved."""
    if source["id"] == target["id"]:
        raise InvalidInput(f"cannot merge customer #{source['id']} into itself")
    moved = store.scalar(conn, "SELECT count(*) FROM tickets WHERE customer_id = ?", (source["id"],))
    for table in _present(
        conn, ("tickets", "interactions", "followups", "surveys", "mail_messages", "outbox", "orders", "assets")
    ):
        conn.execute(f"UPDATE {table} SET customer_id = ? WHERE customer_id = ?", (target["id"], source["id"]))
    if _present(conn, ("consent",)):
        _merge_consent(conn, source["id"], target["id"])
    addresses = conn.execute(
        "SELECT id, kind, address FROM customer_addresses WHERE customer_id = ?", (source["id"],)
    ).fetchall()
    conn.execute("DELETE FROM customer_addresses WHERE customer_id = ?", (source["id"],))
    wanted = [("email", row["address"]) for row in addresses if row["kind"] == "email"]
    wanted += [("phone", row["address"]) for row in addresses if row["kind"] == "phone"]
    if source["phone"]:
        wanted.append(("phone", source["phone"]))
    for kind, address in dict.fromkeys(wanted):
        taken = store.one(
            conn, "SELECT customer_id FROM customer_addresses WHERE kind = ? AND address = ?", (kind, address)
        )
        if taken is None:
            store.insert(
                conn,
                "customer_addresses",
                {"customer_id": target["id"], "kind": kind, "address": address, "created_at": to_db(at)},
            )
    # The source's events keep its id (the trail is append-only); per-ticket figures follow the
    # tickets, which are the target's now.
    move_to_trash(
        conn,
        "merged-customer",
        source["id"],
        label=source["name"],
        customer_id=target["id"],
        ticket_id=None,
        reason="merged",
        at=at,
        into_id=target["id"],
    )
    return moved
