"""Generate a realistic shop history straight into a carecli database, in bulk and deterministically.

    python bench/generate.py --tickets 1000000 --db /tmp/care-1m.db [--seed 1] [--end 2026-03-14T10:00:00+00:00]

(or `python -m carecli.demo.bulk` with the same arguments).

About three years of history up to a fixed end time: customers (tickets / 20, some lost, a few won
back), tickets with every status change as an event and the ticket fields the domain would have
stored (first response, first and last close, reopen and reply counts, durations), about three
interactions per ticket, CSAT/CES on about 30% of closed tickets, NPS from some customers, and
tickets / 5 follow-ups (after-close check-ins, one-off and recurring contacts; done, skipped,
scheduled and overdue), and about tickets / 5 orders with one to three lines each (a quarter of
the customers never order, a third order once or twice, the rest come back on a habit of their
own, some of them falling silent). Only tickets from the last few weeks (and a few stuck older
ones) are still open or pending.

The database is opened through carecli.schema.database.connect, so the schema is whatever the migrations
make. Rows are written by the records' own batched writers (a ticket's stored fields derived by
`records.tickets.history`, as an import derives them); everything is written in one transaction (all or nothing, even if the process is
killed) with executemany over streamed chunks, as `carecli import` loads a big file: secondary
indexes and search triggers set aside, then rebuilt at the end. The same seed, size and end time
give the same database.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from carecli.core import config, store
from carecli.data.importing import import_transaction
from carecli.demo.shop import CHANNEL_WEIGHTS, FIRST, LAST, PRIORITY_WEIGHTS, STORIES, TAGS
from carecli.measure import clocks
from carecli.records import activity, followups, orders, surveys
from carecli.records import customers as customer_records
from carecli.records import tickets as ticket_records
from carecli.schema import database
from carecli.text.clock import from_db

DAY = 86_400
HOUR = 3_600
DEFAULT_END = "2026-03-14T10:00:00+00:00"
CHUNK = 20_000  # tickets per executemany batch: bounded memory, few round trips
STILL_ACTIVE_WINDOW = 21 * DAY  # tickets younger than this may still be open or pending
LOST_REASONS = ["service", "price", "product", "moved", "competitor", "other"]
FOLLOWUP_KINDS = ["check-in", "tip", "service-reminder", "recovery", "thank-you", "offer", "other"]
RECURRENCES = ["FREQ=MONTHLY;INTERVAL=6", "FREQ=MONTHLY;INTERVAL=3", "FREQ=MONTHLY", "FREQ=YEARLY"]
RECURRENCE_SECONDS = {
    "FREQ=MONTHLY;INTERVAL=6": 182 * DAY,
    "FREQ=MONTHLY;INTERVAL=3": 91 * DAY,
    "FREQ=MONTHLY": 30 * DAY,
    "FREQ=YEARLY": 365 * DAY,
}
CSAT_WEIGHTS = {1: 5, 2: 7, 3: 13, 4: 30, 5: 45}
CES_WEIGHTS = {1: 3, 2: 4, 3: 8, 4: 15, 5: 25, 6: 25, 7: 20}
NPS_WEIGHTS = {0: 2, 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 6, 7: 10, 8: 18, 9: 27, 10: 27}

CUSTOMER_COLUMNS = ("id", "name", "email", "phone", "tags", "notes", "created_at", "lost_at", "lost_reason")
# Each table's batched writer, in the order the tables are flushed (parents first).
WRITERS = {
    "customers": lambda conn, rows: customer_records.add_many(conn, CUSTOMER_COLUMNS, rows),
    "tickets": ticket_records.insert_known,  # rows in ticket_records.KNOWN_COLUMNS order
    "interactions": activity.add_interactions,  # activity.INTERACTION_COLUMNS
    "events": activity.add_events,  # activity.EVENT_COLUMNS
    "followups": followups.add_many,  # followups.FOLLOWUP_COLUMNS
    "surveys": surveys.add_many,  # surveys.SURVEY_COLUMNS
    "orders": lambda conn, rows: orders.add_many(conn, rows, ()),  # orders.ORDER_COLUMNS
    "order_lines": lambda conn, rows: orders.add_many(conn, (), rows),  # orders.LINE_COLUMNS
}
# What the generated florist sells: (product, price). A regular buyer has a favourite.
PRODUCTS = [
    ("Orchid Phalaenopsis", 24.90),
    ("Rose bouquet", 34.00),
    ("Tulip bunch", 14.50),
    ("Seasonal bouquet", 29.00),
    ("Monstera", 39.00),
    ("Ficus lyrata", 49.00),
    ("Succulent trio", 19.90),
    ("Bonsai", 59.00),
    ("Peace lily", 22.00),
    ("Plant-care subscription (monthly)", 15.00),
    ("Ceramic pot", 12.00),
    ("Glass vase", 18.00),
    ("Plant food", 6.50),
    ("Wedding bouquet", 120.00),
    ("Gift card", 25.00),
]
PRODUCT_WEIGHTS = [8, 6, 7, 6, 3, 2, 4, 1, 3, 3, 4, 3, 5, 1, 2]
ORDER_HABITS_DAYS = [30, 45, 60, 90, 120, 180]  # a regular buyer's usual gap between orders


class Stamp:
    """Epoch seconds -> the stored text format, fast: one table of days, one of times of day."""

    def __init__(self, first_ts: int, last_ts: int) -> None:
        self.first_day = first_ts // DAY - 1
        epoch = datetime(1970, 1, 1)
        self.days = [
            (epoch + timedelta(days=d)).strftime("%Y-%m-%d") for d in range(self.first_day, last_ts // DAY + 2)
        ]
        self.clock = [f"T{s // HOUR:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00:00" for s in range(DAY)]

    def __call__(self, ts: int) -> str:
        day, second = divmod(ts, DAY)
        return self.days[day - self.first_day] + self.clock[second]


def weighted(weights: dict) -> list:
    """An expanded list to pick from uniformly: cheaper than random.choices per draw."""
    return [value for value, weight in weights.items() for _ in range(weight)]


@dataclass
class Rows:
    """Rows waiting for the next executemany, per table."""

    tables: dict = field(default_factory=lambda: {name: [] for name in WRITERS})
    counts: dict = field(default_factory=lambda: dict.fromkeys(WRITERS, 0))

    def flush(self, conn) -> None:
        for table, rows in self.tables.items():
            if rows:
                WRITERS[table](conn, rows)
                self.counts[table] += len(rows)
                rows.clear()


class ShopHistory:
    def __init__(self, tickets: int, *, seed: int, end: datetime, years: float, settings) -> None:
        self.rng = random.Random(seed)
        self.tickets = tickets
        self.end = int(end.timestamp())
        self.start = self.end - int(years * 365 * DAY)
        self.customer_start = self.start - 365 * DAY  # some customers predate the history
        self.customers = max(1, tickets // 20)
        self.tz = settings.tz
        self.stamp = Stamp(self.customer_start - 30 * DAY, self.end + 400 * DAY)
        self.channels = weighted({c: CHANNEL_WEIGHTS.get(c, 1) for c in settings["channels"]})
        self.priorities = weighted({p: PRIORITY_WEIGHTS.get(p, 1) for p in settings["priorities"]})
        self.stories = [s for s in STORIES if s[1] in settings["categories"]] or [
            (s[0], settings["categories"][0], *s[2:]) for s in STORIES
        ]
        self.customer_lives: list[tuple[int, int, int | None]] = []  # (id, created, lost) for the orders
        self.csat = weighted(CSAT_WEIGHTS)
        self.ces = weighted(CES_WEIGHTS)
        self.nps = weighted(NPS_WEIGHTS)
        self.lost_at: dict[int, int] = {}
        self.followup_id = 0
        # After-close check-ins: about 40% of all follow-ups, drawn from closed tickets.
        self.checkin_share = 0.4 * (tickets / 5) / max(1, tickets * 0.97)

    # ------------------------------------------------------------------ customers

    def customer_created(self, customer_id: int, jitter: float) -> int:
        span = self.end - self.customer_start
        return self.customer_start + int((customer_id - 1 + jitter) * span / self.customers)

    def customer_rows(self, rows: Rows) -> None:
        rng, stamp = self.rng, self.stamp
        for cid in range(1, self.customers + 1):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            created = self.customer_created(cid, rng.random())
            lost_at = lost_reason = None
            draw = rng.random()
            if draw < 0.07 and self.end - created > 60 * DAY:
                lost = created + int((0.4 + 0.6 * rng.random()) * (self.end - created))
                reason = rng.choice(LOST_REASONS)
                rows.tables["events"].append((cid, None, "lost", stamp(lost), json.dumps({"reason": reason})))
                if draw < 0.01:  # came back later
                    back = lost + int(rng.random() * (self.end - lost))
                    rows.tables["events"].append((cid, None, "won-back", stamp(back), None))
                else:
                    self.lost_at[cid] = lost
                    lost_at, lost_reason = stamp(lost), reason
            self.customer_lives.append((cid, created, self.lost_at.get(cid)))
            tag = rng.choice(TAGS)
            rows.tables["customers"].append(
                (
                    cid,
                    f"{first} {last}",
                    f"{first}.{last}.{cid}@example.com".lower(),
                    f"+49 30 {rng.randint(1000000, 9999999)}" if rng.random() < 0.6 else None,
                    tag,
                    "",
                    stamp(created),
                    lost_at,
                    lost_reason,
                )
            )
            if rng.random() < 0.3:  # an NPS answer, a few give two
                for _ in range(2 if rng.random() < 0.15 else 1):
                    at = created + int(rng.random() * (self.end - created))
                    rows.tables["surveys"].append(("nps", cid, None, rng.choice(self.nps), None, stamp(at)))

    def moment(self, ts: int) -> ticket_records.Instant:
        """Epoch seconds as the (datetime, stored text) pair records.tickets.history reads."""
        return datetime.fromtimestamp(ts, timezone.utc), self.stamp(ts)

    def moment_or_none(self, ts: int | None) -> ticket_records.Instant | None:
        return None if ts is None else self.moment(ts)

    def pick_customer(self, at: int) -> int:
        """A customer who already existed at `at` and had not left."""
        known = int((at - self.customer_start) / (self.end - self.customer_start) * self.customers)
        known = min(max(known, 1), self.customers)
        for _ in range(4):
            cid = self.rng.randint(1, known)
            if self.lost_at.get(cid, self.end) > at:
                return cid
        return cid

    # ------------------------------------------------------------------ tickets

    def ticket_rows(self, ticket_id: int, rows: Rows) -> None:
        """One ticket's life, written as the domain functions would have written it."""
        rng, stamp, end = self.rng, self.stamp, self.end
        tables = rows.tables
        events, interactions = tables["events"], tables["interactions"]
        created = self.start + int((ticket_id - 1 + rng.random()) * (end - self.start) / self.tickets)
        cid = self.pick_customer(created)
        subject, category, asked, answer, resolution = self.stories[int(rng.random() * len(self.stories))]
        channel = self.channels[int(rng.random() * len(self.channels))]
        priority = self.priorities[int(rng.random() * len(self.priorities))]
        age = end - created
        active = rng.random() < max(0.0, 1 - age / STILL_ACTIVE_WINDOW) or rng.random() < 0.002

        status = "open"
        clock = created
        first_response = first_closed = closed = None
        reply_count = reopen_count = 0
        events.append((cid, ticket_id, "opened", stamp(created), None))
        interactions.append((cid, ticket_id, None, "in", channel, asked, stamp(created)))

        def say(direction: str, body: str, at: int) -> None:
            interactions.append((cid, ticket_id, None, direction, channel, body, stamp(at)))

        if rng.random() < 0.03:  # triaged: priority changed soon after opening
            new = self.priorities[int(rng.random() * len(self.priorities))]
            if new != priority:
                at = min(created + int(rng.random() * HOUR), end - 1)
                events.append(
                    (cid, ticket_id, "priority", stamp(at), json.dumps({"from": priority, "to": new}, sort_keys=True))
                )
                priority, clock = new, at

        replied_at = created + int(min(rng.lognormvariate(math.log(90 * 60), 1.2), 5 * DAY))
        if replied_at < end and not (active and rng.random() < 0.3) and rng.random() > 0.03:
            clock = max(clock, replied_at)
            first_response = clock
            reply_count = 1
            say("out", answer, clock)
            events.append((cid, ticket_id, "replied-first", stamp(clock), None))
            if rng.random() < 0.25:  # waiting on the customer
                status = "pending"
                events.append((cid, ticket_id, "pending", stamp(clock), None))
                back = clock + rng.randint(2 * HOUR, 72 * HOUR)
                if back < end and not (active and rng.random() < 0.5):
                    clock = back
                    status = "open"
                    say("in", "Thanks, that worked.", clock)
                    events.append((cid, ticket_id, "resumed", stamp(clock), None))
            if status == "open" and rng.random() < 0.3:  # one more exchange
                asked_again = clock + rng.randint(HOUR, 30 * HOUR)
                replied_again = asked_again + rng.randint(10 * 60, 6 * HOUR)
                if replied_again < end:
                    say("in", "One more question about this.", asked_again)
                    say("out", "Of course, here is what to do.", replied_again)
                    clock, reply_count = replied_again, reply_count + 1
            if rng.random() < 0.15:
                at = clock + rng.randint(60, 30 * 60)
                if at < end:
                    say("note", "Checked the order history.", at)
                    clock = at

        if not active and status == "open":
            close_at = clock + rng.randint(HOUR, 48 * HOUR)
            if close_at < end:
                clock = first_closed = closed = close_at
                status = "closed"
                events.append((cid, ticket_id, "closed", stamp(clock), json.dumps({"resolution": resolution})))
                if rng.random() < 0.06:  # the problem came back
                    again = clock + rng.randint(DAY, 10 * DAY)
                    if again < end:
                        clock, status, reopen_count = again, "open", 1
                        events.append(
                            (cid, ticket_id, "reopened", stamp(clock), json.dumps({"reason": "customer came back"}))
                        )
                        say("in", "It happened again, sorry!", clock)
                        fixed = clock + rng.randint(HOUR, 20 * HOUR)
                        if fixed < end:
                            clock, reply_count = fixed, reply_count + 1
                            if first_response is None:
                                first_response = clock
                                events.append((cid, ticket_id, "replied-first", stamp(clock), None))
                            say("out", "Let's fix it for good.", clock)
                            close_again = clock + rng.randint(HOUR, 24 * HOUR)
                            if close_again < end:
                                clock = closed = close_again
                                status = "closed"
                                events.append(
                                    (cid, ticket_id, "closed", stamp(clock), json.dumps({"resolution": resolution}))
                                )

        known = ticket_records.history(
            subject=subject,
            channel=channel,
            category=category,
            priority=priority,
            status=status,
            tags="",
            resolution=resolution if closed else None,
            created=self.moment(created),
            first_response=self.moment_or_none(first_response),
            first_closed=self.moment_or_none(first_closed),
            closed=self.moment_or_none(closed),
            updated=self.moment(clock),
            reopens=reopen_count,
            replies=reply_count,
        )
        tables["tickets"].append((ticket_id, None, cid, *known))
        if status == "closed" and closed is not None:
            if rng.random() < 0.3:
                at = closed + rng.randint(10 * 60, 3 * DAY)
                if at < end:
                    tables["surveys"].append(("csat", cid, ticket_id, rng.choice(self.csat), None, stamp(at)))
                    if rng.random() < 0.33:
                        tables["surveys"].append(("ces", cid, ticket_id, rng.choice(self.ces), None, stamp(at)))
            if rng.random() < self.checkin_share:
                self.followup_rows(
                    rows,
                    cid,
                    closed + 7 * DAY,
                    kind="check-in",
                    ticket_id=ticket_id,
                    source="after-close",
                    created=closed,
                )

    # ------------------------------------------------------------------ follow-ups

    def local_midnight(self, ts: int, *, days_later: int = 0) -> int:
        """The local midnight starting the day of `ts` (or a day `days_later`), as epoch seconds."""
        day = datetime.fromtimestamp(ts, self.tz).date() + timedelta(days=days_later)
        return int(datetime(day.year, day.month, day.day, tzinfo=self.tz).timestamp())

    def due_day_end(self, due: int) -> int:
        """The local midnight ending the due day, as carecli.records.followups.due_day_end decides it."""
        return self.local_midnight(due, days_later=1)

    def followup_rows(
        self,
        rows: Rows,
        cid: int,
        due: int,
        *,
        kind: str,
        ticket_id: int | None = None,
        source: str = "manual",
        created: int | None = None,
        recurrence: str | None = None,
        previous_id: int | None = None,
    ) -> int:
        """One follow-up; a recurring one that is done continues with its next occurrence."""
        rng, stamp, end = self.rng, self.stamp, self.end
        all_day = rng.random() < 0.8
        due = self.local_midnight(due) if all_day else due
        created = min(created if created is not None else due - rng.randint(DAY, 30 * DAY), end - 1)
        self.followup_id += 1
        followup_id = self.followup_id
        status, completed, outcome = "scheduled", None, None
        if due < end:
            overdue_odds = 0.3 if end - due < 30 * DAY else 0.01
            draw = rng.random()
            if draw < overdue_odds:
                pass  # still scheduled: overdue
            elif draw < overdue_odds + 0.05:
                status, completed, outcome = "skipped", due + rng.randint(HOUR, 3 * DAY), "no longer needed"
            else:
                late = rng.random() < 0.2
                completed = due + (rng.randint(DAY, 10 * DAY) if late else rng.randint(9 * HOUR, 17 * HOUR))
                if completed < end:
                    status, outcome = "done", "talked, all good"
                else:
                    completed = None
        rows.tables["followups"].append(
            (
                followup_id,
                cid,
                ticket_id,
                kind,
                f"{kind.replace('-', ' ')} call",
                stamp(due),
                int(all_day),
                recurrence,
                status,
                stamp(created),
                stamp(completed) if completed else None,
                outcome,
                source,
                previous_id,
                int(completed < self.due_day_end(due)) if status == "done" and completed is not None else None,
            )
        )
        if status == "done" and completed is not None:
            # A proactive contact, not a reply on the ticket: it must not count as one.
            rows.tables["interactions"].append(
                (cid, None, followup_id, "out", "phone", f"Follow-up ({kind}): {outcome}", stamp(completed))
            )
            if recurrence:
                self.followup_rows(
                    rows,
                    cid,
                    due + RECURRENCE_SECONDS[recurrence],
                    kind=kind,
                    source=source,
                    created=completed,
                    recurrence=recurrence,
                    previous_id=followup_id,
                )
        return followup_id

    def other_followups(self, rows: Rows, target: int) -> None:
        """Manual and suggested follow-ups until there are about tickets / 5 in all."""
        rng = self.rng
        while self.followup_id < target:
            kind = rng.choice(FOLLOWUP_KINDS)
            recurrence = rng.choice(RECURRENCES) if rng.random() < 0.15 else None
            due = self.start + int(rng.random() * (self.end + 60 * DAY - self.start))
            cid = self.pick_customer(min(due, self.end - 1))
            source = rng.choice(["manual", "manual", "suggest:silent", "suggest:recovery"])
            self.followup_rows(rows, cid, due, kind=kind, source=source, recurrence=recurrence)


