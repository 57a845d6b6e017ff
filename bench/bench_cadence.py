"""Time next_occurrence and `followup done` for cadences anchored 1, 10 and 36 years back.

    python bench/bench_cadence.py [--runs 7] [--skip-cli]

next_occurrence is timed in-process for a few rule shapes; `followup done` is timed in-process
(records.followups.complete, inside its write transaction) and as a whole `carecli` process, with
the clock pinned at NOW. The floor: `followup done` under 100 ms in-process whatever the anchor.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import table_row as row_of  # bench/timing.py: this script's folder is on sys.path
from timing import timed_ms

from carecli.core import config, store
from carecli.records import customers, followups
from carecli.schema import database
from carecli.text.cadence import next_occurrence, parse_every, parse_rrule
from carecli.text.clock import to_db

NOW = datetime(2026, 3, 14, 10, 0, tzinfo=timezone.utc)
ZONE = ZoneInfo("Europe/Berlin")
YEARS_BACK = (1, 10, 36)
RULES = {
    "--every 1d": lambda start: parse_every("1d", dtstart=start, tz=ZONE),
    "--every 'weekly on mon,thu'": lambda start: parse_every("weekly on mon,thu", dtstart=start, tz=ZONE),
    "--every monthly (from the 31st)": lambda start: parse_every("monthly", dtstart=start.replace(day=31), tz=ZONE),
    "--rrule FREQ=DAILY;BYDAY=MO,WE;BYHOUR=9,15": lambda start: parse_rrule(
        "FREQ=DAILY;BYDAY=MO,WE;BYHOUR=9,15", dtstart=start, tz=ZONE
    ),
    "--rrule FREQ=DAILY;COUNT=1000": lambda start: parse_rrule("FREQ=DAILY;COUNT=1000", dtstart=start, tz=ZONE),
    "--rrule FREQ=WEEKLY;BYDAY=FR;COUNT=1000": lambda start: parse_rrule(
        "FREQ=WEEKLY;BYDAY=FR;COUNT=1000", dtstart=start, tz=ZONE
    ),
}


def row(name: str, times: list[float]) -> str:
    return row_of(name, times, digits=2)


def anchor(years_back: int) -> datetime:
    return NOW.replace(year=NOW.year - years_back, day=1, hour=8)


def bench_next_occurrence(runs: int) -> None:
    print("next_occurrence after NOW (ms)\n\n| rule, anchor | median | min | max |\n|---|---|---|---|")
    for name, build in RULES.items():
        for years in YEARS_BACK:
            rule = build(anchor(years))
            print(row(f"{name}, {years}y back", timed_ms(lambda: next_occurrence(rule, after=NOW, tz=ZONE), runs)))


def _shop_with_followups(path: str, settings, count: int, due: datetime, every: str) -> list[int]:
    conn = database.connect(path, create=True)
    with store.transaction(conn):
        who = customers.add_customer(conn, "Ada Lovelace", at=due)
        ids = [
            followups.add_followup(conn, settings, customer_id=who["id"], due=due, all_day=True, at=due, every=every)[
                "id"
            ]
            for _ in range(count)
        ]
    conn.close()
    return ids


def bench_done(runs: int, skip_cli: bool) -> None:
    settings = config.load(None, env={"CARECLI_TIMEZONE": "Europe/Berlin"})
    print("\n`followup done` of an all-day `--every 1d` follow-up due at the anchor (ms)\n")
    print("| how, anchor | median | min | max | skipped |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for years in YEARS_BACK:
            path = os.path.join(tmp, f"done-{years}.db")
            ids = iter(_shop_with_followups(path, settings, runs + (0 if skip_cli else runs), anchor(years), "1d"))
            conn = database.connect(path)
            skipped = []

            def complete_one() -> None:
                with store.transaction(conn):
                    result = followups.complete(conn, settings, followups.get_followup(conn, next(ids)), at=NOW)
                skipped.append(result.skipped_count)

            print(row(f"in-process, {years}y back", timed_ms(complete_one, runs)) + f" {skipped[0]} |")
            conn.close()
            if skip_cli:
                continue
            env = {**os.environ, "CARECLI_DB": path, "CARECLI_NOW": to_db(NOW), "CARECLI_TIMEZONE": "Europe/Berlin"}
            command = [sys.executable, "-m", "carecli", "followup", "done"]
            times = timed_ms(
                lambda: subprocess.run([*command, str(next(ids))], env=env, check=True, capture_output=True), runs
            )
            print(row(f"`carecli followup done` process, {years}y back", times) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--skip-cli", action="store_true", help="time only in-process")
    options = parser.parse_args()
    bench_next_occurrence(options.runs)
    bench_done(options.runs, options.skip_cli)


if __name__ == "__main__":
    main()
