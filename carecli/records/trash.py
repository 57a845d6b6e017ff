"""The trash: deleted records move out of the live tables, whole, until restored or purged.

Moving out (not flagging in place) keeps every reader untouched: a ticket in the trash is in no
listing, figure, suggestion, health score or search because its rows are simply not there. Its
rows wait in `trash_rows` as JSON with their ids, and `core.undolog.next_id` keeps those ids from
being given to new records, so a restore puts back exactly what was deleted. The append-only
trail stays: the record's events are marked `voided_by = 'trash:<id>'` (out of the figures) and
unmarked on restore; a 'deleted' and a 'restored' event say when and why.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from carecli.core import store, undolog
from carecli.core.errors import Conflict, InvalidInput, NotFound
from carecli.records.activity import record_event
from carecli.text.clock import to_db

REASONS = ("duplicate", "spam", "mistake", "other")
KINDS = ("ticket", "customer", "followup", "survey")


def check_reason(reason: str) -> str:
    reason = reason.strip().lower()
    if reason not in REASONS:
        raise InvalidInput(f"unknown reason '{reason}'", f"use one of: {', '.join(REASONS)}")
    return reason


def _has(conn: sqlite3.Connection, table: str) -> bool:
    return bool(store.scalar(conn, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)))


def _ids(rows: list[dict]) -> list[int]:
    return [row["id"] for row in rows]


def _gather(conn: sqlite3.Connection, kind: str, ref_id: int) -> dict[str, list[dict]]:
    """Every live row that goes with the record, by table (parents first)."""
    found: dict[str, list[dict]] = {}
    if kind == "customer":
        found["customers"] = undolog.rows(conn, "customers", "id", [ref_id])
        found["customer_addresses"] = undolog.rows(conn, "customer_addresses", "customer_id", [ref_id])
        if _has(conn, "orders"):  # before the tickets, which may name an order or an asset
            found["orders"] = undolog.rows(conn, "orders", "customer_id", [ref_id])
            found["order_lines"] = undolog.rows(conn, "order_lines", "order_id", _ids(found["orders"]))
            found["assets"] = undolog.rows(conn, "assets", "customer_id", [ref_id])
            found["services"] = undolog.rows(conn, "services", "asset_id", _ids(found["assets"]))
        found["tickets"] = undolog.rows(conn, "tickets", "customer_id", [ref_id])
        found["followups"] = undolog.rows(conn, "followups", "customer_id", [ref_id])
        found["interactions"] = undolog.rows(conn, "interactions", "customer_id", [ref_id])
        found["surveys"] = undolog.rows(conn, "surveys", "customer_id", [ref_id])
        if _has(conn, "mail_messages"):
            found["mail_messages"] = undolog.rows(conn, "mail_messages", "customer_id", [ref_id])
        for table in ("outbox", "consent"):
            if _has(conn, table):
                found[table] = undolog.rows(conn, table, "customer_id", [ref_id])
    elif kind == "merged-customer":  # everything else moved to the target already
        found["customers"] = undolog.rows(conn, "customers", "id", [ref_id])
    elif kind in ("ticket", "merged"):
        found["tickets"] = undolog.rows(conn, "tickets", "id", [ref_id])
        if kind == "ticket":
            found["followups"] = undolog.rows(conn, "followups", "ticket_id", [ref_id])
            found["interactions"] = undolog.rows(conn, "interactions", "ticket_id", [ref_id])
            found["surveys"] = undolog.rows(conn, "surveys", "ticket_id", [ref_id])
            if _has(conn, "mail_messages"):
                found["mail_messages"] = undolog.rows(conn, "mail_messages", "ticket_id", [ref_id])
            if _has(conn, "outbox"):
                found["outbox"] = undolog.rows(conn, "outbox", "ticket_id", [ref_id])
    elif kind == "followup":
        found["followups"] = undolog.rows(conn, "followups", "id", [ref_id])
    elif kind == "survey":
        found["surveys"] = undolog.rows(conn, "surveys", "id", [ref_id])
    if found.get("followups"):  # the contacts made for a follow-up go with it
        taken = set(_ids(found.get("interactions", [])))
        extra = [
            row
            for row in undolog.rows(conn, "interactions", "followup_id", _ids(found["followups"]))
            if row["id"] not in taken
        ]
        found["interactions"] = found.get("interactions", []) + extra
    return {table: rows for table, rows in found.items() if rows}


def _void_trail(conn: sqlite3.Connection, kind: str, ref_id: int, found: dict[str, list[dict]], mark: str) -> None:
    if kind == "customer":
        undolog.void(conn, "events", mark, "customer_id = ?", (ref_id,))
    elif kind in ("ticket", "merged"):
        undolog.void(conn, "events", mark, "ticket_id = ?", (ref_id,))
    followups = _ids(found.get("followups", []))
    if followups:
        undolog.void_in(conn, "followup_due_changes", mark, "followup_id", followups)


def move_to_trash(
    conn: sqlite3.Connection,
    kind: str,
    ref_id: int,
    *,
    label: str,
    customer_id: int,
    ticket_id: int | None,
    reason: str,
    at: datetime,
    into_id: int | None = None,
) -> int:
    """Move a record and what goes with it to the trash (inside the caller's transaction, with
    references unchecked: its events stay behind). Returns the trash entry's id."""
    found = _gather(conn, kind, ref_id)
    trash_id = store.insert(
        conn,
        "trash",
        {
            "kind": kind,
            "ref_id": ref_id,
            "customer_id": customer_id,
            "label": label,
            "reason": reason,
            "into_id": into_id,
            "at": to_db(at),
        },
    )
    store.insert_many(
        conn,
        "trash_rows",
        ("trash_id", "tbl", "row_id", "row_json"),
        [(trash_id, table, row["id"], json.dumps(row)) for table, rows in found.items() for row in rows],
    )
    for table in reversed(list(found)):
        undolog.delete_ids(conn, table, _ids(found[table]))
    _void_trail(conn, kind, ref_id, found, f"trash:{trash_id}")
    noun = {"merged": "ticket", "merged-customer": "customer"}.get(kind, kind)
    detail: dict = {noun: ref_id}
    if into_id is not None:
        detail["into"] = into_id
    else:
        detail["reason"] = reason
    detail["trash"] = trash_id
    record_event(
        conn,
        "merged" if kind == "merged" else "deleted",
        customer_id=customer_id,
        ticket_id=ticket_id,
        at=at,
        detail=detail,
    )
    return trash_id


