"""Customers: creating, finding by reference, editing, and their timeline."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from typing import Any, Iterable, Sequence

from carecli.core import store, undolog
from carecli.core.errors import Conflict, InvalidInput, NotFound
from carecli.schema.fulltext import customer_ids_with_words
from carecli.text.clock import to_db

CUSTOMER_FIELDS = "id, name, email, phone, tags, notes, created_at, lost_at, lost_reason"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG = re.compile(r"^[\w][\w.:/-]*$")

# Columns a batched writer (an import, the generator) may fill.
CUSTOMER_COLUMNS = (
    "id",
    "external_id",
    "name",
    "email",
    "phone",
    "tags",
    "notes",
    "created_at",
    "lost_at",
    "lost_reason",
)


def add_many(conn: sqlite3.Connection, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Customers in bulk, rows in `columns` order (a subset of CUSTOMER_COLUMNS), already checked."""
    unknown = set(columns) - set(CUSTOMER_COLUMNS)
    if unknown:
        raise ValueError(f"not customer columns: {sorted(unknown)}")
    store.insert_many(conn, "customers", columns, rows)


def update_fields(conn: sqlite3.Connection, customer_id: int, changes: dict[str, Any]) -> None:
    """Overwrite fields with what a source now says (an import with --on-duplicate update)."""
    unknown = set(changes) - set(CUSTOMER_COLUMNS)
    if unknown:
        raise ValueError(f"not customer columns: {sorted(unknown)}")
    if changes:
        store.update(conn, "customers", customer_id, changes)


def normalize_tags(tags: Iterable[str]) -> str:
    """Tags as stored: lower case, de-duplicated, comma-separated, in the order given."""
    seen: list[str] = []
    for tag in tags:
        tag = tag.strip().lower().lstrip("#")
        if not _TAG.match(tag):
            raise InvalidInput(
                f"invalid tag '{tag}'", "tags are single words such as vip or wholesale (letters, digits, - _ . : /)"
            )
        if tag not in seen:
            seen.append(tag)
    return ",".join(seen)


def merge_tags(current: str, add: Iterable[str] = (), remove: Iterable[str] = ()) -> str:
    removed = set(normalize_tags(remove).split(",")) if remove else set()
    kept = [t for t in current.split(",") if t and t not in removed]
    return normalize_tags([*kept, *add])


def clean_email(email: str | None) -> str | None:
    if email is None:
        return None
    email = email.strip()
    if not email:
        return None
    if not _EMAIL.match(email):
        raise InvalidInput(f"invalid email address '{email}'", "write it like name@example.com")
    return email


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("a customer needs a name", "e.g. carecli customer add 'Ada Lovelace'")
    if name.isdigit() or name.startswith("#"):
        raise InvalidInput(f"'{name}' looks like an id, not a name", "give the customer a name made of words")
    return name


def add_customer(
    conn: sqlite3.Connection,
    name: str,
    *,
    at: datetime,
    email: str | None = None,
    phone: str | None = None,
    tags: Iterable[str] = (),
    notes: str = "",
) -> sqlite3.Row:
    values = {
        "name": clean_name(name),
        "email": clean_email(email),
        "phone": (phone or "").strip() or None,
        "tags": normalize_tags(tags),
        "notes": notes.strip(),
        "created_at": to_db(at),
    }
    _check_email_free(conn, values["email"])
    customer_id = store.insert(conn, "customers", {"id": undolog.next_id(conn, "customers"), **values})
    return get_customer(conn, customer_id)


def _check_email_free(conn: sqlite3.Connection, email: str | None, except_id: int | None = None) -> None:
    if email is None:
        return
    row = store.one(conn, "SELECT id, name FROM customers WHERE email = ?", (email,))
    if row is not None and row["id"] != except_id:
        raise Conflict(
            f"{email} already belongs to customer #{row['id']} {row['name']}",
            f"refer to them as {row['id']} or {email}",
        )


def get_customer(conn: sqlite3.Connection, customer_id: int) -> sqlite3.Row:
    row = store.one(conn, f"SELECT {CUSTOMER_FIELDS} FROM customers WHERE id = ?", (customer_id,))
    if row is None:
        raise NotFound(f"no customer #{customer_id}", "see `carecli customer list`")
    return row


