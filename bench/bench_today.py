"""Time `carecli today` on a big database: build_agenda in-process and the command as a whole process.

    python bench/bench_today.py --tickets 1000000 [--db /tmp/today-bench.db] [--runs 7]

Builds (once; reused when the file exists) a shop history in bulk: customers = tickets / 20, about 2%
of tickets open and 1% pending (each with its 'pending' event), follow-ups = tickets / 5 of which
about 3% still scheduled (half of those overdue). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from carecli.core import (
    config,
    store,
)
from carecli.schema import database
from carecli.text.when import to_db

NOW = datetime(2026, 3, 14, 10, 0, tzinfo=timezone.utc)
PRIORITIES = ["low", "normal", "high", "urgent"]


def generate(path: Path, tickets: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    conn = database.connect(path)
    customers = max(1, tickets // 20)
    span_s = 3 * 365 * 86400
    with store.transaction(conn):
        conn.executemany(
            "INSERT INTO customers (id, name, email, created_at) VALUES (?, ?, ?, ?)",
            (
                (i, f"Customer {i}", f"c{i}@example.com", to_db(NOW - timedelta(days=1200)))
                for i in range(1, customers + 1)
            ),
        )

        def ticket_rows():
            for i in range(1, tickets + 1):
                created = NOW - timedelta(seconds=span_s * (tickets - i) / tickets + rng.randint(0, 3600))
                roll = rng.random()
                status = "open" if roll < 0.02 else "pending" if roll < 0.03 else "closed"
                text = to_db(created)
                yield (
                    i,
                    rng.randint(1, customers),
                    f"Ticket {i}",
                    "email",
                    "other",
                    rng.choice(PRIORITIES),
                    status,
                    text,
                    text,
                    None if status == "open" else text,
                )

        conn.executemany(
            """INSERT INTO tickets (id, customer_id, subject, channel, category, priority, status, created_at,
                                    updated_at, closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            ticket_rows(),
        )
        conn.execute(
            """INSERT INTO events (customer_id, ticket_id, kind, at)
               SELECT customer_id, id, 'pending', strftime('%Y-%m-%dT%H:%M:%S+00:00', created_at, '+1 hour')
               FROM tickets WHERE status = 'pending'"""
        )

        def followup_rows():
            count = tickets // 5
            for i in range(1, count + 1):
                due = NOW - timedelta(seconds=span_s * (count - i) / count) + timedelta(days=30)
                scheduled = due > NOW - timedelta(days=10) or rng.random() < 0.001
                yield (
                    rng.randint(1, customers),
                    "check-in",
                    to_db(due),
                    "scheduled" if scheduled else "done",
                    to_db(due - timedelta(days=7)),
                    None if scheduled else to_db(due),
                )

        conn.executemany(
            """INSERT INTO followups (customer_id, kind, due_at, status, created_at, completed_at)
               VALUES (?, ?, ?, ?, ?, ?)""",
            followup_rows(),
        )
    conn.execute("ANALYZE")
    conn.close()


def timed(fn, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(name: str, times: list[float]) -> str:
    return f"| {name} | {statistics.median(times):.1f} | {min(times):.1f} | {max(times):.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--db", default=None)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    path = Path(args.db or f"/tmp/carecli-today-{args.tickets}.db")
    if not path.exists():
        start = time.perf_counter()
        generate(path, args.tickets)
        print(f"generated {path} in {time.perf_counter() - start:.1f}s", file=sys.stderr)

    from carecli.measure.agenda import build_agenda

    env = {**os.environ, "CARECLI_DB": str(path), "CARECLI_NOW": to_db(NOW), "CARECLI_TIMEZONE": "Europe/Berlin"}
    os.environ.update(env)
    settings = config.load(None)
    conn = database.connect(path)
    day = NOW.astimezone(settings.tz).date()
    agenda = build_agenda(conn, settings, day=day, now=NOW, limit=50)
    counts = agenda["counts"]
    carecli = str(Path(sys.executable).with_name("carecli"))
    print(f"{args.tickets:,} tickets; agenda counts: {counts}\n")
    print("| scenario | median ms | min ms | max ms |\n|---|---|---|---|")
    print(
        summary(
            "build_agenda(limit=50), in-process",
            timed(lambda: build_agenda(conn, settings, day=day, now=NOW, limit=50), args.runs),
        )
    )
    print(
        summary(
            "build_agenda(limit=None), in-process",
            timed(lambda: build_agenda(conn, settings, day=day, now=NOW), args.runs),
        )
    )
    for fmt in ("table", "json"):
        print(
            summary(
                f"`carecli today --format {fmt}` (process)",
                timed(
                    lambda: subprocess.run(
                        [carecli, "today", "--format", fmt], env=env, check=True, stdout=subprocess.DEVNULL
                    ),
                    args.runs,
                ),
            )
        )
    print(
        summary(
            "`carecli followup list --overdue --format csv` (process)",
            timed(
                lambda: subprocess.run(
                    [carecli, "followup", "list", "--overdue", "--format", "csv"],
                    env=env,
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                ),
                args.runs,
            ),
        )
    )
    print(
        summary(
            "`python3 -c pass` (process floor)",
            timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), args.runs),
        )
    )


if __name__ == "__main__":
    main()
