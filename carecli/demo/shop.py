"""A realistic demo history: a small florist's last few months of customers, tickets and contacts.

Built through the same domain functions the commands use, so it obeys every rule they do.
Deterministic for a given seed and end time.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta

from carecli.core import store
from carecli.core.config import Settings
from carecli.demo.orders import build_demo_orders
from carecli.records import customers, followups, surveys, tickets
from carecli.records.activity import log_interaction
from carecli.records.care import mark_lost, schedule_after_close
from carecli.text.clock import from_db, local_day_bounds, to_db

FIRST = [
    "Ada",
    "Ben",
    "Chloe",
    "Dario",
    "Elif",
    "Finn",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kaya",
    "Luca",
    "Mara",
    "Nils",
    "Olga",
    "Pia",
    "Quentin",
    "Rosa",
    "Sami",
    "Tara",
    "Uli",
    "Vera",
    "Wim",
    "Yara",
    "Zoe",
]
LAST = [
    "Becker",
    "Costa",
    "Dumont",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Horvat",
    "Ivanova",
    "Jansen",
    "Keller",
    "Lindqvist",
    "Moreau",
    "Novak",
    "Okafor",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Vogel",
    "Weber",
]
# (subject, category, customer's first message, our reply, resolution)
STORIES = [
    (
        "Bouquet arrived wilted",
        "complaint",
        "The roses I got yesterday are already drooping.",
        "So sorry! We'll send a fresh bouquet today.",
        "Replacement delivered",
    ),
    (
        "Where is my order?",
        "delivery",
        "My order for Friday hasn't arrived yet.",
        "Your courier is on the way, arriving by 3pm.",
        "Delivered",
    ),
    (
        "Charged twice",
        "billing",
        "I see two charges for one order on my card.",
        "We refunded the duplicate charge; it shows in 3-5 days.",
        "Duplicate refunded",
    ),
    (
        "Wedding flowers quote",
        "question",
        "Can you do table arrangements for 12 tables in June?",
        "Yes! Quote attached: 12 centrepieces, seasonal peonies.",
        "Quote accepted",
    ),
    (
        "Return a vase",
        "returns",
        "The vase I bought has a crack.",
        "Bring it by any day; we'll swap it.",
        "Vase exchanged",
    ),
    (
        "Website checkout error",
        "technical",
        "The checkout page shows an error when I pay.",
        "Thanks, fixed a payment setting. Could you try again?",
        "Payment went through",
    ),
    (
        "Plant care tips",
        "question",
        "My orchid's leaves are turning yellow.",
        "Water less often, once a week, and keep it out of direct sun.",
        "Advice given",
    ),
    (
        "Wrong colour tulips",
        "complaint",
        "I ordered white tulips and got yellow ones.",
        "Apologies, white tulips are on their way with a discount code.",
        "Replaced with discount",
    ),
]
CHANNEL_WEIGHTS = {"email": 5, "phone": 3, "chat": 2, "in-person": 2, "social": 1, "web": 1}
PRIORITY_WEIGHTS = {"low": 2, "normal": 6, "high": 2, "urgent": 1}
TAGS = ["vip", "wholesale", "wedding", "subscription", ""]


def build_demo(
    conn: sqlite3.Connection,
    settings: Settings,
    *,
    end: datetime,
    days: int = 120,
    customers_count: int = 40,
    seed: int = 7,
) -> dict[str, int]:
    """Fill an empty database with `days` of history ending at `end`; returns counts of what was made."""
    rng = random.Random(seed)
    # Days start at local midnight, so opening hours below are the shop's hours.
    start = (end.astimezone(settings.tz) - timedelta(days=days)).replace(hour=0, minute=0, second=0)
    channels = [c for c in CHANNEL_WEIGHTS if c in settings["channels"]] or settings["channels"]
    weights = [CHANNEL_WEIGHTS.get(c, 1) for c in channels]
    counts = {"customers": 0, "tickets": 0, "interactions": 0}

    with store.transaction(conn):
        people = []
        for number in range(customers_count):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            joined = start - timedelta(days=rng.randint(0, 400))
            row = customers.add_customer(
                conn,
                f"{first} {last}",
                at=joined,
                email=f"{first}.{last}{number}@example.com".lower(),
                phone=f"+49 30 {rng.randint(1000000, 9999999)}" if rng.random() < 0.6 else None,
                tags=[t for t in [rng.choice(TAGS)] if t],
            )
            people.append(row)
        counts["customers"] = len(people)

        for day in range(days):
            for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
                opened = start + timedelta(days=day, hours=rng.randint(8, 18), minutes=rng.randint(0, 59))
                counts["interactions"] += _story(
                    conn, settings, rng, rng.choice(people), opened, end, rng.choices(channels, weights)[0]
                )
                counts["tickets"] += 1

        for person in rng.sample(people, k=min(8, len(people))):
            log_interaction(
                conn,
                customer_id=person["id"],
                direction="out",
                channel="phone",
                body="Checked in: how are the flowers doing?",
                at=start + timedelta(days=rng.randint(0, days - 1), hours=11),
            )
            counts["interactions"] += 1
        counts.update(build_demo_care(conn, settings, people, end=end, seed=seed))
        counts.update(build_demo_orders(conn, settings, people, end=end, seed=seed))
        counts["surveys"] = surveys.add_demo_surveys(conn, end=end, seed=seed)
    return counts


def _story(conn, settings, rng: random.Random, person, opened: datetime, end: datetime, channel: str) -> int:
    """One ticket's life: opened, answered, maybe pending, usually closed, sometimes reopened."""
    subject, category, asked, answer, resolution = rng.choice(STORIES)
    priorities = settings["priorities"]
    priority = rng.choices(priorities, [PRIORITY_WEIGHTS.get(p, 1) for p in priorities])[0]
    ticket = tickets.open_ticket(
        conn,
        settings,
        customer_id=person["id"],
        subject=subject,
        at=opened,
        channel=channel,
        category=category,
        priority=priority,
        message=asked,
    )
    made = 1
    clock = opened + timedelta(minutes=rng.choice([5, 20, 45, 90, 180, 600, 1500]))
    if clock >= end:
        return made
    ticket = tickets.reply(conn, settings, ticket, answer, at=clock, pending=False)  # the demo sets its own
    made += 1
    if rng.random() < 0.25:
        ticket = tickets.set_pending(conn, ticket, at=clock)
        clock += timedelta(hours=rng.randint(2, 72))
        if clock >= end:
            return made
        ticket = tickets.inbound(conn, settings, ticket, "Thanks, that worked.", at=clock).ticket
        made += 1
    clock += timedelta(hours=rng.randint(1, 30))
    recent = end - opened < timedelta(days=10)
    if clock >= end or (recent and rng.random() < 0.4):
        return made  # still being worked on
    ticket = tickets.close(conn, ticket, at=clock, resolution=resolution)
    if rng.random() < 0.08:
        clock += timedelta(days=rng.randint(1, 5))
        if clock < end:
            ticket = tickets.reopen(conn, ticket, at=clock, reason="customer came back")
            tickets.inbound(conn, settings, ticket, "It happened again, sorry!", at=clock)
            made += 1
            clock += timedelta(hours=rng.randint(2, 20))
            if clock < end:
                tickets.reply(
                    conn, settings, ticket, "Let's fix it for good: sending a technician note.", at=clock, pending=False
                )
                tickets.close(conn, tickets.get_ticket(conn, ticket["id"]), at=clock + timedelta(hours=1))
                made += 1
    return made