class OrderHistory:
    """Orders with their lines for given customers, from a random stream of their own (so adding
    orders leaves the rest of a seed's history as it was), in time order, ids from `first_id`."""

    def __init__(self, *, seed: int, end: int, stamp: Stamp, first_id: int = 1, first_line_id: int = 1) -> None:
        self.rng = random.Random(f"orders:{seed}")
        self.end, self.stamp = end, stamp
        self.order_id, self.line_id = first_id - 1, first_line_id - 1
        self.products = [i for i, weight in enumerate(PRODUCT_WEIGHTS) for _ in range(weight)]

    def times(self, created: int, lost: int | None) -> tuple[list[int], int | None]:
        """When one customer ordered, and their favourite product (regular buyers only)."""
        rng = self.rng
        life_end = min(self.end, lost) if lost is not None else self.end
        span = life_end - created
        if span <= DAY:
            return [], None
        draw = rng.random()
        if draw < 0.25:
            return [], None
        if draw < 0.55:
            return [created + int(rng.random() * span)], None
        if draw < 0.65:
            return sorted(created + int(rng.random() * span) for _ in range(2)), None
        habit = rng.choice(ORDER_HABITS_DAYS) * DAY
        # A third of the regulars fall silent at some point (the silent buyers of `care suggest`).
        stop = created + int(rng.random() * span) if rng.random() < 0.3 else life_end
        at, times = created + int(rng.random() * habit), []
        while at < stop:
            times.append(at)
            at += max(DAY, int(habit * rng.lognormvariate(0, 0.25)))
        return times, rng.choice(self.products)

    def rows(self, customers) -> tuple[list[tuple], list[tuple]]:
        """(order rows, line rows) for `customers`, (id, created, lost or None) epoch seconds."""
        rng, stamp = self.rng, self.stamp
        placed: list[tuple[int, int, int | None]] = []
        for cid, created, lost in customers:
            times, favourite = self.times(created, lost)
            placed.extend((at, cid, favourite) for at in times)
        placed.sort()
        order_rows, line_rows = [], []
        for at, cid, favourite in placed:
            self.order_id += 1
            priced = rng.random() >= 0.04  # a few orders come without amounts (a phone order)
            total = 0.0
            lines = rng.choice((1, 1, 1, 1, 1, 1, 2, 2, 2, 3))
            for position in range(1, lines + 1):
                choice = favourite if favourite is not None and position == 1 and rng.random() < 0.7 else None
                product, price = PRODUCTS[choice if choice is not None else rng.choice(self.products)]
                qty = 2 if rng.random() < 0.1 else 1
                amount = round(price * qty, 2) if priced else None
                total += amount or 0.0
                self.line_id += 1
                line_rows.append((self.line_id, self.order_id, position, product, qty, amount))
            order_rows.append(
                (
                    self.order_id,
                    cid,
                    str(100000 + self.order_id),
                    stamp(at),
                    round(total, 2) if priced else None,
                    "EUR",
                    "shopify",
                    stamp(at),
                )
            )
        return order_rows, line_rows


