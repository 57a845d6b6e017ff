"""Under load and when killed, carecli loses nothing: concurrent commands and crashed bulk writes.

Scaled down for CI (2 x 25 commands, 4 kills per journal mode, an import of 20,000 tickets);
CARECLI_FULL_LOAD=1 runs the full sizes (2 x 300 commands, 20 kills, 200,000 tickets).
"""

from __future__ import annotations

import csv
import io
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from carecli.schema import database

FULL = os.environ.get("CARECLI_FULL_LOAD") == "1"
WRITES_PER_PROCESS = 300 if FULL else 25
KILLS = 20 if FULL else 4
IMPORTED_TICKETS = 200_000 if FULL else 20_000
CARECLI = Path(sys.executable).parent / "carecli"
ROOT = Path(__file__).resolve().parent.parent
# Commands a cron job or a second terminal runs while someone works; add new read-only reports here.
READERS = [
    ["ticket", "list", "--format", "csv", "--status", "all", "--limit", "0"],
    ["customer", "list", "--format", "csv"],
    ["kpi", "--format", "json"],
    ["report", "daily"],
]
needs_entry_point = pytest.mark.skipif(not CARECLI.exists(), reason="carecli is not installed next to this Python")


def carecli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CARECLI), *args], capture_output=True, text=True, timeout=120)


@needs_entry_point
def test_two_writers_and_a_reader_lose_nothing_and_see_no_errors(shop, db_path):
    for name in ("writer-a", "writer-b"):
        shop("customer", "add", name, "--email", f"{name}@example.com", ok=True)
    errors: list[str] = []
    writing = threading.Event()
    writing.set()

    def write(name: str) -> None:
        for number in range(WRITES_PER_PROCESS):
            result = carecli("log", f"{name}@example.com", f"{name} call {number}", "--channel", "phone")
            if result.returncode != 0:
                errors.append(f"{name} #{number}: {result.stderr.strip()}")

    reads = 0

    def read() -> None:
        nonlocal reads
        while writing.is_set():
            for args in READERS:
                result = carecli(*args)
                if result.returncode != 0:
                    errors.append(f"{' '.join(args)}: {result.stderr.strip()}")
                    continue
                rows = list(csv.DictReader(io.StringIO(result.stdout)))
                if args[0] == "customer" and len(rows) != 4:  # every read sees the whole, committed state
                    errors.append(f"customer list saw {len(rows)} customers")
                reads += 1

    writers = [threading.Thread(target=write, args=(name,)) for name in ("writer-a", "writer-b")]
    reader = threading.Thread(target=read)
    for thread in (*writers, reader):
        thread.start()
    for thread in writers:
        thread.join()
    writing.clear()
    reader.join()

    assert errors == []
    assert reads > 0
    conn = sqlite3.connect(db_path)
    for name in ("writer-a", "writer-b"):
        bodies = [
            r[0]
            for r in conn.execute(
                "SELECT body FROM interactions i JOIN customers c ON c.id = i.customer_id WHERE c.email = ? ORDER BY i.id",
                (f"{name}@example.com",),
            )
        ]
        assert bodies == [f"{name} call {n}" for n in range(WRITES_PER_PROCESS)]
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


HOURS_BEFORE = '[business_hours]\nenabled = true\nstart = "09:00"\nend = "17:00"\n'
SLA = '[sla.high]\nfirst_response = "4h"\nresolution = "2d"\n'


def _ticket_export(path: Path, count: int) -> None:
    """`count` tickets of 2,000 customers over 2025, as `carecli export tickets --raw` has them."""
    rng = random.Random(7)

    def stamp(seconds: int) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(seconds))

    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["external_id", "customer_name", "customer_email", "subject", "status", "priority", "channel"]
            + ["category", "tags", "created_at", "first_response_at", "first_closed_at", "closed_at", "updated_at"]
            + ["replies", "reopens", "csat", "ces", "resolution"]
        )
        for number in range(count):
            customer = rng.randrange(2000)
            opened = 1735725600 + rng.randrange(360 * 86400)  # 2025-01-01 10:00 UTC on
            answered, closed = opened + rng.randrange(60, 86400), opened + rng.randrange(86400, 9 * 86400)
            writer.writerow(
                [f"old-{number}", f"Customer {customer}", f"c{customer}@example.com", f"Order {number}", "closed"]
                + [rng.choice(["low", "normal", "high"]), "email", "delivery", "", stamp(opened), stamp(answered)]
                + [stamp(closed), stamp(closed), stamp(closed), 1, 0, rng.choice(["", 4, 5]), "", "sent again"]
            )