def entry(conn: sqlite3.Connection, kind: str, ref_id: int) -> sqlite3.Row | None:
    return store.one(conn, "SELECT * FROM trash WHERE kind = ? AND ref_id = ? ORDER BY id DESC LIMIT 1", (kind, ref_id))


def restore(conn: sqlite3.Connection, kind: str, ref_id: int, *, at: datetime) -> sqlite3.Row:
    """Put a record back from the trash with the same ids; its events count again."""
    found = entry(conn, kind, ref_id)
    if found is None:
        raise NotFound(f"no {kind} #{ref_id} in the trash", "see `carecli trash`")
    held = conn.execute("SELECT tbl, row_id, row_json FROM trash_rows WHERE trash_id = ? ORDER BY id", (found["id"],))
    by_table: dict[str, list[dict]] = {}
    for table, _, row_json in held:
        by_table.setdefault(table, []).append(json.loads(row_json))
    # Every id is checked before anything goes back: putting a customer back makes its e-mail
    # address row anew (a trigger of m009), which its own image then replaces (undolog.put_back).
    for table in undolog.TRACKED:
        for image in by_table.get(table, []):
            if store.scalar(conn, f"SELECT 1 FROM {table} WHERE id = ?", (image["id"],)):
                raise Conflict(f"cannot restore {kind} #{ref_id}: {table} #{image['id']} exists again")
    for table in undolog.TRACKED:
        for image in by_table.get(table, []):
            undolog.put_back(conn, table, image)
    mark = f"trash:{found['id']}"
    for table in undolog.APPEND_ONLY:
        conn.execute(f"UPDATE {table} SET voided_by = NULL WHERE voided_by = ?", (mark,))
    conn.execute("DELETE FROM trash_rows WHERE trash_id = ?", (found["id"],))
    conn.execute("DELETE FROM trash WHERE id = ?", (found["id"],))
    ticket_id = ref_id if kind == "ticket" else None
    if kind in ("followup", "survey"):
        image = by_table["followups" if kind == "followup" else "surveys"][0]
        ticket_id = image.get("ticket_id")
    record_event(
        conn,
        "restored",
        customer_id=found["customer_id"],
        ticket_id=ticket_id,
        at=at,
        detail={"trash": found["id"], kind: ref_id},
    )
    return found


def list_trash(conn: sqlite3.Connection, *, limit: int | None) -> list[dict]:
    return [
        dict(row)
        for row in conn.execute(
            "SELECT t.kind, t.ref_id, t.label, t.customer_id, t.reason, t.into_id, t.at, "
            "(SELECT count(*) FROM trash_rows r WHERE r.trash_id = t.id) AS rows "
            "FROM trash t WHERE t.kind NOT LIKE 'merged%' ORDER BY t.at DESC, t.id DESC LIMIT ?",
            (limit or -1,),
        )
    ]


def purge(conn: sqlite3.Connection, *, before: datetime) -> int:
    """Empty the trash of what was deleted before `before`, for good (the voided events stay in
    the trail, out of the figures). Returns how many entries went."""
    # Merged records stay: they are where `ticket show` of an old number finds its target.
    ids = [
        row[0]
        for row in conn.execute("SELECT id FROM trash WHERE at < ? AND kind NOT LIKE 'merged%'", (to_db(before),))
    ]
    for trash_id in ids:
        conn.execute("DELETE FROM trash_rows WHERE trash_id = ?", (trash_id,))
        conn.execute("DELETE FROM trash WHERE id = ?", (trash_id,))
    return len(ids)


def count_before(conn: sqlite3.Connection, before: datetime) -> int:
    return (
        store.scalar(conn, "SELECT count(*) FROM trash WHERE at < ? AND kind NOT LIKE 'merged%'", (to_db(before),)) or 0
    )
