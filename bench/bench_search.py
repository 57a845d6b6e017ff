"""Time `carecli search` on a big database: in-process search() and the command as a whole process.

    python bench/bench_search.py --db /tmp/databench/big.db [--runs 5] [WORD ...]

The database must already hold the data (e.g. 1M tickets from bench/generate.py, or an import). Each
query is shown with its number of ticket matches (how common the word is), the median in-process time
and the median time of `carecli search` as a process (start-up included). Target: under 200 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from carecli.data import searching
from carecli.schema import database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("words", nargs="*", default=["parcel", "refund late", "customer", "zzzunknown"])
    args = parser.parse_args()
    conn = database.connect(args.db)
    tickets = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
    print(f"{args.db}: {tickets} tickets; rank cap {searching.RANK_CAP} matches per source")
    for text in args.words:
        matches = conn.execute(
            "SELECT count(*) FROM tickets_fts WHERE tickets_fts MATCH ?", (searching.fts_query(text),)
        ).fetchone()[0]
        inside = []
        for _ in range(args.runs):
            start = time.perf_counter()
            searching.search(conn, text)
            inside.append(time.perf_counter() - start)
        whole = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "carecli", "--db", str(args.db), "search", text, "--format", "json"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            whole.append(time.perf_counter() - start)
        print(
            f"  {text!r:<16} {matches:>8} ticket matches  search() {statistics.median(inside) * 1000:6.0f} ms  "
            f"carecli search {statistics.median(whole) * 1000:6.0f} ms"
        )


if __name__ == "__main__":
    main()