def build_demo_care(
    conn: sqlite3.Connection, settings: Settings, people: list[sqlite3.Row], *, end: datetime, seed: int = 7
) -> dict[str, int]:
    """Add care to the demo shop (inside its transaction): monthly reminders kept on time and late,
    check-ins due today and overdue, after-close check-ins for recent closes, two lost customers."""
    import random

    rng = random.Random(seed)
    tz = settings.tz
    today = end.astimezone(tz).date()
    day = lambda offset: local_day_bounds(today + timedelta(days=offset), tz)[0]  # noqa: E731
    chosen = rng.sample(people, k=min(10, len(people)))
    made = 0

    for person in chosen[:3]:  # a monthly care call, completed each month, once late
        row = followups.add_followup(
            conn,
            settings,
            customer_id=person["id"],
            due=day(-95 + rng.randint(0, 4)),
            all_day=True,
            at=day(-100),
            kind="service-reminder",
            every="monthly",
            note="Monthly plant-care call for the subscription",
        )
        made += 1
        while from_db(row["due_at"]) < day(-1):
            late = rng.random() < 0.25
            done_at = min(from_db(row["due_at"]) + timedelta(days=2 if late else 0, hours=10), end)
            result = followups.complete(
                conn,
                settings,
                row,
                at=done_at,
                channel="phone",
                outcome="Called: plants doing well" + (" (called late)" if late else ""),
            )
            if result.next_followup is None:
                break
            row, made = result.next_followup, made + 1

    notes = ["Ask how the wedding flowers went", "Offer the spring catalogue", "Check the replacement arrived"]
    for offset, person in zip((0, 0, -2, -4), chosen[3:7]):  # due today, and overdue
        followups.add_followup(
            conn,
            settings,
            customer_id=person["id"],
            due=day(offset),
            all_day=True,
            at=day(offset - 7),
            kind=rng.choice(["check-in", "offer", "tip"]),
            note=rng.choice(notes),
        )
        made += 1

    recent = conn.execute(
        "SELECT t.* FROM tickets t WHERE t.status = 'closed' AND t.closed_at >= ? ORDER BY t.closed_at LIMIT 4",
        (to_db(end - timedelta(days=5)),),
    ).fetchall()
    for ticket in recent:
        schedule_after_close(conn, settings, ticket, at=from_db(ticket["closed_at"]), after=timedelta(days=7))
        made += 1

    lost = 0
    for person, reason, days_ago in zip(chosen[7:9], ("price", "moved"), (20, 50)):
        mark_lost(conn, settings, person, reason=reason, at=end - timedelta(days=days_ago), note="Told us on the phone")
        lost += 1
    return {"followups": made, "lost_customers": lost}
