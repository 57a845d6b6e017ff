"""Time `carecli kpi` as a whole process (start-up included) next to hand-written SQL in the sqlite3 shell.

    python bench/bench_kpi.py --db /tmp/bench1m.db [--runs 5] [--carecli PATH] [--sqlite3 PATH]

Eight variants: the last 30 days and all time, each with and without --business-hours and
--by channel. For each, the median wall time of --runs whole `carecli kpi --format json` processes
and of --runs `sqlite3` shell processes running the same ticket figures written by hand (counts,
FCR, and n/mean/median/p90 of the three durations with window functions, business time from the
stored *_bs columns). The load average is printed before and after: other work on the machine
inflates every figure. The database must already be migrated (run any carecli command on it once);
the first --business-hours run after a [business_hours] change fills the stored business durations.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

NOW = "2026-03-14T10:00:00+00:00"
THIRTY_DAYS_SINCE = "2026-02-12T23:00:00+00:00"  # local midnight 29 days before NOW in Europe/Berlin
ALL_TIME_SINCE = "2020-01-01"
SLA_CONFIG = (
    '[sla.urgent]\nfirst_response = "1h"\nresolution = "1d"\n[sla.high]\nfirst_response = "4h"\nresolution = "3d"\n'
)
DURATIONS = [("first_response", "first_response_at"), ("resolution", "closed_at"), ("first_resolution", "closed_at")]


def quantile_sql(value: str, instant: str, since: str, grouped: bool) -> str:
    """n, mean, median, p90 of one duration column over the period, with window functions."""
    group, partition = ("channel", "PARTITION BY channel") if grouped else ("NULL", "")
    return f"""
SELECT g, COUNT(*), ROUND(AVG(v), 2),
       AVG(CASE WHEN rn IN ((c + 1) / 2, (c + 2) / 2) THEN v END),
       MIN(CASE WHEN rn >= (c * 9 + 9) / 10 THEN v END)
FROM (SELECT {group} AS g, {value} AS v, ROW_NUMBER() OVER ({partition} ORDER BY {value}) AS rn,
             COUNT(*) OVER ({partition}) AS c
      FROM tickets WHERE {value} IS NOT NULL AND {instant} >= '{since}' AND {instant} < '{NOW}')
GROUP BY g;"""


def hand_sql(since: str, business: bool, grouped: bool) -> str:
    group, by = ("channel", "GROUP BY 1") if grouped else ("NULL", "")
    suffix = "bs" if business else "s"
    statements = [
        f"SELECT {group}, COUNT(*) FROM tickets WHERE created_at >= '{since}' AND created_at < '{NOW}' {by};",
        f"""SELECT {group}, COUNT(*), SUM(reopen_count = 0 AND reply_count <= 1) FROM tickets
            WHERE closed_at >= '{since}' AND closed_at < '{NOW}' {by};""",
    ]
    statements += [quantile_sql(f"{name}_{suffix}", instant, since, grouped) for name, instant in DURATIONS]
    return "\n".join(statements)


def timed(command: list[str], runs: int, env: dict, stdin: str | None = None) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, input=stdin, env=env, check=True, text=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--carecli", default=shutil.which("carecli") or "carecli")
    parser.add_argument("--sqlite3", default=shutil.which("sqlite3") or "sqlite3")
    args = parser.parse_args()
    if not args.db.exists():
        sys.exit(f"error: no database at {args.db}; build one first (a million tickets, three million interactions)")
    config = Path(os.environ.get("TMPDIR", "/tmp")) / "bench_kpi_sla.toml"
    config.write_text(SLA_CONFIG)
    env = {**os.environ, "CARECLI_NOW": NOW, "CARECLI_TIMEZONE": "Europe/Berlin"}
    print(
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}   runs per figure: {args.runs} (median)"
    )
    print(f"{'period':9} {'variant':28} {'carecli kpi':>12} {'hand SQL':>10}   all carecli runs (ms)")
    for label, since, shell_since in [
        ("30 days", None, THIRTY_DAYS_SINCE),
        ("all time", ALL_TIME_SINCE, ALL_TIME_SINCE),
    ]:
        for grouped in (False, True):
            for business in (False, True):
                flags = (
                    (["--since", since] if since else [])
                    + (["--by", "channel"] if grouped else [])
                    + (["--business-hours"] if business else [])
                )
                kpi = timed(
                    [args.carecli, "--db", str(args.db), "--config", str(config), "kpi", *flags, "--format", "json"],
                    args.runs,
                    env,
                )
                hand = timed([args.sqlite3, str(args.db)], args.runs, env, hand_sql(shell_since, business, grouped))
                variant = " ".join(flags[2:] if since else flags) or "(plain)"
                print(
                    f"{label:9} {variant:28} {statistics.median(kpi) * 1000:9.0f} ms {statistics.median(hand) * 1000:7.0f} ms"
                    f"   {' '.join(f'{t * 1000:.0f}' for t in kpi)}",
                    flush=True,
                )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
