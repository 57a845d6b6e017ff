"""Time `carecli import orders FILE --preset shopify` of 100,000 order lines, as a whole process.

    python bench/import_orders.py [--lines 100000] [--runs 3] [--big /tmp/care-1m.db]

Writes a Shopify-format orders export (the preset's header, one row per line item, the order's
fields on its first row only; about 30,000 orders of 1-6 lines from 8,000 customers) in a temp
dir, then imports it into a fresh database `--runs` times, and, given `--big` (bench/generate.py's
database), once into a copy of that. Target (issue 17): under 15 s. Not part of the test suite.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import table_row  # bench/timing.py

NOW = "2026-03-14T10:00:00+00:00"  # the generator's default end: orders are in the year before it
HEADER = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,Currency,Subtotal,"
    "Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,Created at,Lineitem quantity,Lineitem name,"
    "Lineitem price,Lineitem compare at price,Lineitem sku,Lineitem requires shipping,Lineitem taxable,"
    "Lineitem fulfillment status,Billing Name,Billing Street,Billing Address1,Billing Address2,Billing Company,"
    "Billing City,Billing Zip,Billing Province,Billing Country,Billing Phone,Shipping Name,Shipping Street,"
    "Shipping Address1,Shipping Address2,Shipping Company,Shipping City,Shipping Zip,Shipping Province,"
    "Shipping Country,Shipping Phone,Notes,Note Attributes,Cancelled at,Payment Method,Payment Reference,"
    "Refunded Amount,Vendor,Outstanding Balance,Employee,Location,Device ID,Id,Tags,Risk Level,Source,"
    "Lineitem discount"
).split(",")
PRODUCTS = [
    ("Orchid Phalaenopsis, white", 24.90),
    ("Orchid food, 250 ml", 7.50),
    ("Rose bouquet (12 stems)", 35.00),
    ("Ceramic pot Ø12 cm", 6.50),
    ("Monstera deliciosa", 39.00),
    ("Boston fern", 14.00),
    ("Plant-care subscription, monthly", 19.00),
    ("Tulips, mixed", 19.00),
]
FIRST = ["Zoë", "Ada", "Björn", "Inès", "José", "Mia", "Ben", "Chloé", "Łukasz", "Noor"]
LAST = ["Brühl", "Lovelace", "Åkesson", "Dubois", "Núñez", "Schäfer", "Okafor", "Martin", "Nowak", "Haddad"]


def write_export(path: Path, lines: int, seed: int = 17) -> int:
    """A Shopify orders export of about `lines` line items; returns the number of orders."""
    rng = random.Random(seed)
    end = datetime.fromisoformat(NOW).astimezone(timezone(timedelta(hours=1)))
    customers = [(f"customer{n}@example.com", f"{rng.choice(FIRST)} {rng.choice(LAST)}") for n in range(1, 8001)]
    written = orders = 0
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        position = {name: i for i, name in enumerate(HEADER)}
        while written < lines:
            orders += 1
            email, name = rng.choice(customers)
            created = (end - timedelta(seconds=rng.randrange(365 * 86400))).strftime("%Y-%m-%d %H:%M:%S %z")
            items = [rng.choice(PRODUCTS) for _ in range(min(rng.choice((1, 2, 3, 3, 4, 6)), lines - written))]
            quantities = [rng.choice((1, 1, 1, 2, 3)) for _ in items]
            subtotal = sum(price * qty for (_, price), qty in zip(items, quantities))
            for i, ((product, price), qty) in enumerate(zip(items, quantities)):
                row = [""] * len(HEADER)
                row[position["Name"]] = f"#{1000 + orders}"
                row[position["Lineitem quantity"]] = str(qty)
                row[position["Lineitem name"]] = product
                row[position["Lineitem price"]] = f"{price:.2f}"
                row[position["Lineitem requires shipping"]] = "true"
                row[position["Lineitem fulfillment status"]] = "fulfilled"
                if i == 0:
                    for column, value in (
                        ("Email", email),
                        ("Financial Status", "paid"),
                        ("Paid at", created),
                        ("Currency", "EUR"),
                        ("Subtotal", f"{subtotal:.2f}"),
                        ("Shipping", "4.90"),
                        ("Total", f"{subtotal + 4.90:.2f}"),
                        ("Created at", created),
                        ("Billing Name", name),
                        ("Shipping Name", name),
                        ("Id", str(5_560_000_000 + orders)),
                    ):
                        row[position[column]] = value
                writer.writerow(row)
                written += 1
    return orders


def _env(db: Path, folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CARECLI_DB": str(db),
        "CARECLI_NOW": NOW,
        "XDG_CONFIG_HOME": str(folder / "config"),
        "XDG_DATA_HOME": str(folder / "data"),
    }


def import_once(carecli: str, db: Path, export: Path, folder: Path) -> tuple[float, str]:
    env = _env(db, folder)
    start = time.perf_counter()
    done = subprocess.run(
        [carecli, "import", "orders", str(export), "--preset", "shopify", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise SystemExit(f"import failed: {done.stderr.strip()}")
    return elapsed, done.stderr.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big", help="bench/generate.py's database: also import into a copy of it")
    args = parser.parse_args()
    carecli = str(Path(sys.executable).with_name("carecli"))
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        export = folder / "orders_export.csv"
        orders = write_export(export, args.lines)
        print(f"{args.lines:,} lines, {orders:,} orders, {export.stat().st_size / 1e6:.1f} MB", file=sys.stderr)
        times, said = [], ""
        for run in range(args.runs):
            db = folder / f"fresh-{run}.db"
            elapsed, said = import_once(carecli, db, export, folder)
            times.append(elapsed)
            db.unlink()
        print("| scenario | median ms | min ms | max ms |\n|---|---:|---:|---:|")
        print(table_row(f"import orders, {args.lines:,} lines, fresh database", times))
        print(f"<!-- {said} -->")
        if args.big:
            copy = folder / "big.db"
            shutil.copyfile(args.big, copy)
            # Migrated first: an older copy's backup and migrations (30 s at 1M tickets) are not the import's.
            subprocess.run([carecli, "db", "migrate"], env=_env(copy, folder), check=True, capture_output=True)
            elapsed, said = import_once(carecli, copy, export, folder)
            print(table_row(f"import orders, {args.lines:,} lines, into a copy of {Path(args.big).name}", [elapsed]))
            print(f"<!-- {said} -->")


if __name__ == "__main__":
    main()
