"""Surveys: CSAT (1-5) and CES (1-7) per ticket, NPS (0-10) per customer, each response counted once.

A second CSAT or CES for a ticket replaces the first from its own time on: the earlier answer is
kept, marked superseded at the new answer's time (`superseded_at`), so a period that ended before
the replacement still counts the answer it had. Readers see current answers (superseded_at IS
NULL) unless they ask for history.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from carecli.core import store, undolog
from carecli.core.errors import InvalidInput, NotFound
from carecli.text.clock import from_db, to_db

KINDS = ("csat", "ces", "nps")
RANGES = {"csat": (1, 5), "ces": (1, 7), "nps": (0, 10)}
NAMES = {"csat": "CSAT", "ces": "CES", "nps": "NPS"}
ARTICLES = {"csat": "a", "ces": "a", "nps": "an"}
PER_TICKET = ("csat", "ces")

SURVEY_FIELDS = """
    s.id, s.kind, s.score, s.customer_id, c.name AS customer_name, s.ticket_id, s.comment, s.at, s.superseded_at
"""


def check_score(kind: str, score: int) -> int:
    low, high = RANGES[kind]
    if not low <= score <= high:
        raise InvalidInput(
            f"{ARTICLES[kind]} {NAMES[kind]} score must be from {low} to {high}, not {score}",
            f"give a whole number {low}-{high}",
        )
    return score


@dataclass
class Recorded:
    survey: sqlite3.Row
    replaced: sqlite3.Row | None  # the earlier response to the same ticket, now replaced


def record(
    conn: sqlite3.Connection,
    kind: str,
    score: int,
    *,
    at: datetime,
    customer_id: int,
    ticket_id: int | None = None,
    comment: str | None = None,
) -> Recorded:
    """Store one response. A second CSAT or CES for the same ticket supersedes the first from its
    own time on; it cannot be dated before the answer it replaces."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown survey kind '{kind}'", f"use one of: {', '.join(KINDS)}")
    check_score(kind, score)
    if kind in PER_TICKET and ticket_id is None:
        raise InvalidInput(f"a {NAMES[kind]} response belongs to a ticket", f"carecli survey {kind} TICKET SCORE")
    comment = (comment or "").strip() or None
    if ticket_id is not None:
        opened = store.scalar(conn, "SELECT created_at FROM tickets WHERE id = ?", (ticket_id,))
        if opened is not None and at < from_db(opened):
            raise InvalidInput(
                f"cannot record a {NAMES[kind]} answer for ticket #{ticket_id} at {to_db(at)}: "
                f"it was opened at {opened}",
                "check --at: an answer about a ticket comes after it was opened",
            )
    earlier = None
    if kind in PER_TICKET:
        earlier = store.one(
            conn,
            f"SELECT {SURVEY_FIELDS} FROM surveys s JOIN customers c ON c.id = s.customer_id "
            "WHERE s.kind = ? AND s.ticket_id = ? AND s.superseded_at IS NULL",
            (kind, ticket_id),
        )
        if earlier is not None and to_db(at) < earlier["at"]:
            raise InvalidInput(
                f"--at {to_db(at)} is before the {NAMES[kind]} it would replace for ticket #{ticket_id} "
                f"(given at {earlier['at']})"
            )
    survey_id = _add_current(
        conn,
        kind,
        customer_id=customer_id,
        ticket_id=ticket_id,
        score=score,
        comment=comment,
        at=to_db(at),
        replaces=earlier["id"] if earlier is not None else None,
    )
    return Recorded(get_survey(conn, survey_id), earlier)


def _add_current(
    conn: sqlite3.Connection,
    kind: str,
    *,
    customer_id: int,
    ticket_id: int | None,
    score: int,
    comment: str | None,
    at: str,
    replaces: int | None,
) -> int:
    """Insert an answer as the current one; the answer it `replaces` is superseded at its time."""
    if replaces is not None:
        store.update(conn, "surveys", replaces, {"superseded_at": at})
    return store.insert(
        conn,
        "surveys",
        {
            "id": undolog.next_id(conn, "surveys"),
            "kind": kind,
            "customer_id": customer_id,
            "ticket_id": ticket_id,
            "score": score,
            "comment": comment,
            "at": at,
        },
    )


