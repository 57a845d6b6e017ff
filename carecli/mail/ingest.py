"""Ingesting messages: one from a pipe, or many from disk in Date order; parse, quarantine what
cannot be parsed, file the rest (carecli.mail.intake). `dry_run` files everything in one
transaction and rolls it back, so what it reports is exactly what would happen."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

from carecli.core import store
from carecli.core.config import Settings
from carecli.mail import intake, quarantine
from carecli.mail.intake import Filing
from carecli.mail.parse import Unparseable, content_hash, parse, parse_headers
from carecli.mail.sources import Source


class _RollBack(Exception):
    """Raised inside the transaction of a dry run to undo it."""


def ingest_bytes(
    conn: sqlite3.Connection,
    settings: Settings,
    raw: bytes,
    *,
    received: datetime,
    quarantine_dir: Path,
    dry_run: bool = False,
) -> Filing:
    """One message; an unparseable one is kept in `quarantine_dir` and returned as quarantined."""
    try:
        mail = parse(raw)
    except Unparseable as problem:
        if dry_run:
            return Filing(f"sha256:{content_hash(raw)}", "quarantined", problem.reason + " (dry run: not kept)")
        kept = quarantine.keep(quarantine_dir, raw, problem.reason)
        filing = intake.quarantine(conn, content_hash(raw), problem.reason, received=received)
        filing.reason = f"{problem.reason}; kept in {kept}"
        return filing
    if not dry_run:
        return intake.file_message(conn, settings, mail, received=received)
    return _dry(conn, lambda: intake.file_message(conn, settings, mail, received=received, keep_files=False))


def ingest_sources(
    conn: sqlite3.Connection,
    settings: Settings,
    sources: Iterable[Source],
    *,
    quarantine_dir: Path,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
) -> list[Filing]:
    """Many messages, filed in Date order (a missing Date sorts at the time received); one
    transaction per message, so an interrupted run keeps what it filed and the next completes it."""
    queue: list[tuple[datetime, int, Source]] = []
    results: list[Filing] = []
    for number, source in enumerate(sources):
        raw = source.read()
        try:
            date, message_id = parse_headers(raw)
        except Exception:  # the full parse below gives the reason
            date, message_id = None, None
        key = message_id or f"sha256:{content_hash(raw)}"
        seen = intake.known(conn, key)
        if seen is not None:
            results.append(Filing(key, "known", f"seen before ({seen['status']})"))
            continue
        queue.append((date or source.received, number, source))
    queue.sort(key=lambda item: (item[0], item[1]))
    if total is not None:
        total(len(queue))

    def run() -> list[Filing]:
        for _, _, source in queue:
            filing = ingest_bytes(
                conn, settings, source.read(), received=source.received, quarantine_dir=quarantine_dir, dry_run=False
            ) if not dry_run else _file_or_report(conn, settings, source)  # fmt: skip
            results.append(filing)
            if progress is not None:
                progress(1)
        return results

    return _dry(conn, run) if dry_run else run()


def _file_or_report(conn: sqlite3.Connection, settings: Settings, source: Source) -> Filing:
    try:
        mail = parse(source.read())
    except Unparseable as problem:
        return Filing("", "quarantined", problem.reason + " (dry run: not kept)")
    return intake.file_message(conn, settings, mail, received=source.received, keep_files=False)


def _dry(conn: sqlite3.Connection, work):
    found: list = []
    try:
        with store.transaction(conn):
            found.append(work())
            raise _RollBack
    except _RollBack:
        pass
    return found[0]
