"""Full-text search over tickets, interactions and customers through the FTS5 indexes of m019
(English stemming, accents folded)."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from carecli.core.errors import InvalidInput
from carecli.text.clock import to_db

RANK_CAP = 20_000  # matches ranked per source; beyond it, the most recent ones (see README: Search)


@dataclass(frozen=True)
class Source:
    kind: str
    table: str  # the FTS5 index
    snippet_column: int  # -1: whichever column matched best
    record: str  # FROM clause of the indexed record, aliased, with its customer as c
    key: str  # the record's id column
    ref: str  # how a person refers to the hit
    ticket: str
    at: str
    customer: str
    filter_table: str  # the base table, for the filters


SOURCES = (
    Source(
        "ticket",
        "tickets_fts",
        0,
        "tickets t JOIN customers c ON c.id = t.customer_id",
        "t.id",
        "'#' || t.id",
        "t.id",
        "t.created_at",
        "t.customer_id",
        "tickets t",
    ),
    Source(
        "message",
        "interactions_fts",
        0,
        "interactions i JOIN customers c ON c.id = i.customer_id",
        "i.id",
        "CASE WHEN i.ticket_id IS NULL THEN 'contact ' || i.id ELSE '#' || i.ticket_id END",
        "i.ticket_id",
        "i.at",
        "i.customer_id",
        "interactions i",
    ),
    Source(
        "customer",
        "customers_fts",
        -1,
        "customers c",
        "c.id",
        "coalesce(c.email, '#' || c.id)",
        "NULL",
        "c.created_at",
        "c.id",
        "customers c",
    ),
)


OPERATORS = ("OR", "NOT", "AND")  # only in capitals, between terms; lower-case "or" is a word
_TERM = re.compile(r'"([^"]*)"?|(\S+)')


def fts_query(text: str) -> str:
    """The user's words as an FTS5 query that can never be a syntax error.

    Every term must match unless joined by OR; `NOT term` excludes; "a phrase" matches the words
    in order; `word*` matches words starting with `word`. Each term is quoted for FTS5, so `-`, `:`,
    `(`, `^` and the like in what people type are only characters, never syntax.
    """
    parts: list[str] = []  # quoted terms and operators, in order
    for match in _TERM.finditer(text):
        phrase, word = match.group(1), match.group(2)
        if word in OPERATORS:
            parts.append(word)
            continue
        raw = phrase if phrase is not None else word
        prefix = phrase is None and raw.endswith("*")
        words = re.findall(r"\w+", raw)
        if not words:
            continue  # punctuation only: nothing FTS5 would index
        quoted = '"' + " ".join(words) + '"'
        parts.append(quoted + "*" if prefix else quoted)
    if not any(part not in OPERATORS for part in parts):
        raise InvalidInput("nothing to search for", "give at least one word, e.g. carecli search refund")
    previous = None
    for position, part in enumerate(parts):
        if part in OPERATORS:
            if previous is None or previous in OPERATORS:
                raise InvalidInput(
                    f"{part} needs a word before it",
                    f'write e.g. roses {part} wreath, or "{part.lower()}" in quotes to find the word',
                )
            if position == len(parts) - 1:
                raise InvalidInput(
                    f"{part} needs a word after it",
                    f'write e.g. roses {part} wreath, or "{part.lower()}" in quotes to find the word',
                )
        previous = part
    return " ".join(part for part in parts if part != "AND")


def search(
    conn: sqlite3.Connection,
    text: str,
    *,
    customer_id: int | None = None,
    since: datetime | None = None,
    limit: int = 20,
    highlight: tuple[str, str] = ("", ""),
) -> list[dict]:
    """The best `limit` matches across all sources, best first.

    A source with more than RANK_CAP matches is ranked among its RANK_CAP most recent matches only.

    Two steps keep it fast on large databases: rank ids inside each FTS index (no joins, no
    snippets), then fetch records and snippets for the few winners only.
    """
    query = fts_query(text)
    ranked: list[tuple[float, Source, int]] = []
    for source in SOURCES:
        where, params = [f"{source.table} MATCH ?"], [query]
        filters: list[str] = []
        filter_params: list[Any] = []
        if customer_id is not None:
            filters.append(f"{source.customer} = ?")
            filter_params.append(customer_id)
        if since is not None:
            filters.append(f"{source.at} >= ?")
            filter_params.append(to_db(since))
        if filters:
            where.append(f"rowid IN (SELECT {source.key} FROM {source.filter_table} WHERE {' AND '.join(filters)})")
            params += filter_params
        # Ranking costs about a microsecond a match: for a word in every tenth ticket, rank only the
        # RANK_CAP most recent matches (FTS5 walks rowids in order cheaply and seeks to a rowid bound).
        bound = conn.execute(
            f"SELECT rowid FROM {source.table} WHERE {' AND '.join(where)} ORDER BY rowid DESC LIMIT 1 OFFSET ?",
            (*params, RANK_CAP - 1),
        ).fetchone()
        if bound is not None:
            where.append("rowid >= ?")
            params.append(bound[0])
        rows = conn.execute(
            f"SELECT rowid, rank FROM {source.table} WHERE {' AND '.join(where)} ORDER BY rank LIMIT ?",
            (*params, limit),
        ).fetchall()
        ranked += [(row[1], source, row[0]) for row in rows]
    ranked.sort(key=lambda hit: hit[0])
    ranked = ranked[:limit]
    details: dict[tuple[str, int], dict] = {}
    for _, source, row_id in ranked:
        # One lookup per winner: FTS5 seeks `rowid = ?` directly, where `rowid IN (...)` scans every match.
        cursor = conn.execute(
            f"""SELECT '{source.kind}' AS kind, {source.ref} AS ref, c.id AS customer_id,
                       c.name AS customer_name, {source.ticket} AS ticket_id, {source.at} AS at,
                       snippet({source.table}, {source.snippet_column}, ?, ?, '…', 16) AS snippet
                FROM {source.table} JOIN {source.record}
                WHERE {source.table} MATCH ? AND {source.table}.rowid = ? AND {source.key} = ?""",
            (*highlight, query, row_id, row_id),
        )
        row = cursor.fetchone()
        if row is not None:
            details[(source.kind, row_id)] = dict(zip([d[0] for d in cursor.description], row))
    results = []
    for rank, source, row_id in ranked:
        record = details.get((source.kind, row_id))
        if record is not None:
            record["rank"] = round(-rank, 3)  # higher is better, for people
            results.append(record)
    return results