def resolve_customer(conn: sqlite3.Connection, ref: str) -> sqlite3.Row:
    """Find a customer by id (`12` or `#12`), email, full name, or a part of a name that fits one customer."""
    text = ref.strip()
    if not text:
        raise InvalidInput("empty customer reference", "give an id, an email or a name")
    bare = text.lstrip("#")
    if bare.isascii() and bare.isdigit():  # not str.isdigit alone: '²' is a digit int() refuses
        if int(bare) > store.MAX_ID:
            raise NotFound(f"no customer #{bare[:30]}", "see `carecli customer list`")
        return get_customer(conn, int(bare))
    if "@" in text:
        row = store.one(conn, f"SELECT {CUSTOMER_FIELDS} FROM customers WHERE email = ?", (text,))
        if row is None:  # another address of theirs (mail, a merged customer's e-mail)
            row = store.one(
                conn,
                f"SELECT {CUSTOMER_FIELDS} FROM customers WHERE id = "
                "(SELECT customer_id FROM customer_addresses WHERE kind = 'email' AND address = ?)",
                (text,),
            )
        if row is not None:
            return row
    matches = conn.execute(
        f"SELECT {CUSTOMER_FIELDS} FROM customers WHERE name = ? COLLATE NOCASE ORDER BY id LIMIT 6", (text,)
    ).fetchall()
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InvalidInput(
            f"'{text}' matches {_count_phrase(matches)}: {_candidates(matches)}",
            "refer to one by id or email",
        )
    # No exact name: a part of a name or email that fits exactly one customer is enough.
    partial = conn.execute(
        f"SELECT {CUSTOMER_FIELDS} FROM customers WHERE name LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\'"
        " ORDER BY id LIMIT 6",
        (store.containing(text),) * 2,
    ).fetchall()
    if len(partial) == 1:
        return partial[0]
    if partial:
        raise InvalidInput(
            f"'{text}' fits {_count_phrase(partial)}: {_candidates(partial)}",
            "refer to one by id, email or full name",
        )
    folded = _folded_matches(conn, text)
    if len(folded) == 1:
        return folded[0]
    if folded:
        raise InvalidInput(
            f"'{text}' fits {_count_phrase(folded)}: {_candidates(folded)}",
            "refer to one by id, email or full name",
        )
    raise NotFound(f"no customer '{text}'", f"add one with: carecli customer add '{text}'")


def _folded_matches(conn: sqlite3.Connection, text: str) -> list[sqlite3.Row]:
    """Customers whose name fits `text` with accents and case folded ("cafe nova": "Café Nova"),
    the whole name first, then a part of it.

    The search index (m019) folds accents already, so it finds the few candidates in C (each word
    typed as the start of a word of theirs); Python folds only those. A stored folded column would
    need triggers calling Python, which every connection would have to register."""
    import re

    from carecli.text.folding import fold

    wanted = fold(text)
    words = re.findall(r"\w+", wanted)
    if not words:
        return []
    ids = customer_ids_with_words(conn, words)
    marks = ", ".join("?" * len(ids))
    candidates = conn.execute(
        f"SELECT {CUSTOMER_FIELDS} FROM customers WHERE id IN ({marks}) ORDER BY id", ids
    ).fetchall()
    whole = [row for row in candidates if fold(row["name"]) == wanted]
    if whole:
        return whole[:6]
    return [row for row in candidates if wanted in fold(row["name"])][:6]


def _count_phrase(rows: list) -> str:
    return f"{len(rows)} customers" if len(rows) < 6 else "6 or more customers"


def _candidates(rows: list) -> str:
    shown = [f"#{r['id']} {r['name']}" + (f" <{r['email']}>" if r["email"] else "") for r in rows[:5]]
    return ", ".join(shown) + (", ..." if len(rows) > 5 else "")


def edit_customer(
    conn: sqlite3.Connection,
    customer: sqlite3.Row,
    *,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    notes: str | None = None,
    append_note: str | None = None,
) -> sqlite3.Row:
    changes: dict = {}
    if name is not None:
        changes["name"] = clean_name(name)
    if email is not None:
        changes["email"] = clean_email(email)
        _check_email_free(conn, changes["email"], except_id=customer["id"])
    if phone is not None:
        changes["phone"] = phone.strip() or None
    add_tags, remove_tags = list(add_tags), list(remove_tags)
    if add_tags or remove_tags:
        changes["tags"] = merge_tags(customer["tags"], add_tags, remove_tags)
    if notes is not None:
        changes["notes"] = notes.strip()
    if append_note:
        base = changes.get("notes", customer["notes"])
        changes["notes"] = (base + "\n" if base else "") + append_note.strip()
    if not changes:
        raise InvalidInput(
            "nothing to change", "pass at least one of --name, --email, --phone, --tag, --untag, --note, --append-note"
        )
    store.update(conn, "customers", customer["id"], changes)
    return get_customer(conn, customer["id"])


