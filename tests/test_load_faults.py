"""Under load and when killed, carecli loses nothing: concurrent commands and crashed bulk writes.

Scaled down for CI (2 x 25 commands, 4 kills per journal mode); CARECLI_FULL_LOAD=1 runs the full
sizes (2 x 300 commands, 20 kills).
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