def _write_orders(conn, rows: Rows, history: OrderHistory, customers) -> None:
    order_rows, line_rows = history.rows(customers)
    for table, table_rows in (("orders", order_rows), ("order_lines", line_rows)):  # parents first
        for first in range(0, len(table_rows), CHUNK):
            rows.tables[table].extend(table_rows[first : first + CHUNK])
            rows.flush(conn)


def add_orders(path: Path, *, seed: int = 1, end: datetime | None = None) -> dict[str, float]:
    """Add the orders to a generated database that has none (one made before orders were
    generated), for its customers as they are; one transaction. Returns rows written per table."""
    end_ts = int((end or from_db(DEFAULT_END)).timestamp())
    conn = database.connect(path)
    if store.scalar(conn, "SELECT count(*) FROM orders"):
        raise SystemExit(f"error: {path} already holds orders")
    customers = [
        (cid, int(from_db(created).timestamp()), int(from_db(lost).timestamp()) if lost else None)
        for cid, created, lost in conn.execute("SELECT id, created_at, lost_at FROM customers ORDER BY id")
    ]
    first = min((c[1] for c in customers), default=end_ts)
    history = OrderHistory(seed=seed, end=end_ts, stamp=Stamp(first - 30 * DAY, end_ts + 400 * DAY))
    rows = Rows()
    started = time.perf_counter()
    with store.transaction(conn):
        _write_orders(conn, rows, history, customers)
    conn.close()
    return {"orders": rows.counts["orders"], "order_lines": rows.counts["order_lines"],
            "seconds.rows": time.perf_counter() - started}  # fmt: skip


