"""Tab completion for every option and argument that takes a known value: fixed words, the config's
lists, and customers, tickets and follow-ups read from the database.

Each Tab press runs the program, so a completer imports what it needs inside itself, opens the
database read-only (never creating or migrating it), reads at most LIMIT rows and never prints:
on any trouble it offers nothing. Every completer here is a click `shell_complete` callback,
`(ctx, param, incomplete) -> list[CompletionItem]`.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
from typing import Any, Callable, Iterable, Sequence

from click.shell_completion import CompletionItem

LIMIT = 50  # a shell shows at most a screenful; more rows only cost time

Completer = Callable[[Any, Any, str], list[CompletionItem]]
Values = Sequence[str] | str  # the words, or "module:NAME" naming them (a sequence or a function)


def one_of(*sources: Values, extra: Sequence[str] = (), comma_list: bool = False) -> Completer:
    """The words of fixed vocabularies (plus `extra`, e.g. `all`) that start with what was typed.
    With `comma_list`, the word after the last comma is completed: `open,pe` -> `open,pending`."""

    def complete(ctx: Any, param: Any, incomplete: str) -> list[CompletionItem]:
        try:
            words = [word for source in sources for word in _resolve(source)] + list(extra)
        except Exception:  # a completer must never break the shell
            return []
        return _matching(words, incomplete, comma_list=comma_list)

    return complete


def from_config(key: str) -> Completer:
    """The words of one list in the configuration (`channels`, `care.lost_reasons`)."""

    def complete(ctx: Any, param: Any, incomplete: str) -> list[CompletionItem]:
        from carecli.core import config

        try:
            words = config.load(_root_param(ctx, "config", "CARECLI_CONFIG"))[key]
        except Exception:  # a broken config must not break the shell
            return []
        return _matching(words, incomplete)

    return complete


def customers(ctx: Any, param: Any, incomplete: str) -> list[CompletionItem]:
    """Customers' names and e-mail addresses starting with what was typed (any case); each with
    the other as its description."""
    pattern = _like_prefix(incomplete)
    rows = _read(
        ctx,
        "SELECT name AS value, email AS help FROM customers WHERE name LIKE ? ESCAPE '\\'"
        " UNION SELECT email, name FROM customers WHERE email LIKE ? ESCAPE '\\'"
        " ORDER BY 1 COLLATE NOCASE LIMIT ?",
        (pattern, pattern, LIMIT),
    )
    offered: dict[str, CompletionItem] = {}  # a name two customers share is offered once
    for value, help_text in rows:
        if value and value not in offered:
            offered[value] = CompletionItem(value, help=help_text)
    return list(offered.values())


def tickets(ctx: Any, param: Any, incomplete: str) -> list[CompletionItem]:
    """Ticket ids starting with what was typed: open and pending ones first, then closed ones,
    the most recent first; the subject is the description."""
    rows = _read(
        ctx,
        "SELECT id, subject, status FROM tickets WHERE CAST(id AS TEXT) LIKE ? ESCAPE '\\'"
        " ORDER BY status = 'closed', id DESC LIMIT ?",
        (_like_prefix(incomplete.lstrip("#")), LIMIT),
    )
    return [CompletionItem(str(number), help=f"{subject} ({status})") for number, subject, status in rows]


def followups(ctx: Any, param: Any, incomplete: str) -> list[CompletionItem]:
    """Follow-up ids starting with what was typed: scheduled ones first, then done and skipped
    ones, the most recent first; the note (or the kind) is the description."""
    rows = _read(
        ctx,
        "SELECT id, kind, note, status FROM followups WHERE CAST(id AS TEXT) LIKE ? ESCAPE '\\'"
        " ORDER BY status != 'scheduled', id DESC LIMIT ?",
        (_like_prefix(incomplete.lstrip("#")), LIMIT),
    )
    return [
        CompletionItem(str(number), help=f"{kind}: {note} ({status})" if note else f"{kind} ({status})")
        for number, kind, note, status in rows
    ]


def _resolve(values: Values) -> Iterable[str]:
    if not isinstance(values, str):
        return values
    module, _, name = values.partition(":")
    found = getattr(importlib.import_module(module), name)
    return found() if callable(found) else found


def _matching(words: Iterable[str], incomplete: str, *, comma_list: bool = False) -> list[CompletionItem]:
    head, comma, last = incomplete.rpartition(",") if comma_list else ("", "", incomplete)
    return [CompletionItem(head + comma + word) for word in dict.fromkeys(words) if word.startswith(last)]


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _root_param(ctx: Any, name: str, envvar: str) -> str | None:
    """A global option as completion parsed it (the root callback does not run while completing)."""
    root = ctx.find_root() if ctx is not None else None
    value = root.params.get(name) if root is not None else None
    return value or os.environ.get(envvar) or None


def _read(ctx: Any, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows from the database the command line names, opened read-only; none when there is no
    database, or it cannot be read (another program's file, an older schema, a lock)."""
    from carecli.core import config, store

    try:
        path = _root_param(ctx, "db", "CARECLI_DB") or str(config.default_db_path())
        conn = store.open_connection(path, read_only=True)
    except Exception:
        return []
    try:
        return [tuple(row) for row in conn.execute(sql, params).fetchall()]
    except (sqlite3.Error, ValueError):
        return []
    finally:
        conn.close()
