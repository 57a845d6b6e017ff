"""The demo florist's orders: regulars who buy every few weeks (two of them gone quiet), occasional
buyers, and plant-care subscribers whose office plants are an asset serviced monthly.

Built through the records layer inside the demo's transaction; deterministic for a seed and end.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta, timezone, tzinfo

from carecli.records import assets, orders
from carecli.text.clock import from_db

# (product, price in EUR)
PRODUCTS = [
    ("Rose bouquet", 34.90),
    ("Tulip bundle", 19.50),
    ("Peony bouquet", 42.00),
    ("Orchid (white)", 29.90),
    ("Orchid (pink)", 31.90),
    ("Ceramic vase", 24.00),
    ("Succulent trio", 17.80),
]
SUBSCRIPTION = ("Plant-care subscription (monthly)", 45.00)
FIRST_REF = 1001


def build_demo_orders(
    conn: sqlite3.Connection, people: list[sqlite3.Row], *, end: datetime, tz: tzinfo, seed: int = 7
) -> dict[str, int]:
    """Orders, the subscribers' assets and their monthly services, all on or before `end`, placed
    in the shop's opening hours (`tz`)."""
    rng = random.Random(seed * 31 + 17)
    chosen = rng.sample(people, k=min(27, len(people)))
    regulars, occasional, subscribers = chosen[:8], chosen[8:24], chosen[24:]
    planned: list[tuple[datetime, sqlite3.Row, list[orders.Line]]] = []

    for number, person in enumerate(regulars):
        gap = timedelta(days=rng.randint(28, 42))
        # Two regulars stopped buying three months ago: the "silent buyer" care looks for them.
        stop = end - timedelta(days=95) if number < 2 else end
        when = end - timedelta(days=300) + timedelta(days=rng.randint(0, 20))
        while when <= stop:
            planned.append((when, person, _basket(rng)))
            when += gap + timedelta(days=rng.randint(-4, 4))
    for person in occasional:
        for _ in range(rng.choice([1, 1, 2, 3])):
            when = end - timedelta(days=rng.randint(1, 200), hours=rng.randint(0, 10))
            planned.append((when, person, _basket(rng)))
    for person in subscribers:
        when = end - timedelta(days=rng.randint(100, 180))
        planned.append((when, person, [orders.Line(SUBSCRIPTION[0], 1, SUBSCRIPTION[1])]))

    # Nobody orders before they are a customer, and people shop between 9:00 and 18:59.
    planned = [
        (_in_opening_hours(max(when, from_db(person["created_at"])), rng, tz, end), person, lines)
        for when, person, lines in planned
    ]
    planned.sort(key=lambda item: (item[0], item[1]["id"]))
    made = {"orders": 0, "assets": 0, "services": 0}
    for ref, (when, person, lines) in enumerate(planned, start=FIRST_REF):
        added = orders.add_order(
            conn, customer_id=person["id"], lines=lines, ordered_at=when, now=end, ref=str(ref), currency="EUR"
        )
        made["orders"] += 1
        if lines[0].product == SUBSCRIPTION[0]:
            made["services"] += _subscription_plants(conn, rng, person, added.line_ids[0], since=when, end=end, tz=tz)
            made["assets"] += 1
    return made


def _in_opening_hours(when: datetime, rng: random.Random, tz: tzinfo, end: datetime) -> datetime:
    local = when.astimezone(tz).replace(hour=rng.randint(9, 18), minute=rng.randint(0, 59), second=0, microsecond=0)
    return min(local.astimezone(timezone.utc), end)


def _basket(rng: random.Random) -> list[orders.Line]:
    picks = rng.sample(PRODUCTS, k=rng.choice([1, 1, 1, 2, 3]))
    lines = []
    for product, price in picks:
        qty = rng.choice([1, 1, 1, 2])
        lines.append(orders.Line(product, qty, round(price * qty, 2)))
    return lines


def _subscription_plants(
    conn: sqlite3.Connection,
    rng: random.Random,
    person: sqlite3.Row,
    line_id: int,
    *,
    since: datetime,
    end: datetime,
    tz: tzinfo,
) -> int:
    """The subscriber's office plants, serviced about monthly since the order (one visit late)."""
    asset_id = assets.add_asset(
        conn,
        customer_id=person["id"],
        name="Office plants",
        since=since,
        now=end,
        order_line_id=line_id,
    )
    made = 0
    visit = since + timedelta(days=30)
    while visit < end - timedelta(days=3):
        late = rng.random() < 0.2
        visit += timedelta(days=9 if late else 0)
        if visit >= end:
            break
        note = "Watered, pruned, fed" + (" (visit was late)" if late else "")
        assets.record_service(conn, asset_id, serviced_at=_in_opening_hours(visit, rng, tz, end), now=end, note=note)
        made += 1
        visit += timedelta(days=30)
    return made
