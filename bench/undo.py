"""Time the corrections of issue 13 on a big database: undo, delete, restore, move, merge.

    python bench/generate.py --tickets 1000000 --db /tmp/b1m-undo/x.db --replace
    python bench/undo.py --db /tmp/b1m-undo/x.db [--runs 5]

Each command runs in-process through the CLI (parse, open, one transaction, render), with the
time of the invocation measured; every change is taken back (by `undo` itself, or a restore), so
the database ends as it started, its undo log and trail aside. The first open migrates the
database (no backup: a benchmark file). Not part of the test suite; targets: < 100 ms each,
customer merge of a customer with 1,000 tickets < 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import table_row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ["CARECLI_DB"] = args.db
    os.environ.pop("CARECLI_NOW", None)

    from typer.testing import CliRunner

    from carecli.cli import app
    from carecli.schema import database

    start = time.perf_counter()
    database.connect(args.db).close()  # due migrations, without the CLI's backup
    print(f"open (and migrate when due): {time.perf_counter() - start:.1f} s", file=sys.stderr)
    runner = CliRunner()

    def cli(*argv: str) -> float:
        began = time.perf_counter()
        result = runner.invoke(app, list(argv))
        elapsed = (time.perf_counter() - began) * 1000
        if result.exit_code != 0:
            raise SystemExit(f"{argv}: {result.stderr or result.stdout}")
        return elapsed

    conn = sqlite3.connect(args.db)
    ticket = conn.execute("SELECT max(id) FROM tickets WHERE status = 'open'").fetchone()[0]
    interaction = conn.execute("SELECT max(id) FROM interactions WHERE ticket_id = ?", (ticket,)).fetchone()[0]
    other = conn.execute("SELECT max(id) FROM tickets WHERE id < ? AND status = 'open'", (ticket,)).fetchone()[0]
    busy = conn.execute(
        "SELECT customer_id, count(*) FROM tickets GROUP BY customer_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    conn.close()
    print(f"ticket #{ticket}, interaction #{interaction}; busiest customer #{busy[0]} ({busy[1]} tickets)")

    times: dict[str, list[float]] = {}
    for _ in range(args.runs):
        # What every line below includes: building the command tree, opening, rendering.
        times.setdefault("ticket show (a read: the CLI's own cost)", []).append(cli("ticket", "show", str(ticket)))
        times.setdefault("ticket reply (recorded)", []).append(cli("ticket", "reply", str(ticket), "bench reply"))
        times.setdefault("undo (the reply)", []).append(cli("undo", "--yes"))
        times.setdefault("ticket delete", []).append(
            cli("ticket", "delete", str(ticket), "--reason", "mistake", "--yes")
        )
        times.setdefault("ticket restore", []).append(cli("ticket", "restore", str(ticket)))
        times.setdefault("undo (the restore)", []).append(cli("undo", "--yes"))
        times.setdefault("undo (the delete)", []).append(cli("undo", "--yes"))
        if _has_command(app, "interaction"):
            times.setdefault("interaction move", []).append(
                cli("interaction", "move", str(interaction), "--to-ticket", str(other))
            )
            times.setdefault("undo (the move)", []).append(cli("undo", "--yes"))
    # A customer with about 1,000 tickets: the busiest ones merged into one first (undone after).
    conn = sqlite3.connect(args.db)
    busiest = [
        row[0]
        for row in conn.execute("SELECT customer_id FROM tickets GROUP BY customer_id ORDER BY count(*) DESC LIMIT 40")
    ]
    conn.close()
    gathered, setup = busiest[0], 0
    conn = sqlite3.connect(args.db)
    for other in busiest[1:]:
        if conn.execute("SELECT count(*) FROM tickets WHERE customer_id = ?", (gathered,)).fetchone()[0] >= 1000:
            break
        cli("customer", "merge", str(other), "--into", str(gathered))
        setup += 1
    many = conn.execute("SELECT count(*) FROM tickets WHERE customer_id = ?", (gathered,)).fetchone()[0]
    target = conn.execute(
        "SELECT max(id) FROM customers WHERE id NOT IN (SELECT value FROM json_each(?))", (json.dumps(busiest),)
    ).fetchone()[0]
    conn.close()
    for _ in range(args.runs):
        times.setdefault(f"customer merge ({many:,} tickets)", []).append(
            cli("customer", "merge", str(gathered), "--into", str(target))
        )
        times.setdefault(f"undo (the merge of {many:,} tickets)", []).append(cli("undo", "--yes"))
    for _ in range(setup):
        cli("undo", "--yes")
    print("| command | median ms | min | max |\n|---|---|---|---|")
    for name, values in times.items():
        print(table_row(name, values))


def _has_command(app, name: str) -> bool:
    return any(info.name == name for info in app.registered_groups)


if __name__ == "__main__":
    main()