def list_customers(
    conn: sqlite3.Connection,
    *,
    tag: str | None = None,
    search: str | None = None,
    include_lost: bool = True,
    limit: int | None = None,
) -> sqlite3.Cursor:
    where: list[str] = []
    params: list[Any] = []
    if tag:
        where.append("(',' || tags || ',') LIKE ? ESCAPE '\\'")
        params.append(store.containing(f",{normalize_tags([tag])},"))
    if search:
        where.append("(name LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\' OR phone LIKE ? ESCAPE '\\')")
        params += [store.containing(search)] * 3
    if not include_lost:
        where.append("lost_at IS NULL")
    # Open tickets are counted from the few active ones (index on status) and joined, not per
    # customer: a per-customer count reads every ticket of every customer (3 s at 1M tickets).
    sql = f"""
        WITH open_counts AS (
            SELECT customer_id, count(*) AS n FROM tickets WHERE status IN ('open', 'pending') GROUP BY customer_id
        )
        SELECT c.id, c.name, c.email, c.phone, c.tags, c.created_at, c.lost_at, c.lost_reason,
               coalesce(o.n, 0) AS open_tickets,
               (SELECT max(at) FROM interactions i WHERE i.customer_id = c.id) AS last_contact_at
        FROM customers c LEFT JOIN open_counts o ON o.customer_id = c.id
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY c.name COLLATE NOCASE, c.id
    """
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return conn.execute(sql, params)


def addresses(conn: sqlite3.Connection, customer_id: int) -> list[dict]:
    """Every way to reach and recognise the customer (e-mail addresses and phones), oldest first:
    the first e-mail, those mail came from, and those a merged customer had."""
    return [
        dict(row)
        for row in conn.execute(
            "SELECT kind, address, created_at FROM customer_addresses WHERE customer_id = ? ORDER BY created_at, id",
            (customer_id,),
        )
    ]


def customer_timeline(conn: sqlite3.Connection, customer_id: int) -> list[dict]:
    """Every interaction with the customer, their orders and the services of what they own,
    oldest first. Orders and services have `direction` 'order' or 'service' (and no ticket)."""
    return [
        _with_order_total(dict(row))
        for row in conn.execute(
            """SELECT id, at, ticket_id, direction, channel, body, total, currency FROM (
                 SELECT id, at, ticket_id, direction, channel, body, NULL AS total, NULL AS currency, 0 AS sort
                   FROM interactions WHERE customer_id = ?
                 UNION ALL
                 SELECT o.id, o.ordered_at, NULL, 'order', o.source,
                        'order ' || coalesce(o.ref, '#' || o.id) || ': ' ||
                        (SELECT group_concat(product || CASE WHEN qty > 1 THEN ' x' || qty ELSE '' END, ', ')
                           FROM (SELECT product, qty FROM order_lines WHERE order_id = o.id ORDER BY position))
                        , o.total, o.currency, 1
                   FROM orders o WHERE o.customer_id = ?
                 UNION ALL
                 SELECT s.id, s.serviced_at, NULL, 'service', 'asset',
                        a.name || ' (asset #' || a.id || ') serviced' || CASE WHEN s.note <> '' THEN ': ' || s.note ELSE '' END,
                        NULL, NULL, 2
                   FROM services s JOIN assets a ON a.id = s.asset_id WHERE a.customer_id = ?
               ) ORDER BY at, sort, id""",
            (customer_id, customer_id, customer_id),
        )
    ]


def _with_order_total(row: dict) -> dict:
    """An order's line in the timeline ends with its total, two decimals and the currency."""
    total, currency = row.pop("total"), row.pop("currency")
    if total is not None:
        row["body"] += f" ({total:.2f}" + (f" {currency}" if currency else "") + ")"
    return row