def generate(
    path: Path,
    tickets: int,
    *,
    seed: int = 1,
    end: datetime | None = None,
    years: float = 3.0,
    settings=None,
    progress=None,
    journal: str = "delete",
) -> dict[str, float]:
    """Write the history into the (new or empty) database at `path`.

    Returns rows written per table, and seconds spent per phase (`seconds.rows`, `.indexes` with the
    commit, `.checkpoint`).
    """
    settings = settings or config.load()
    end = end or from_db(DEFAULT_END)
    history = ShopHistory(tickets, seed=seed, end=end, years=years, settings=settings)
    conn = database.connect(path, create=True)
    if store.scalar(conn, "SELECT count(*) FROM tickets") or store.scalar(conn, "SELECT count(*) FROM customers"):
        raise SystemExit(f"error: {path} already holds data; use a new path or --replace")
    if journal != "wal":
        # A rollback journal holds only the pages the load changes, not every new page as the WAL
        # would (then copied again by the checkpoint): still all or nothing, about twice as fast.
        # SQLite switches it only outside a transaction.
        conn.execute(f"PRAGMA journal_mode = {journal}")
    rows = Rows()
    timer = time.perf_counter
    started = timer()
    # The import's bulk load: one transaction, secondary indexes and search triggers set aside while
    # loading and rebuilt at the end, and every reference checked once instead of row by row.
    with import_transaction(conn, bulk=True):
        history.customer_rows(rows)
        rows.flush(conn)
        for first in range(1, tickets + 1, CHUNK):
            for ticket_id in range(first, min(first + CHUNK, tickets + 1)):
                history.ticket_rows(ticket_id, rows)
            rows.flush(conn)
            if progress:
                progress(min(first + CHUNK - 1, tickets))
        history.other_followups(rows, max(1, tickets // 5))
        rows.flush(conn)
        orders_history = OrderHistory(seed=seed, end=history.end, stamp=history.stamp)
        _write_orders(conn, rows, orders_history, history.customer_lives)
        # The business-time cache, as every carecli write keeps it (measure/clocks.py).
        clocks.keep_current(conn, clocks.BusinessHours.from_settings(settings), everything=True)
        loaded = timer()
    indexed = timer()
    conn.execute("PRAGMA journal_mode = WAL")  # what carecli uses; also checkpoints a WAL load
    conn.execute("PRAGMA main.wal_checkpoint(TRUNCATE)")  # main only: the TEMP database (used above) refuses
    conn.close()
    seconds = {
        "seconds.rows": loaded - started,
        "seconds.indexes": indexed - loaded,
        "seconds.checkpoint": timer() - indexed,
    }
    return {**rows.counts, **seconds}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, help="number of tickets (customers = tickets / 20); required")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--db", required=True, help="database file to create")
    parser.add_argument("--end", default=DEFAULT_END, help=f"end of the history (default {DEFAULT_END})")
    parser.add_argument("--years", type=float, default=3.0, help="length of the history in years (default 3)")
    parser.add_argument(
        "--journal",
        choices=["delete", "wal"],
        default="delete",
        help="how the load is journaled: a rollback journal (default, faster) or the WAL "
        "carecli's own commands write through; all or nothing either way",
    )
    parser.add_argument("--replace", action="store_true", help="delete the database file first if it exists")
    parser.add_argument(
        "--orders-only",
        action="store_true",
        help="add only the orders, to a database generated before orders were (no --tickets then)",
    )
    args = parser.parse_args(argv)
    if args.orders_only:
        added = add_orders(Path(args.db), seed=args.seed, end=from_db(args.end))
        print(
            f"{args.db}: {added['orders']:,} orders, {added['order_lines']:,} order lines "
            f"in {added['seconds.rows']:.1f} s",
            file=sys.stderr,
        )
        return
    if args.tickets is None or args.tickets < 1:
        parser.error("--tickets must be given, at least 1")
    path = Path(args.db)
    if args.replace:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    interactive = sys.stderr.isatty()

    def progress(done: int) -> None:
        if interactive:
            print(f"\r{done:,} / {args.tickets:,} tickets", end="", file=sys.stderr, flush=True)

    counts = generate(
        path,
        args.tickets,
        seed=args.seed,
        end=from_db(args.end),
        years=args.years,
        progress=progress,
        journal=args.journal,
    )
    elapsed = time.perf_counter() - started
    if interactive:
        print(file=sys.stderr)
    summary = ", ".join(f"{counts[t]:,} {t}" for t in WRITERS)
    phases = ", ".join(f"{name.split('.')[1]} {value:.1f} s" for name, value in counts.items() if "." in name)
    size = os.path.getsize(path) / 1e6
    print(f"{path}: {summary} in {elapsed:.1f} s ({phases}; {size:,.0f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
