"""Lookups through the FTS5 search indexes of m004/m019 that the records layer needs (the search
command itself is data/searching.py). FTS5 is SQLite-only, so it stays below records."""

from __future__ import annotations

import sqlite3


def customer_ids_with_words(conn: sqlite3.Connection, words: list[str], *, limit: int = 500) -> list[int]:
    """Ids of customers whose name or notes hold a word starting with each of `words`, accents and
    case folded by the index's tokenizer; at most `limit`, in id order."""
    if not words:
        return []
    query = " ".join('"' + word.replace('"', '""') + '"*' for word in words)
    rows = conn.execute(
        "SELECT rowid FROM customers_fts WHERE customers_fts MATCH ? ORDER BY rowid LIMIT ?", (query, limit)
    )
    return [row[0] for row in rows]
