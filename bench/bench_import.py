"""Time `carecli import tickets` of a big CSV next to the floor, `sqlite3 .import` of the same file, in one run.

    python bench/bench_import.py [--rows 1000000] [--csv /tmp/carecli-import-1000000.csv] [--preset carecli]
                                 [--map MAPPING.toml]

Writes (once; reused when the file exists) a CSV in the shape of `carecli export tickets --raw`, with one
customer per ten tickets, three tickets in four answered and half closed. Each import goes into a fresh
database; wall time and peak memory (max RSS) are those of the child process. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HEADER = [
    "id",
    "external_id",
    "customer_id",
    "customer_name",
    "customer_email",
    "subject",
    "status",
    "priority",
    "channel",
    "category",
    "tags",
    "created_at",
    "first_response_at",
    "first_closed_at",
    "closed_at",
    "updated_at",
    "first_response_s",
    "first_resolution_s",
    "resolution_s",
    "replies",
    "reopens",
    "csat",
    "ces",
    "resolution",
]
WORDS = (
    "order parcel vase roses delivery refund invoice broken late missing wrong colour size payment card "
    "bouquet tulips wedding funeral birthday subscription address cancel discount voucher photo damaged"
).split()


def write_csv(path: Path, rows: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    base = datetime(2024, 1, 1, tzinfo=timezone.utc)
    customers = max(1, rows // 10)
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER)
        for i in range(1, rows + 1):
            created = base + timedelta(seconds=i * 60)
            state = ("open", "pending", "closed", "closed")[i % 4]
            answered = created + timedelta(seconds=600 + i % 7000) if state != "open" else None
            closed = created + timedelta(seconds=9000 + i % 90000) if state == "closed" else None
            customer = rng.randint(1, customers)
            stamp = lambda moment: moment.isoformat() if moment else ""  # noqa: E731
            seconds = lambda moment: int((moment - created).total_seconds()) if moment else ""  # noqa: E731
            writer.writerow(
                [
                    i,
                    f"T{i}",
                    customer,
                    f"Customer {customer}",
                    f"c{customer}@example.com",
                    " ".join(rng.sample(WORDS, 4)),
                    state,
                    "normal",
                    "email",
                    "delivery",
                    "",
                    stamp(created),
                    stamp(answered),
                    stamp(closed),
                    stamp(closed),
                    stamp(closed or answered or created),
                    seconds(answered),
                    seconds(closed),
                    seconds(closed),
                    1 if answered else 0,
                    0,
                    (1 + i % 5) if closed and i % 3 == 0 else "",
                    "",
                    "",
                ]
            )


def timed(argv: list[str], **kwargs) -> tuple[float, float]:
    """Wall seconds and peak memory (MB) of one child process; fails loudly if it fails."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, **kwargs)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if status != 0:
        sys.exit(f"failed ({status}): {' '.join(argv)}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--preset", default="carecli")
    parser.add_argument("--map", dest="mapping")
    args = parser.parse_args()
    source = args.csv or Path(tempfile.gettempdir()) / f"carecli-import-{args.rows}.csv"
    if not source.exists():
        started = time.perf_counter()
        write_csv(source, args.rows)
        print(f"wrote {source} ({source.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s")
    sqlite3 = shutil.which("sqlite3")
    carecli = [sys.executable, "-m", "carecli"]
    with tempfile.TemporaryDirectory(prefix="carecli-bench-") as work:
        results = []
        if sqlite3:
            floor = timed([sqlite3, str(Path(work) / "floor.db"), ".mode csv", f".import {source} tickets"])
            results.append(("sqlite3 .import (bare table)", *floor))
        mapping = ["--preset", args.preset] + (["--map", args.mapping] if args.mapping else [])
        ours = timed(
            [
                *carecli,
                "--db",
                str(Path(work) / "carecli.db"),
                "import",
                "tickets",
                str(source),
                *mapping,
                "--format",
                "json",
            ],
            stderr=subprocess.DEVNULL,
        )
        results.append((f"carecli import tickets {' '.join(mapping)}", *ours))
    print(f"{source.name}: {source.stat().st_size / 1e6:.0f} MB")
    for name, seconds, megabytes in results:
        print(f"  {name:<48} {seconds:7.2f} s  {megabytes:6.0f} MB peak")
    if sqlite3:
        print(
            f"  ratio carecli / sqlite3: {results[1][1] / results[0][1]:.1f}x  (target: under 10 s, within 4x, under 100 MB)"
        )


if __name__ == "__main__":
    main()
