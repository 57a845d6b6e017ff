"""Time `carecli today` on a big database: build_agenda in-process and the command as a whole process.

    python bench/bench_today.py --tickets 1000000 [--db /tmp/today-bench.db] [--runs 7]

Builds (once; reused when the file exists) the benchmarks' shop history with carecli.demo.bulk (the
generator bench/generate.py runs), ending at the pinned clock. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import table_row, timed_ms  # bench/timing.py: this script's folder is on sys.path

from carecli.core import config
from carecli.demo.bulk import generate
from carecli.schema import database
from carecli.text.clock import to_db

NOW = datetime(2026, 3, 14, 10, 0, tzinfo=timezone.utc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--db", default=None)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    path = Path(args.db or f"/tmp/carecli-today-{args.tickets}.db")
    if not path.exists():
        start = time.perf_counter()
        generate(path, args.tickets, end=NOW)
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
        table_row(
            "build_agenda(limit=50), in-process",
            timed_ms(lambda: build_agenda(conn, settings, day=day, now=NOW, limit=50), args.runs),
        )
    )
    print(
        table_row(
            "build_agenda(limit=None), in-process",
            timed_ms(lambda: build_agenda(conn, settings, day=day, now=NOW), args.runs),
        )
    )
    for fmt in ("table", "json"):
        print(
            table_row(
                f"`carecli today --format {fmt}` (process)",
                timed_ms(
                    lambda: subprocess.run(
                        [carecli, "today", "--format", fmt], env=env, check=True, stdout=subprocess.DEVNULL
                    ),
                    args.runs,
                ),
            )
        )
    print(
        table_row(
            "`carecli followup list --overdue --format csv` (process)",
            timed_ms(
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
        table_row(
            "`python3 -c pass` (process floor)",
            timed_ms(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), args.runs),
        )
    )


if __name__ == "__main__":
    main()
