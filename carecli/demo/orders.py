"""The demo florist's orders: regulars who buy every few weeks (two of them gone quiet), occasional
buyers, and plant-care subscribers whose office plants are an asset serviced monthly.

Built through the records layer inside the demo's transaction; deterministic for a seed and end.
With the demo's care plans configured (demo/settings.py), each order's plan steps are scheduled
when it was placed, as `order add` would have then: the orchid tips due before the end were
given, most on their day and some late, and each service moved its asset's next reminder.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta, timezone, tzinfo

from carecli.core.config import Settings
from carecli.demo.settings import ORCHID_TIPS, PLANT_CARE
from carecli.records import assets, followups, orders, plans
from carecli.text.clock import from_db, local_day_bounds, to_db

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
    conn: sqlite3.Connection, settings: Settings, people: list[sqlite3.Row], *, end: datetime, seed: int = 7
) -> dict[str, int]:
    """Orders, the subscribers' assets and their monthly services, all on or before `end`, placed
    in the shop's opening hours; the care plans' follow-ups where `settings` has the plans."""
    tz = settings.tz
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
        asset_id = None
        if lines[0].product == SUBSCRIPTION[0]:
            asset_id = assets.add_asset(
                conn, customer_id=person["id"], name="Office plants", since=when, now=end,
                order_line_id=added.line_ids[0], plan=PLANT_CARE,
            )  # fmt: skip
            made["assets"] += 1
        plans.schedule_for_orders(conn, [added.order_id], now=when, settings=settings)
        if asset_id is not None:  # visited after its first reminder was scheduled, which each visit moves
            made["services"] += _service_visits(conn, settings, rng, asset_id, since=when, end=end)
    made["tips_given"] = _give_tips(conn, settings, rng, end=end)
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


def _service_visits(
    conn: sqlite3.Connection, settings: Settings, rng: random.Random, asset_id: int, *, since: datetime, end: datetime
) -> int:
    """The subscriber's office plants, serviced about monthly since the order (one visit in five
    late by two and a half weeks); each visit moves the plan's next reminder, as `asset serviced` does."""
    made = 0
    visit = since + timedelta(days=30)
    while visit < end - timedelta(days=3):
        late = rng.random() < 0.2
        visit += timedelta(days=17 if late else 0)  # past the default 14 days of grace
        if visit >= end:
            break
        note = "Watered, pruned, fed" + (" (visit was late)" if late else "")
        serviced_at = _in_opening_hours(visit, rng, settings.tz, end)
        assets.record_service(conn, asset_id, serviced_at=serviced_at, now=end, note=note)
        plans.after_service(conn, settings, asset_id, now=serviced_at)
        made += 1
        visit += timedelta(days=30)
    return made


def _give_tips(conn: sqlite3.Connection, settings: Settings, rng: random.Random, *, end: datetime) -> int:
    """Mark the orchid tips due before the end's day as given: four in five on their day, the rest
    one to three days late (still open if that is after the end: overdue)."""
    today_start = local_day_bounds(end.astimezone(settings.tz).date(), settings.tz)[0]
    due = conn.execute(
        "SELECT * FROM followups WHERE plan = ? AND status = 'scheduled' AND due_at < ? ORDER BY due_at, id",
        (ORCHID_TIPS, to_db(today_start)),
    ).fetchall()
    given = 0
    for tip in due:
        late = timedelta(days=rng.randint(1, 3)) if rng.random() < 0.2 else timedelta(0)
        at = from_db(tip["due_at"]) + late + timedelta(hours=rng.randint(9, 16), minutes=rng.randint(0, 59))
        if at > end:
            continue
        followups.complete(conn, settings, tip, at=at)
        given += 1
    return given