@needs_entry_point
def test_an_import_while_two_workers_reply_and_cron_reports_sees_no_lock_error(shop, db_path, tmp_path, monkeypatch):
    """Issue 12 (10): an import runs while two workers log replies and cron loops the breach alert
    and `kpi`, just after a [business_hours] change (reads compute on the fly, writes catch up)."""
    config = tmp_path / "shop.toml"
    config.write_text(HOURS_BEFORE + SLA)
    monkeypatch.setenv("CARECLI_CONFIG", str(config))
    shop("ticket", "open", "ben", "Wrong colour", "--priority", "high", "--at", "2026-03-12 16:30", ok=True)
    shop("ticket", "open", "ada", "Card missing", "--priority", "high", "--at", "2026-03-12 09:00", ok=True)
    export = tmp_path / "old.csv"
    _ticket_export(export, IMPORTED_TICKETS)
    config.write_text(HOURS_BEFORE.replace('"17:00"', '"18:00"') + SLA)  # every stored business time is old now

    importing = threading.Event()
    importing.set()
    errors: list[str] = []
    replies: dict[str, list[str]] = {"1": [], "2": []}
    reports: list[int] = []
    figures: list[int] = []
    during = {"replies": 0, "reports": 0}  # started while the import ran
    timing: dict[str, float] = {}

    def import_tickets() -> None:
        started = time.monotonic()
        result = carecli("import", "tickets", str(export), "--preset", "carecli")
        timing["import"] = time.monotonic() - started
        importing.clear()
        if result.returncode != 0:
            errors.append(f"import: {result.stderr.strip()}")

    def reply(ticket: str) -> None:
        number = 0
        while (importing.is_set() or number < 5) and number < 400:
            text = f"reply {number} on #{ticket}"
            during["replies"] += importing.is_set()
            result = carecli("ticket", "reply", ticket, text)
            if result.returncode != 0:
                errors.append(f"reply on #{ticket}: exit {result.returncode}: {result.stderr.strip()}")
            replies[ticket].append(text)
            number += 1

    def cron() -> None:
        while importing.is_set() or len(reports) < 3:
            during["reports"] += importing.is_set()
            reports.append(carecli("report", "daily", "--fail-on-breach").returncode)
            result = carecli("kpi", "--format", "json")
            figures.append(result.returncode)
            if result.returncode != 0 or "locked" in result.stderr:
                errors.append(f"kpi: {result.stderr.strip()}")

    threads = [threading.Thread(target=import_tickets)]
    threads += [threading.Thread(target=reply, args=(ticket,)) for ticket in replies]
    threads.append(threading.Thread(target=cron))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert set(reports) == {3}  # ticket #3 breached its first-response target all along: exit 3 every time
    assert set(figures) == {0}
    conn = sqlite3.connect(db_path)
    for ticket, texts in replies.items():
        stored = [
            r[0]
            for r in conn.execute(
                "SELECT body FROM interactions WHERE ticket_id = ? AND direction = 'out' ORDER BY id", (ticket,)
            )
        ]
        assert stored == texts  # every reply stored, once, in order
    assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == IMPORTED_TICKETS + 3
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert during["replies"] >= 2 and during["reports"] >= 1  # they did run at the same time
    print(
        f"load: import of {IMPORTED_TICKETS} tickets {timing['import']:.1f}s; "
        f"{len(replies['1']) + len(replies['2'])} replies ({during['replies']} during the import), "
        f"{len(reports)} reports ({during['reports']} during), {len(figures)} kpi runs; 0 errors"
    )


def generate_command(path: Path, journal: str) -> list[str]:
    return [
        sys.executable,
        str(ROOT / "bench" / "generate.py"),
        "--tickets",
        "6000",
        "--seed",
        "5",
        "--db",
        str(path),
        "--journal",
        journal,
    ]


def table_counts(path: Path) -> dict[str, int]:
    conn = database.connect(path, create=True)  # also finishes a migration the kill interrupted
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("customers", "tickets", "interactions", "events", "followups", "surveys")
        }
    finally:
        conn.close()


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_a_bulk_write_killed_at_any_point_leaves_all_or_nothing(tmp_path, journal):
    complete = tmp_path / "complete.db"
    started = time.perf_counter()
    subprocess.run(generate_command(complete, journal), check=True, capture_output=True, timeout=300)
    duration = time.perf_counter() - started
    everything = table_counts(complete)
    nothing = dict.fromkeys(everything, 0)

    rng = random.Random(journal)
    outcomes = []
    for attempt in range(KILLS):
        path = tmp_path / f"killed-{attempt}.db"
        process = subprocess.Popen(
            generate_command(path, journal), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        # Stratified over the run (kill k lands in the k-th slice), so some kills come early even
        # when the machine is busier or idler than during the timed run.
        time.sleep(max(0.05, duration * 0.9 * (attempt + rng.random()) / KILLS))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        counts = table_counts(path)
        assert counts in (nothing, everything), f"kill #{attempt}: {counts}"
        outcomes.append(counts == everything)
    assert not all(outcomes), "every kill came too late to interrupt the write"
