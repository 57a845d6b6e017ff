"""Time the care plans' scheduling step on the 1M-ticket database with 200,000 orders.

    python bench/plans.py --db /tmp/care-1m-run.db [--orders 200000] [--runs 3]

The database is copied into a temporary folder (and the copy deleted afterwards); opening the
copy applies the migrations it lacks (not timed). 200,000 orders of 1-3 line items each, for the
database's customers, spread over its three years, are added with direct batched SQL (bench
only: the order importer is the real way in). Two plans are configured: orchid tips (a one-off
step 7 days after the purchase, for orders) and bike service (every 6 months, for assets made
from the line items). Timed: `records.plans.schedule_for_orders` for every new order (what the
order importer calls after a bulk import), the same again (nothing new), and
`care run --dry-run` as a whole process with the plans and one rule of each action.
Target (issue 17): the plan step under 2 s. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from care_run import RULES  # bench/care_run.py: one rule of each action
from timing import table_row, timed_ms  # bench/timing.py

from carecli.core import config, store
from carecli.records import plans
from carecli.schema import database

NOW = datetime(2026, 3, 14, 10, tzinfo=timezone.utc)  # the generator's default end
PLANS = """
[[care.plans]]
name = "orchid-tips"
products = ["orchid*"]
[[care.plans.steps]]
after = "7d"
kind = "tip"
note = "Water your orchid once a week"
template = "tip"

[[care.plans]]
name = "bike-service"
products = ["*bike*"]
asset = true
[[care.plans.steps]]
every = "6 months"
kind = "service-reminder"
template = "service-reminder"
"""
# Line items and how often each is bought: a florist that also sells bikes, so both plans match.
PRODUCTS = {
    "Orchid Phalaenopsis": 6,
    "orchid mini": 4,
    "Rose bouquet": 20,
    "Tulips": 15,
    "Pot": 15,
    "Soil 5l": 10,
    "Gift card": 10,
    "City bike": 2,
    "E-bike": 1,
    "Helmet": 5,
    "Lock": 5,
    "Delivery": 7,
}


def add_orders(conn, count: int, seed: int = 17) -> int:
    """`count` orders with 1-3 lines each, in one transaction; returns the first new order id."""
    rng = random.Random(seed)
    customers = [row[0] for row in conn.execute("SELECT id FROM customers")]
    names, weights = list(PRODUCTS), list(PRODUCTS.values())
    first = (conn.execute("SELECT max(id) FROM orders").fetchone()[0] or 0) + 1
    line_id = (conn.execute("SELECT max(id) FROM order_lines").fetchone()[0] or 0) + 1
    start, span = NOW - timedelta(days=3 * 365), 3 * 365 * 86400
    orders, lines = [], []
    for order_id in range(first, first + count):
        at = (start + timedelta(seconds=rng.randrange(span))).isoformat()
        total = 0.0
        for position, product in enumerate(rng.choices(names, weights, k=rng.randint(1, 3)), 1):
            amount = round(rng.uniform(4, 60), 2)
            total += amount
            lines.append((line_id, order_id, position, product, 1, amount))
            line_id += 1
        orders.append((order_id, rng.choice(customers), f"B{order_id}", at, round(total, 2), "EUR", "carecli", at))
    with store.transaction(conn):
        store.insert_many(
            conn,
            "orders",
            ("id", "customer_id", "ref", "ordered_at", "total", "currency", "source", "created_at"),
            orders,
        )
        store.insert_many(conn, "order_lines", ("id", "order_id", "position", "product", "qty", "amount"), lines)
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="/tmp/care-1m-run.db")
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR", "/tmp")) as folder:
        copy = Path(folder) / "care.db"
        started = time.perf_counter()
        shutil.copyfile(args.db, copy)
        print(f"copied {args.db} in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        conn = database.connect(copy)
        print(f"opened (migrations applied) in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        first = add_orders(conn, args.orders)
        lines = conn.execute("SELECT count(*) FROM order_lines").fetchone()[0]
        print(f"added {args.orders:,} orders ({lines:,} lines) in {time.perf_counter() - started:.1f} s")
        config_path = Path(folder) / "config.toml"
        config_path.write_text(RULES + PLANS)
        settings = config.load(config_path, env={"CARECLI_TIMEZONE": "Europe/Berlin"})

        def schedule():
            with store.transaction(conn):
                return plans.schedule_for_orders(conn, first, now=NOW, settings=settings)

        started = time.perf_counter()
        found = schedule()
        first_ms = (time.perf_counter() - started) * 1000
        kinds: dict[str, int] = {}
        for planned in found.followups:
            kinds[planned.plan] = kinds.get(planned.plan, 0) + 1
        too_old = sum(t.too_old for t in found.tallies)
        print(
            f"scheduled {len(found.followups):,} follow-ups {kinds}, {len(found.assets):,} assets, {too_old:,} too old\n"
        )
        again = timed_ms(schedule, args.runs)
        conn.close()
        print("| scenario | median ms | min ms | max ms |\n|---|---|---|---|")
        one = f"{first_ms:.1f}"
        print(f"| schedule_for_orders, {args.orders:,} new orders (one run) | {one} | {one} | {one} |")
        print(table_row("schedule_for_orders again, nothing new", again), flush=True)

        env = {
            **os.environ,
            "CARECLI_DB": str(copy),
            "CARECLI_NOW": NOW.isoformat(),
            "CARECLI_CONFIG": str(config_path),
            "CARECLI_TIMEZONE": "Europe/Berlin",
        }
        command = [str(Path(sys.executable).with_name("carecli")), "care", "run", "--dry-run", "--format", "json"]

        def dry_run() -> str:
            return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout

        actions = json.loads(dry_run())  # the warm-up
        by_action: dict[str, int] = {}
        for action in actions:
            by_action[action["action"]] = by_action.get(action["action"], 0) + 1
        print(
            table_row(
                f"care run --dry-run (2 plans, 5 rules), whole process: {by_action}", timed_ms(dry_run, args.runs)
            )
        )


if __name__ == "__main__":
    main()
