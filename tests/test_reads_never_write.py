"""Readers never fail because a writer works (issue 12, point 10).

Reads never write: the stored business-time durations are kept current by the writes, and what
the cache lacks (after a [business_hours] change, or rows another tool stored) is computed on the
fly. A write that finds another process writing waits for it, saying what it waits for.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from carecli.core import store
from carecli.measure import clocks
from tests.conftest import database_digest

HOURS = '[business_hours]\nenabled = true\nstart = "09:00"\nend = "17:00"\n'
SLA = '[sla.high]\nfirst_response = "4h"\nresolution = "2d"\n'
READS = [
    ("kpi", "--business-hours", "--since", "2026-03-01", "--format", "json"),
    ("kpi", "--since", "2026-03-01", "--format", "json"),
    ("report", "daily", "--format", "json"),
    ("export", "tickets", "--format", "json"),
    ("today", "--format", "json"),
    ("ticket", "list", "--status", "all", "--format", "json"),
    ("customer", "health", "--format", "json"),
    ("search", "vase", "--format", "json"),
    ("outbox", "list", "--format", "json"),
]


@pytest.fixture
def worked(shop, tmp_path, monkeypatch):
    """The shop with a week of replies, pending spells and closes, under business hours."""
    config = tmp_path / "hours.toml"
    config.write_text(HOURS + SLA)
    monkeypatch.setenv("CARECLI_CONFIG", str(config))
    steps = [
        # Ticket 1 (the shop's) was opened on Friday 13 March at 09:00.
        ("ticket", "reply", "1", "We are sorry, a new vase goes out", "--at", "2026-03-13 11:00"),
        ("ticket", "close", "1", "--at", "2026-03-13 16:00"),
        ("ticket", "open", "ben", "Wrong colour", "--priority", "high", "--at", "2026-03-12 16:30"),
        ("ticket", "reply", "2", "Which colour did you order?", "--pending", "--at", "2026-03-12 16:45"),
        ("ticket", "inbound", "2", "Red, not pink", "--at", "2026-03-13 10:00"),
        ("ticket", "close", "2", "--at", "2026-03-13 12:00"),
        ("ticket", "open", "ada", "Card missing", "--priority", "high", "--at", "2026-03-13 09:15"),
    ]
    for step in steps:
        shop(*step, ok=True)
    return config


def _figures(run) -> list:
    return [run.json(*args[:-2]) if args[-2:] == ("--format", "json") else None for args in READS]


def _stored_business(db_path: Path) -> list[tuple]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(
            "SELECT id, first_response_bs, first_resolution_bs, resolution_bs, paused_bs FROM tickets ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


def test_writes_keep_the_business_time_cache_current(worked, db_path):
    rows = _stored_business(db_path)
    conn = sqlite3.connect(db_path)
    stale = conn.execute(f"SELECT count(*) FROM tickets WHERE {clocks.STALE}").fetchone()[0]
    fingerprint, through = conn.execute("SELECT fingerprint, through FROM business_time").fetchone()
    conn.close()
    assert stale == 0 and through is None
    assert rows[0][1:4] == (2 * 3600, 7 * 3600, 7 * 3600)  # replied 11:00, closed 16:00
    # Ticket 2 waited on the customer from 16:45 to 10:00 next day: 15 business minutes, then 1 h.
    assert rows[1] == (2, 15 * 60, 3 * 3600 + 30 * 60, 3 * 3600 + 30 * 60, 15 * 60 + 3600)


def test_no_read_writes_a_byte_after_a_business_hours_change(worked, shop, db_path, tmp_path, monkeypatch):
    before = _figures(shop)
    later = tmp_path / "later.toml"
    later.write_text(HOURS.replace('"17:00"', '"18:00"') + SLA)
    monkeypatch.setenv("CARECLI_CONFIG", str(later))
    digest = database_digest(db_path)
    on_the_fly = _figures(shop)
    assert database_digest(db_path) == digest  # nothing written, not even the cache
    assert on_the_fly != before  # the new hours count
    shop("db", "refresh", ok=True)
    assert _figures(shop) == on_the_fly  # the stored values, once computed, agree


def test_every_read_runs_while_another_process_holds_the_write_lock(worked, shop, db_path, tmp_path, monkeypatch):
    later = tmp_path / "later.toml"
    later.write_text(HOURS.replace('"09:00"', '"08:00"') + SLA)
    monkeypatch.setenv("CARECLI_CONFIG", str(later))
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.2)  # a read that waited would fail fast
    holder = store.open_connection(db_path)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE customers SET notes = 'held' WHERE id = 1")
    try:
        for args in READS:
            result = shop(*args)
            assert result.exit_code == 0, (args, result.stderr)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_reads_compute_what_another_tool_left_uncomputed(worked, shop, db_path):
    expected = _figures(shop)
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE tickets SET first_response_bs = NULL, resolution_bs = NULL, paused_bs = NULL")
    conn.commit()
    conn.close()
    assert _figures(shop) == expected
    assert all(row[1] is None for row in _stored_business(db_path))  # the reads left it so
    shop("ticket", "note", "1", "checked the cache", ok=True)  # the next write fills it
    assert all(row[1] is not None for row in _stored_business(db_path)[:2])


def test_a_business_hours_change_is_worked_through_a_batch_per_write(worked, shop, db_path, tmp_path, monkeypatch):
    for number in range(5):
        shop("ticket", "open", "ben", f"Order {number}", "--at", f"2026-03-0{number + 3} 10:00", ok=True)
        shop("ticket", "close", str(4 + number), "--at", f"2026-03-0{number + 3} 12:30", ok=True)
    later = tmp_path / "later.toml"
    later.write_text(HOURS.replace('"09:00"', '"11:00"') + SLA)
    monkeypatch.setenv("CARECLI_CONFIG", str(later))
    monkeypatch.setattr(clocks, "RECOMPUTE_BATCH", 3)
    on_the_fly = _figures(shop)
    marks = []
    for number in range(4):
        shop("customer", "edit", "ben", "--note", f"note {number}", ok=True)  # a write no figure reads
        conn = sqlite3.connect(db_path)
        marks.append(conn.execute("SELECT through FROM business_time").fetchone()[0])
        conn.close()
        assert _figures(shop) == on_the_fly  # part old, part new: reads know which
    assert marks == [3, 6, None, None]
    assert _figures(shop) == on_the_fly


def test_a_write_waits_for_another_and_says_what_for(shop, db_path):
    started = threading.Event()

    def hold() -> None:
        holder = store.open_connection(db_path)
        assert isinstance(holder, store.Connection)
        holder.command = "carecli import tickets big.csv"
        try:
            with store.transaction(holder):
                started.set()
                time.sleep(2.5)
        finally:
            started.set()
            holder.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert started.wait(10)
    result = shop("ticket", "reply", "1", "A new vase goes out today")
    thread.join()
    assert result.exit_code == 0, result.stderr
    assert "waiting for `carecli import tickets big.csv` (process " in result.stderr
    assert "to finish writing (up to 10 min)..." in result.stderr
    assert "A new vase goes out today" in [e.get("body") for e in shop.json("ticket", "show", "1")["timeline"]]
    assert not store.writer_note_path(db_path).exists()  # each writer removes its note


def test_a_write_that_waited_its_whole_bound_says_so_and_exits_75(shop, db_path, monkeypatch):
    monkeypatch.setattr(store, "WRITE_WAIT_S", 1.5)
    holder = store.open_connection(db_path)
    holder.execute("BEGIN IMMEDIATE")
    try:
        before = database_digest(db_path)
        result = shop("ticket", "reply", "1", "A new vase goes out today")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 75
    assert "waiting for another program to finish writing (up to 2s)..." in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: database {db_path} stayed locked for 2s")
    assert database_digest(db_path) == before


def test_the_writer_note_never_follows_a_planted_link(shop, db_path, tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    store.writer_note_path(db_path).symlink_to(target)
    shop("ticket", "note", "1", "still writes", ok=True)
    assert target.read_text() == "keep me"
    assert "still writes" in [e.get("body") for e in shop.json("ticket", "show", "1")["timeline"]]


def test_the_demo_and_an_import_leave_the_cache_current(run_without_db, tmp_path):
    demo = tmp_path / "demo.db"
    run_without_db("--db", str(demo), "demo", "--yes", ok=True)
    export = run_without_db("--db", str(demo), "export", "tickets", "--raw", ok=True).stdout
    (tmp_path / "tickets.csv").write_text(export)
    copy = tmp_path / "copy.db"
    run_without_db(
        "--db", str(copy), "import", "tickets", str(tmp_path / "tickets.csv"), "--preset", "carecli", ok=True
    )
    for path in (demo, copy):
        conn = sqlite3.connect(path)
        assert conn.execute(f"SELECT count(*) FROM tickets WHERE {clocks.STALE}").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM tickets WHERE first_response_bs IS NOT NULL").fetchone()[0] > 0
        assert conn.execute("SELECT through FROM business_time").fetchone() == (None,)
        conn.close()
