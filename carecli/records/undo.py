"""Undo: every write command is one step of the undo log; undoing one puts back what it changed.

The rows go back as they were (core/undolog.py keeps their before-images); the trail stays
append-only: the events and due-date moves the step appended are marked `voided_by = 'undo:<id>'`
(no figure reads them any more), and an 'undone' event on each ticket or customer it touched says
when and which command was undone.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

from carecli.core import store, undolog
from carecli.core.errors import Conflict, NotFound
from carecli.records.activity import record_event
from carecli.text.clock import to_db

# At most this many tickets get an 'undone' event each; an undone import of more says it once
# per customer it touched (the undo log itself keeps the rest).
_EVENTS_PER_TICKET_UP_TO = 1000


@dataclass
class Step:
    id: int
    at: str
    argv: list[str]
    inserted: dict[str, list[int]]
    undone_at: str | None
    undone_by: list[str] | None
    changes: list[sqlite3.Row] = field(default_factory=list)

    @property
    def command(self) -> str:
        import shlex

        return " ".join(shlex.quote(part) for part in self.argv)


def _step(row: sqlite3.Row) -> Step:
    return Step(
        row["id"],
        row["at"],
        json.loads(row["argv"]),
        json.loads(row["inserted"] or "{}"),
        row["undone_at"],
        json.loads(row["undone_by"]) if row["undone_by"] else None,
    )


def get_step(conn: sqlite3.Connection, step_id: int) -> Step:
    row = store.one(conn, "SELECT * FROM undo_steps WHERE id = ?", (step_id,))
    if row is None:
        raise NotFound(f"no command #{step_id} in the undo log", "see `carecli undo --list`")
    step = _step(row)
    step.changes = conn.execute("SELECT * FROM undo_rows WHERE step_id = ? ORDER BY id", (step_id,)).fetchall()
    return step


def last_step(conn: sqlite3.Connection) -> Step:
    step_id = store.scalar(conn, "SELECT max(id) FROM undo_steps WHERE undone_at IS NULL")
    if step_id is None:
        raise NotFound(
            "nothing to undo", "every write command can be undone once it has run; see `carecli undo --list`"
        )
    return get_step(conn, step_id)


def recent_steps(conn: sqlite3.Connection, limit: int | None) -> list[Step]:
    rows = conn.execute("SELECT id FROM undo_steps ORDER BY id DESC LIMIT ?", (limit or -1,)).fetchall()
    return [get_step(conn, row[0]) for row in rows]


def blocker(conn: sqlite3.Connection, step: Step) -> Step | None:
    """The earliest later step, not undone, that changed a record this step wrote, or None."""
    later = "SELECT s.id FROM undo_rows r JOIN undo_steps s ON s.id = r.step_id AND s.undone_at IS NULL"
    found: list[int] = []
    hit = store.scalar(
        conn,
        "SELECT min(s.id) FROM undo_rows mine JOIN undo_rows r ON r.tbl = mine.tbl AND r.row_id = mine.row_id "
        "AND r.step_id > mine.step_id JOIN undo_steps s ON s.id = r.step_id AND s.undone_at IS NULL "
        "WHERE mine.step_id = ?",
        (step.id,),
    )
    if hit is not None:
        found.append(hit)
    for table, (lo, hi) in step.inserted.items():
        hit = store.scalar(
            conn,
            f"SELECT min(id) FROM ({later} WHERE r.tbl = ? AND r.row_id BETWEEN ? AND ? AND r.step_id > ?)",
            (table, lo, hi, step.id),
        )
        if hit is not None:
            found.append(hit)
        orphan = undolog.orphans(conn, table, lo, hi, own=step.inserted)
        by = _inserted_step(conn, *orphan) if orphan else None
        if by is not None:
            found.append(by.id)
    return get_step(conn, min(found)) if found else None


def _inserted_step(conn: sqlite3.Connection, table: str, row_id: int) -> Step | None:
    """The step whose id range holds a row (the command that added it)."""
    for row in conn.execute(
        "SELECT * FROM undo_steps WHERE undone_at IS NULL AND inserted IS NOT NULL ORDER BY id DESC LIMIT 200"
    ):
        span = json.loads(row["inserted"]).get(table)
        if span and span[0] <= row_id <= span[1]:
            return _step(row)
    return None


# ----------------------------------------------------------------------------------------------
# What a step changed, in words
# ----------------------------------------------------------------------------------------------

_NOUNS = {
    "customers": ("customer", "customers"),
    "tickets": ("ticket", "tickets"),
    "interactions": ("message", "messages"),
    "followups": ("follow-up", "follow-ups"),
    "surveys": ("survey answer", "survey answers"),
    "orders": ("order", "orders"),
    "mail_messages": ("mail record", "mail records"),
    "trash": ("trash entry", "trash entries"),
}
_DIRECTION_WORD = {"in": "the customer's message", "out": "the reply", "note": "the note"}


def _count(n: int, table: str) -> str:
    one, many = _NOUNS[table]
    return f"{n:,} {one if n == 1 else many}"


def describe(conn: sqlite3.Connection, step: Step, *, detail: bool = True) -> list[str]:
    """What undoing the step would do, one phrase per change ("removes the reply on #4",
    "ticket #4 back to open", "first response cleared")."""
    phrases: list[str] = []
    for table, (lo, hi) in step.inserted.items():
        if table not in _NOUNS or table == "trash":
            continue
        n = hi - lo + 1
        if detail and n == 1 and table in ("tickets", "customers", "interactions"):
            row = store.one(conn, f"SELECT * FROM {table} WHERE id = ?", (lo,))
            if row is not None:
                if table == "tickets":
                    phrases.append(f"removes ticket #{lo} '{row['subject']}'")
                elif table == "customers":
                    phrases.append(f"removes customer {row['name']}")
                else:
                    where = f" on #{row['ticket_id']}" if row["ticket_id"] else ""
                    phrases.append(f"removes {_DIRECTION_WORD.get(row['direction'], 'the message')}{where}")
                continue
        phrases.append(f"removes {_count(n, table)} it added")
    changed: dict[str, set[int]] = {}
    deleted: dict[str, set[int]] = {}
    reinserted: dict[str, set[int]] = {}
    first_image: dict[tuple[str, int], dict] = {}
    for change in step.changes:
        key = (change["tbl"], change["row_id"])
        target = {"update": changed, "delete": deleted, "insert": reinserted}[change["op"]]
        target.setdefault(change["tbl"], set()).add(change["row_id"])
        if change["before_json"] and key not in first_image:
            first_image[key] = json.loads(change["before_json"])
    for table, ids in reinserted.items():
        if table in _NOUNS and table not in ("trash",):
            phrases.append(f"takes {_count(len(ids), table)} back out")
    for table, ids in deleted.items():
        if table in _NOUNS and table not in ("trash", "trash_rows"):
            if table == "tickets" and len(ids) <= 3:
                phrases.append("puts back " + ", ".join(f"ticket #{i}" for i in sorted(ids)))
            else:
                phrases.append(f"puts back {_count(len(ids), table)}")
    for table, ids in changed.items():
        if table not in _NOUNS or table == "trash":
            continue
        if table == "tickets" and detail and len(ids) <= 3:
            for ticket_id in sorted(ids):
                phrases.extend(_ticket_changes(conn, ticket_id, first_image[("tickets", ticket_id)]))
        else:
            phrases.append(f"puts back {_count(len(ids), table)} as they were")
    if not phrases and (step.inserted.get("events") or "events" in changed):
        phrases.append("takes its events out of the figures")
    return phrases


def _ticket_changes(conn: sqlite3.Connection, ticket_id: int, before: dict) -> list[str]:
    now = store.one(conn, "SELECT * FROM tickets WHERE id = ?", (ticket_id,))
    if now is None:
        return [f"puts back ticket #{ticket_id}"]
    words = []
    if now["status"] != before["status"]:
        words.append(f"ticket #{ticket_id} back to {before['status']}")
    if now["first_response_at"] != before["first_response_at"]:
        words.append("first response cleared" if before["first_response_at"] is None else "first response as before")
    for column, label in (("subject", "subject"), ("priority", "priority"), ("channel", "channel")):
        if now[column] != before[column]:
            words.append(f"{label} back to '{before[column]}'")
    if now["customer_id"] != before["customer_id"]:
        words.append(f"ticket #{ticket_id} back to customer #{before['customer_id']}")
    if not words:
        words.append(f"ticket #{ticket_id} as it was")
    return words


# ----------------------------------------------------------------------------------------------
# Undoing
# ----------------------------------------------------------------------------------------------


def undo(conn: sqlite3.Connection, step: Step, *, at: datetime, argv: Sequence[str]) -> list[str]:
    """Revert one step (inside the caller's transaction, references unchecked: see
    undolog.unchecked_references); returns what was done, in words. Refuses when a later step
    changed the same records, naming it."""
    if step.undone_at is not None:
        raise Conflict(f"command #{step.id} (`{step.command}`) was already undone at {step.undone_at}")
    later = blocker(conn, step)
    if later is not None:
        raise Conflict(
            f"cannot undo #{step.id} (`{step.command}`): #{later.id} (`{later.command}`) changed the same records since",
            f"undo #{later.id} first: carecli undo {later.id}",
        )
    _refuse_if_mail_went_out(conn, step)
    said = describe(conn, step)
    touched = _touched(conn, step)
    mark = f"undo:{step.id}"
    # The new rows go first: they did not exist before the step, and a before-image put back
    # may need what they hold (a current survey answer, an e-mail address) to be free again.
    for table, (lo, hi) in step.inserted.items():
        if table in undolog.APPEND_ONLY:
            undolog.void(conn, table, mark, "id BETWEEN ? AND ?", (lo, hi))
        else:
            conn.execute(f"DELETE FROM {table} WHERE id BETWEEN ? AND ?", (lo, hi))
            undolog.retire(conn, table, hi)
    for change in reversed(step.changes):
        table, row_id, op = change["tbl"], change["row_id"], change["op"]
        if op == "insert":
            if table in undolog.APPEND_ONLY:
                undolog.void(conn, table, mark, "id = ?", (row_id,))
            else:
                undolog.delete_ids(conn, table, [row_id])
        elif op == "update":
            undolog.overwrite(conn, table, json.loads(change["before_json"]))
        else:
            undolog.put_back(conn, table, json.loads(change["before_json"]))
    for table, (lo, hi) in step.inserted.items():
        if table in undolog.APPEND_ONLY:
            continue
        orphan = undolog.orphans(conn, table, lo, hi, own={})
        if orphan is not None:
            child, child_id = orphan
            by = _inserted_step(conn, child, child_id)
            culprit = f"#{by.id} (`{by.command}`)" if by else "a later command"
            raise Conflict(
                f"cannot undo #{step.id} (`{step.command}`): {culprit} added records to what it created",
                f"undo #{by.id} first: carecli undo {by.id}" if by else "see `carecli undo --list`",
            )
    store.update(conn, "undo_steps", step.id, {"undone_at": to_db(at), "undone_by": json.dumps(list(argv))})
    detail = {"command": f"#{step.id} {step.command}"}
    tickets, customers = touched
    if len(tickets) <= _EVENTS_PER_TICKET_UP_TO:
        for ticket_id, customer_id in sorted(tickets.items()):
            record_event(conn, "undone", customer_id=customer_id, ticket_id=ticket_id, at=at, detail=detail)
        customers = customers - set(tickets.values())
    for customer_id in sorted(customers):
        if store.scalar(conn, "SELECT 1 FROM customers WHERE id = ?", (customer_id,)) or len(customers) == 1:
            record_event(conn, "undone", customer_id=customer_id, at=at, detail=detail)
    return said


def _refuse_if_mail_went_out(conn: sqlite3.Connection, step: Step) -> None:
    """A queued mail goes with its step; one handed to the server (or maybe handed) cannot be taken back."""
    if "outbox" not in step.inserted:
        return
    lo, hi = step.inserted["outbox"]
    went = conn.execute(
        "SELECT id, state, recipient FROM outbox WHERE id BETWEEN ? AND ? AND state IN ('sending', 'sent') LIMIT 1",
        (lo, hi),
    ).fetchone()
    if went is not None:
        how = "was sent" if went["state"] == "sent" else "may have been sent"
        raise Conflict(
            f"cannot undo #{step.id} (`{step.command}`): its mail to {went['recipient']} {how} (outbox {went['id']})",
            "a sent mail cannot be taken back; correct it with another reply or a note",
        )


def _touched(conn: sqlite3.Connection, step: Step) -> tuple[dict[int, int], set[int]]:
    """The tickets (id -> customer) and customers a step wrote, for the 'undone' events."""
    tickets: dict[int, int] = {}
    customers: set[int] = set()
    for change in step.changes:
        image = json.loads(change["before_json"]) if change["before_json"] else None
        if change["tbl"] == "tickets" and image:
            tickets[change["row_id"]] = image["customer_id"]
        elif change["tbl"] == "customers":
            customers.add(change["row_id"])
        elif image and "customer_id" in image and change["tbl"] not in undolog.APPEND_ONLY:
            customers.add(image["customer_id"])
            if image.get("ticket_id") and change["tbl"] != "trash":
                tickets.setdefault(image["ticket_id"], image["customer_id"])
    for table, (lo, hi) in step.inserted.items():
        if table == "tickets":
            for row in conn.execute("SELECT id, customer_id FROM tickets WHERE id BETWEEN ? AND ?", (lo, hi)):
                tickets[row[0]] = row[1]
        elif table in ("interactions", "surveys", "followups"):
            for row in conn.execute(
                f"SELECT DISTINCT ticket_id, customer_id FROM {table} WHERE id BETWEEN ? AND ?", (lo, hi)
            ):
                if row[0] is not None:
                    tickets.setdefault(row[0], row[1])
                customers.add(row[1])
        elif table == "customers":
            customers.update(
                row[0] for row in conn.execute("SELECT id FROM customers WHERE id BETWEEN ? AND ?", (lo, hi))
            )
    return tickets, customers
