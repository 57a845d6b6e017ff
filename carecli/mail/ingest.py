"""Ingesting messages: one from a pipe, or many from disk in Date order; parse, quarantine what
cannot be parsed, file the rest (carecli.mail.intake). `dry_run` files everything in one
transaction and rolls it back, so what it reports is exactly what would happen.

An archive (`close_archived`, a back-fill of old mail) closes the threads whose last message is
older than `[mail] archive_close_after`, at that message's time, through records.tickets.close
alone: the after-close check-in is the `ticket close` command's (records.care), so none is
scheduled, and nothing is suggested or sent.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

from carecli.core import store
from carecli.core.config import Settings
from carecli.core.errors import CareError
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
    ours: bool = False,
    archive: datetime | None = None,
) -> Filing:
    """One message; an unparseable one is kept in `quarantine_dir` and returned as quarantined.
    With `archive` (now), its thread is closed if its last message is old enough (close_archived)."""
    try:
        mail = parse(raw)
    except Unparseable as problem:
        if dry_run:
            return Filing(f"sha256:{content_hash(raw)}", "quarantined", problem.reason + " (dry run: not kept)")
        kept = quarantine.keep(quarantine_dir, raw, problem.reason)
        filing = intake.quarantine(conn, content_hash(raw), problem.reason, received=received)
        filing.reason = f"{problem.reason}; kept in {kept}"
        return filing

    def work() -> Filing:
        filing = intake.file_message(conn, settings, mail, received=received, ours=ours, keep_files=not dry_run)
        if archive is not None:
            mark_archived(close_archived(conn, settings, [filing], now=archive), [filing])
        return filing

    return _dry(conn, work) if dry_run else work()


def ingest_sources(
    conn: sqlite3.Connection,
    settings: Settings,
    sources: Iterable[Source],
    *,
    quarantine_dir: Path,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
    archive: datetime | None = None,
) -> list[Filing]:
    """Many messages, filed in Date order (a missing Date sorts at the time received); one
    transaction per message, so an interrupted run keeps what it filed and the next completes it.
    With `archive` (now), the threads are then closed as close_archived says."""
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
            results.append(Filing(key, "known", f"seen before ({seen['status']})", ticket_id=seen["ticket_id"]))
            continue
        queue.append((date or source.received, number, source))
    queue.sort(key=lambda item: (item[0], item[1]))
    if total is not None:
        total(len(queue))

    def run() -> list[Filing]:
        for _, _, source in queue:
            filing = ingest_bytes(
                conn, settings, source.read(), received=source.received, quarantine_dir=quarantine_dir, dry_run=False,
                ours=source.ours,
            ) if not dry_run else _file_or_report(conn, settings, source)  # fmt: skip
            results.append(filing)
            if progress is not None:
                progress(1)
        if archive is not None:
            mark_archived(close_archived(conn, settings, results, now=archive), results)
        return results

    return _dry(conn, run) if dry_run else run()


def _file_or_report(conn: sqlite3.Connection, settings: Settings, source: Source) -> Filing:
    try:
        mail = parse(source.read())
    except Unparseable as problem:
        return Filing("", "quarantined", problem.reason + " (dry run: not kept)")
    return intake.file_message(conn, settings, mail, received=source.received, ours=source.ours, keep_files=False)


def _dry(conn: sqlite3.Connection, work):
    found: list = []
    try:
        with store.transaction(conn):
            found.append(work())
            raise _RollBack
    except _RollBack:
        pass
    return found[0]


def mark_archived(done: Archived, filings: list[Filing]) -> None:
    """Note on the last filing of each closed ticket that its thread was filed as closed."""
    closed = set(done.closed)
    for filing in reversed(filings):
        if filing.ticket_id in closed:
            filing.closed_as_archive = True
            filing.reason += ("; " if filing.reason else "") + "thread closed: its last message is old (archive)"
            closed.discard(filing.ticket_id)


@dataclass
class Archived:
    """What `close_archived` did: the tickets it closed, and those left as they were."""

    closed: list[int]
    recent: list[int]  # their last message is newer than archive_close_after: left open or pending


def close_archived(
    conn: sqlite3.Connection, settings: Settings, filings: Iterable[Filing], *, now: datetime
) -> Archived:
    """Close the tickets of `filings` (filed now or before: a run killed before this step is
    completed by the next) whose last message is older than `[mail] archive_close_after`, at the
    time of that message; one transaction per ticket."""
    from carecli.records import tickets
    from carecli.text.clock import from_db

    after = settings.duration("mail.archive_close_after")
    done = Archived([], [])
    for ticket_id in dict.fromkeys(f.ticket_id for f in filings if f.ticket_id is not None):
        with store.transaction(conn):
            ticket = tickets.get_ticket(conn, ticket_id)
            if ticket["status"] == "closed":
                continue
            last = intake.last_message_at(conn, ticket_id)
            if after is None or last is None or from_db(last) > now - after:
                done.recent.append(ticket_id)
                continue
            try:
                tickets.close(conn, ticket, at=from_db(last), resolution="archived mail")
            except CareError:  # a status change recorded after its last message: leave it as it is
                done.recent.append(ticket_id)
                continue
            done.closed.append(ticket_id)
    return done