def get_survey(conn: sqlite3.Connection, survey_id: int) -> sqlite3.Row:
    row = store.one(
        conn,
        f"SELECT {SURVEY_FIELDS} FROM surveys s JOIN customers c ON c.id = s.customer_id WHERE s.id = ?",
        (survey_id,),
    )
    if row is None:
        raise NotFound(f"no survey answer #{survey_id}", "see `carecli survey list`")
    return row


def list_surveys(
    conn: sqlite3.Connection,
    *,
    kind: str | None = None,
    customer_id: int | None = None,
    ticket_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    replaced: bool = False,
) -> sqlite3.Cursor:
    """Current responses matching the filters, newest first; with `replaced`, replaced ones too."""
    where: list[str] = [] if replaced else ["s.superseded_at IS NULL"]
    params: list = []
    for column, value in (("s.kind", kind), ("s.customer_id", customer_id), ("s.ticket_id", ticket_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if since is not None:
        where.append("s.at >= ?")
        params.append(to_db(since))
    if until is not None:
        where.append("s.at < ?")
        params.append(to_db(until))
    sql = (
        f"SELECT {SURVEY_FIELDS} FROM surveys s JOIN customers c ON c.id = s.customer_id "
        f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY s.at DESC, s.id DESC"
    )
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return conn.execute(sql, params)


def add_demo_surveys(conn: sqlite3.Connection, *, end: datetime, seed: int) -> int:
    """Demo responses: CSAT on about 30% of closed tickets, CES on some, NPS from some customers."""
    rng = random.Random(seed)
    made = 0
    closed = conn.execute(
        "SELECT id, customer_id, closed_at FROM tickets WHERE status = 'closed' ORDER BY id"
    ).fetchall()
    for ticket in closed:
        answered = from_db(ticket["closed_at"]) + timedelta(hours=rng.randint(1, 48))
        if answered >= end:
            continue
        if rng.random() < 0.3:
            score = rng.choices([1, 2, 3, 4, 5], [1, 1, 2, 5, 8])[0]
            record(
                conn,
                "csat",
                score,
                at=answered,
                customer_id=ticket["customer_id"],
                ticket_id=ticket["id"],
                comment=rng.choice([None, None, "Lovely flowers, thank you!", "Took a while."]),
            )
            made += 1
        if rng.random() < 0.15:
            record(
                conn,
                "ces",
                rng.choices(range(1, 8), [1, 1, 1, 2, 3, 5, 4])[0],
                at=answered,
                customer_id=ticket["customer_id"],
                ticket_id=ticket["id"],
            )
            made += 1
    customers = [row[0] for row in conn.execute("SELECT id FROM customers ORDER BY id")]
    for customer_id in rng.sample(customers, k=len(customers) // 3):
        answered = end - timedelta(days=rng.randint(1, 90), hours=rng.randint(0, 8))
        record(
            conn,
            "nps",
            rng.choices(range(11), [1, 1, 1, 1, 1, 2, 2, 4, 6, 8, 7])[0],
            at=answered,
            customer_id=customer_id,
        )
        made += 1
    return made


# Batched writers (an import, the generator) give rows in these columns' order.
SURVEY_COLUMNS = ("kind", "customer_id", "ticket_id", "score", "comment", "at")


def add_many(conn: sqlite3.Connection, rows: Iterable[Sequence]) -> None:
    """Survey answers in bulk, rows in SURVEY_COLUMNS order, scores already checked."""
    store.insert_many(conn, "surveys", SURVEY_COLUMNS, rows)


def set_ticket_score(
    conn: sqlite3.Connection, kind: str, *, customer_id: int, ticket_id: int, score: int, at: str
) -> None:
    """A ticket's CSAT or CES as its source now gives it: added, or a changed score replacing the
    stored one. The replacement is dated `at`, or the stored answer's time if that is later (an
    answer is never dated before the one it replaces)."""
    current = store.one(
        conn,
        "SELECT id, score, at FROM surveys WHERE kind = ? AND ticket_id = ? AND superseded_at IS NULL",
        (kind, ticket_id),
    )
    if current is not None and current["score"] == score:
        return
    _add_current(
        conn,
        kind,
        customer_id=customer_id,
        ticket_id=ticket_id,
        score=score,
        comment=None,
        at=at if current is None else max(at, current["at"]),
        replaces=None if current is None else current["id"],
    )
