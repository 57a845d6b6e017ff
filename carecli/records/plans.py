"""Care plans (issue 17): the steps of `[[care.plans]]` scheduled as follow-ups for the orders and
assets they match. The one writer of plan follow-ups (those with `followups.plan` set).

A plan matches an order when one of its line items' products matches one of the plan's globs
(case-insensitive). A plan with `asset = true` makes each matching line item an asset (one per
line, linked by `order_line_id`, unless the line has an asset already) and schedules its steps
for the asset; any other plan schedules them for the order. An asset added by hand with a plan
follows that plan's steps whatever its `asset` flag.

Each step is scheduled once for each order or asset (`plan`, `plan_step`, `order_id` or
`asset_id` on the follow-up), so scheduling again adds nothing; a cadence step's follow-up is a
series that goes on by itself (`followup done` schedules the next occurrence, naming the same
plan and step). Plan follow-ups are all-day, due on a day of the configured zone:

- a one-off step (`after = "7d"`) is due on the day `after` the purchase (an asset's `since`). If
  that day is past but not more than `plans_backfill_days` ago, it is due today: a promise made
  now, so it is neither counted late nor lost to `care run`'s catch-up window. Older, it is not
  scheduled.
- a cadence step (`every = "6 months"`) is due on its next occurrence after now, counted from the
  purchase day, for an asset from its last recorded service (else its `since`).

`after_service` moves an asset's scheduled reminders to the next occurrence after the service.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fnmatch import fnmatchcase
from itertools import islice
from typing import Any, Iterable, Sequence

from carecli.core import store, undolog
from carecli.core.config import Settings
from carecli.core.errors import NotFound
from carecli.records import assets, followups
from carecli.text.cadence import next_occurrence, parse_every
from carecli.text.clock import from_db, local_day_bounds, local_naive, to_db
from carecli.text.durations import parse_duration

SOURCE = "plan"
SHARED_OCCURRENCES = 120  # past occurrences of a cadence looked at for anchors that share its series


@dataclass
class Planned:
    """One plan step to be scheduled (or scheduled: `followup_id`) for an order or an asset."""

    plan: str
    step: int
    kind: str
    customer_id: int
    customer_name: str
    due_at: str
    reason: str  # the evidence, for people: what it is for and how the day was found
    note: str = ""
    template: str = ""
    recurrence: str | None = None
    order_id: int | None = None
    asset_id: int | None = None
    new_asset: int | None = None  # an asset still to be made from an order line: its place in Pending.assets
    followup_id: int | None = None


@dataclass
class NewAsset:
    """An asset a plan makes from an order line."""

    plan: str
    customer_id: int
    name: str
    since: str
    order_line_id: int
    order_id: int
    asset_id: int | None = None


@dataclass
class StepTally:
    """What one step of a plan matches in the scope, for `care plans --check`."""

    plan: str
    step: int
    kind: str
    when: str
    targets: str  # orders | assets
    matched: int = 0
    scheduled: int = 0
    to_schedule: int = 0
    too_old: int = 0


@dataclass
class Pending:
    """What scheduling would write: assets to make, follow-ups to schedule, and per step the tally."""

    assets: list[NewAsset] = field(default_factory=list)
    followups: list[Planned] = field(default_factory=list)
    tallies: list[StepTally] = field(default_factory=list)


@dataclass(frozen=True)
class Scope:
    """Which orders and assets to look at: all of them (the catch-up), some orders, or one asset.
    Each is SQL over `o` (orders) or `a` (assets) with named parameters."""

    order_ids: tuple[int, ...] | None = None
    min_order_id: int | None = None
    asset_id: int | None = None

    def orders(self) -> tuple[str, dict[str, Any]]:
        if self.asset_id is not None:
            return "0", {}
        if self.order_ids is not None:
            return "o.id IN (SELECT value FROM json_each(:scope_orders))", {"scope_orders": json.dumps(self.order_ids)}
        if self.min_order_id is not None:
            return "o.id >= :scope_min_order", {"scope_min_order": self.min_order_id}
        return "1", {}

    def assets(self) -> tuple[str, dict[str, Any]]:
        if self.asset_id is not None:
            return "a.id = :scope_asset", {"scope_asset": self.asset_id}
        if self.order_ids is None and self.min_order_id is None:
            return "1", {}
        lines, params = self.orders()
        return (
            f"a.order_line_id IN (SELECT l.id FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE {lines})",
            params,
        )


EVERYTHING = Scope()


def find_plan(settings: Settings, name: str) -> dict:
    for plan in settings["care.plans"]:
        if plan["name"] == name.strip():
            return plan
    known = ", ".join(plan["name"] for plan in settings["care.plans"])
    raise NotFound(
        f"no care plan '{name.strip()}'",
        f"plans: {known}" if known else "add [[care.plans]] to the config (see config.example.toml)",
    )


def step_when(step: dict) -> str:
    return f"{step['after']} after the purchase" if step["after"] else f"every {step['every']}"


def _products(conn: sqlite3.Connection, scope: Scope) -> list[str]:
    """The distinct products of the line items in scope: a shop sells a few hundred products over
    hundreds of thousands of lines, so globs are matched once per name, in Python."""
    scope_sql, params = scope.orders()
    if scope_sql == "1":
        return [row[0] for row in conn.execute("SELECT DISTINCT product FROM order_lines")]
    sql = f"SELECT DISTINCT l.product FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE {scope_sql}"
    return [row[0] for row in conn.execute(sql, params)]


def _globs(plan: dict, products: list[str]) -> tuple[str, dict[str, str]]:
    """SQL matching a line's product against the plan's globs (shell globs: *, ?, [abc], [!abc]),
    case-insensitive: Python's lower(), not SQLite's, which folds ASCII letters only."""
    matching = [name for name in products if any(fnmatchcase(name.lower(), pattern) for pattern in plan["products"])]
    return "l.product IN (SELECT value FROM json_each(:products))", {"products": json.dumps(matching)}


class _Days:
    """Due days for one run: today in the zone, the backfill limit, and each cadence's next
    occurrence worked out once per step and anchor day (thousands of assets share few days)."""

    def __init__(self, settings: Settings, now: datetime) -> None:
        self.tz = settings.tz
        self.now = now
        self.today = now.astimezone(self.tz).date()
        self.oldest = self.today - timedelta(days=settings["care.plans_backfill_days"])
        self._cadences: dict[tuple[str, date], tuple[str, str, str] | None] = {}

    def start(self, day: date) -> datetime:
        return local_day_bounds(day, self.tz)[0]

    def one_off(self, anchor: str, after: timedelta) -> tuple[str, str] | None:
        """(due_at, how) for a step `after` the anchor; None when it was due before the backfill limit."""
        day = (from_db(anchor) + after).astimezone(self.tz).date()
        if day >= self.today:
            return to_db(self.start(day)), f"due {day}"
        if day >= self.oldest:
            return to_db(self.start(self.today)), f"was due {day}, scheduled for today"
        return None

    def cadence(self, every: str, anchor: str) -> tuple[str, str, str] | None:
        """(due_at, due day, recurrence) of the next occurrence after now of `every` counted from
        the anchor's day; None when the cadence has none."""
        day = from_db(anchor).astimezone(self.tz).date()
        key = (every, day)
        if key not in self._cadences:
            rule = parse_every(every, dtstart=self.start(day), tz=self.tz)
            occurrence = next_occurrence(rule, after=self.now, tz=self.tz)
            found = None
            if occurrence is not None:
                found = (to_db(occurrence), occurrence.astimezone(self.tz).date().isoformat(), str(rule))
            self._cadences[key] = found
            # The rule's past occurrences on the anchor's day of the month start the same series
            # from then on (a clamped 28 February of a rule of the 31st would not), so anchors on
            # those days share its next occurrence: a few hundred rules instead of one per day.
            now_local = local_naive(self.now, self.tz)
            for past in islice(rule, SHARED_OCCURRENCES):
                if past > now_local:
                    break
                if past.day == day.day:
                    self._cadences.setdefault((every, past.date()), found)
        return self._cadences[key]


def _day(at: str, days: _Days) -> str:
    return from_db(at).astimezone(days.tz).date().isoformat()


def pending(
    conn: sqlite3.Connection, settings: Settings, *, now: datetime, scope: Scope = EVERYTHING, tally: bool = False
) -> Pending:
    """Every plan step not scheduled yet for the orders and assets in `scope`; writes nothing.
    With `tally`, also each step's counts (matched, scheduled, too old), which costs a look at
    every matching order; without, a plan of one-off steps looks only at orders recent enough to
    be scheduled (`care run`'s catch-up, every run, and bulk imports)."""
    days = _Days(settings, now)
    result = Pending()
    products = _products(conn, scope) if settings["care.plans"] else []
    for plan in settings["care.plans"]:
        if plan["asset"]:
            _asset_plan(conn, plan, days, scope, products, result)
        else:
            _order_plan(conn, plan, days, scope, products, result, tally=tally)
    if not tally:
        result.tallies = []
    return result


def _tally(plan: dict, step: dict, targets: str) -> StepTally:
    return StepTally(plan["name"], step["number"], step["kind"], step_when(step), targets)


def _planned(plan: dict, step: dict, row: Any, due_at: str, reason: str, recurrence: str | None = None) -> Planned:
    return Planned(
        plan["name"],
        step["number"],
        step["kind"],
        row["customer_id"],
        row["customer_name"],
        due_at,
        reason,
        note=step["note"],
        template=step["template"],
        recurrence=recurrence,
    )


def _due(step: dict, anchor: str, days: _Days) -> tuple[str, str, str | None] | None:
    """(due_at, how, recurrence) of a step counted from the anchor, or None (too old, or no next occurrence)."""
    if step["after"]:
        found = days.one_off(anchor, parse_duration(step["after"]))
        return None if found is None else (found[0], found[1], None)
    next_due = days.cadence(step["every"], anchor)
    return None if next_due is None else (next_due[0], f"next due {next_due[1]}", next_due[2])


def _oldest_anchor(step: dict, days: _Days) -> str:
    """Orders before this (the backfill limit less the step's wait, with a day's margin for the
    zone's midnight) are too old for a one-off step; the exact day is decided in Python."""
    return to_db(days.start(days.oldest) - parse_duration(step["after"]) - timedelta(days=1))


def _order_plan(
    conn: sqlite3.Connection,
    plan: dict,
    days: _Days,
    scope: Scope,
    products: list[str],
    result: Pending,
    *,
    tally: bool,
) -> None:
    scope_sql, params = scope.orders()
    globs, glob_params = _globs(plan, products)
    if not tally and all(step["after"] for step in plan["steps"]):
        # Only orders recent enough for some step (the ordered_at index); the tally needs them all.
        scope_sql += " AND o.ordered_at >= :recent"
        params = {**params, "recent": min(_oldest_anchor(step, days) for step in plan["steps"])}
    # One pass over the plan's orders, with whether each step is scheduled for each already.
    flags = ", ".join(
        f"""EXISTS (SELECT 1 FROM followups f WHERE f.plan = :plan AND f.plan_step = :step_{step["number"]}
                    AND f.order_id = m.id AND f.asset_id IS NULL) AS has_{step["number"]}"""
        for step in plan["steps"]
    )
    rows = conn.execute(
        f"""SELECT m.*, c.name AS customer_name, {flags} FROM (
                SELECT o.id, o.customer_id, o.ordered_at, min(l.product) AS product FROM orders o
                JOIN order_lines l ON l.order_id = o.id WHERE {scope_sql} AND {globs} GROUP BY o.id) m
            JOIN customers c ON c.id = m.customer_id ORDER BY m.id""",
        {
            **params,
            **glob_params,
            "plan": plan["name"],
            **{f"step_{step['number']}": step["number"] for step in plan["steps"]},
        },
    ).fetchall()
    for step in plan["steps"]:
        counts = _tally(plan, step, "orders")
        counts.matched = len(rows)
        oldest = _oldest_anchor(step, days) if step["after"] else ""  # older ones: no need to work out their day
        flag = f"has_{step['number']}"
        for row in rows:
            if row[flag]:
                counts.scheduled += 1
                continue
            due = None if row["ordered_at"] < oldest else _due(step, row["ordered_at"], days)
            if due is None:
                continue
            what = f"order #{row['id']} ({row['product']}) of {_day(row['ordered_at'], days)}: {due[1]}"
            planned = _planned(plan, step, row, due[0], what, due[2])
            planned.order_id = row["id"]
            result.followups.append(planned)
            counts.to_schedule += 1
        counts.too_old = counts.matched - counts.scheduled - counts.to_schedule
        result.tallies.append(counts)


def _asset_plan(
    conn: sqlite3.Connection, plan: dict, days: _Days, scope: Scope, products: list[str], result: Pending
) -> None:
    scope_sql, params = scope.orders()
    globs, glob_params = _globs(plan, products)
    # Line items of the plan's products without an asset yet become assets (one per line).
    made = conn.execute(
        f"""SELECT l.id AS line_id, l.product, o.id AS order_id, o.customer_id, c.name AS customer_name, o.ordered_at
            FROM orders o JOIN order_lines l ON l.order_id = o.id JOIN customers c ON c.id = o.customer_id
            WHERE {scope_sql} AND {globs}
              AND l.id NOT IN (SELECT order_line_id FROM assets WHERE order_line_id IS NOT NULL)
            ORDER BY l.id""",
        {**params, **glob_params},
    ).fetchall()
    first_new = len(result.assets)
    for line in made:
        result.assets.append(
            NewAsset(
                plan["name"],
                line["customer_id"],
                line["product"],
                line["ordered_at"],
                line["line_id"],
                line["order_id"],
            )
        )
    asset_sql, asset_params = scope.assets()
    owned = conn.execute(
        f"""SELECT a.id, a.customer_id, c.name AS customer_name, a.name, a.since,
                   (SELECT max(s.serviced_at) FROM services s WHERE s.asset_id = a.id) AS last_serviced_at
            FROM assets a JOIN customers c ON c.id = a.customer_id
            WHERE a.plan = :plan AND {asset_sql} ORDER BY a.id""",
        {"plan": plan["name"], **asset_params},
    ).fetchall()
    existing = {row["id"] for row in owned}
    for step in plan["steps"]:
        tally = _tally(plan, step, "assets")
        done = {
            row[0]
            for row in conn.execute(
                "SELECT asset_id FROM followups WHERE plan = ? AND plan_step = ? AND order_id IS NULL AND asset_id IS NOT NULL",
                (plan["name"], step["number"]),
            )
        } & existing
        tally.matched, tally.scheduled = len(owned) + len(made), len(done)
        for row in owned:
            if row["id"] in done:
                continue
            anchor = row["since"] if step["after"] else (row["last_serviced_at"] or row["since"])
            due = _due(step, anchor, days)
            if due is None:
                continue
            counted = "since" if step["after"] or not row["last_serviced_at"] else "last serviced"
            what = f"asset #{row['id']} ({row['name']}), {counted} {_day(anchor, days)}: {due[1]}"
            planned = _planned(plan, step, row, due[0], what, due[2])
            planned.asset_id = row["id"]
            result.followups.append(planned)
            tally.to_schedule += 1
        for index, line in enumerate(made, first_new):
            due = _due(step, line["ordered_at"], days)
            if due is None:
                continue
            what = f"order #{line['order_id']} ({line['product']}, a new asset) of {_day(line['ordered_at'], days)}: {due[1]}"
            planned = _planned(plan, step, line, due[0], what, due[2])
            planned.new_asset = index
            result.followups.append(planned)
            tally.to_schedule += 1
        tally.too_old = tally.matched - tally.scheduled - tally.to_schedule
        result.tallies.append(tally)


# ---------------------------------------------------------------- writing


def schedule(
    conn: sqlite3.Connection, settings: Settings, *, now: datetime, scope: Scope = EVERYTHING, tally: bool = False
) -> Pending:
    """Make the assets and schedule the follow-ups `pending` finds, in batches, inside the caller's
    transaction; the Pending returned has their ids."""
    found = pending(conn, settings, now=now, scope=scope, tally=tally)
    created = to_db(now)
    if found.assets:
        first = undolog.next_id(conn, "assets")
        for offset, new in enumerate(found.assets):
            new.asset_id = first + offset
        assets.add_many(
            conn, ((a.asset_id, a.customer_id, a.name, a.plan, a.since, a.order_line_id, created) for a in found.assets)
        )
    if found.followups:
        first = undolog.next_id(conn, "followups")
        for offset, planned in enumerate(found.followups):
            planned.followup_id = first + offset
            if planned.new_asset is not None:
                planned.asset_id = found.assets[planned.new_asset].asset_id
        followups.add_many(conn, _followup_rows(found.followups, created), followups.PLAN_FOLLOWUP_COLUMNS)
    return found


def _followup_rows(planned: Iterable[Planned], created: str) -> Iterable[Sequence]:
    for p in planned:
        yield (
            p.followup_id,
            p.customer_id,
            p.kind,
            p.note,
            p.due_at,
            1,
            p.recurrence,
            "scheduled",
            created,
            SOURCE,
            p.template or None,
            p.plan,
            p.step,
            p.order_id,
            p.asset_id,
        )


def schedule_for_orders(
    conn: sqlite3.Connection,
    order_ids_or_min_id: Sequence[int] | int,
    *,
    now: datetime,
    settings: Settings,
    tally: bool = False,
) -> Pending:
    """Schedule the plans' steps for orders just added: `order add` passes its order's id, a bulk
    import the first id it gave (every order with an id at or above it) or a list of ids. Set-based
    (a few SQL statements per plan, rows written in batches), inside the caller's transaction;
    orders whose steps are scheduled already get nothing new. Returns the Pending written: the
    assets made and follow-ups scheduled, with their ids; with `tally`, also each step's counts
    (matched, scheduled, too old), at the cost of looking at every matching order.
    200,000 orders on the 1M-ticket database: see bench/RESULTS.md."""
    if isinstance(order_ids_or_min_id, int):
        scope = Scope(min_order_id=order_ids_or_min_id)
    else:
        scope = Scope(order_ids=tuple(order_ids_or_min_id))
    return schedule(conn, settings, now=now, scope=scope, tally=tally)


def schedule_for_asset(conn: sqlite3.Connection, asset_id: int, *, now: datetime, settings: Settings) -> Pending:
    """Schedule the steps of an asset's plan (an asset added by hand with --plan)."""
    return schedule(conn, settings, now=now, scope=Scope(asset_id=asset_id))


def after_service(conn: sqlite3.Connection, settings: Settings, asset_id: int, *, now: datetime) -> list[sqlite3.Row]:
    """Move the asset's scheduled cadence reminders to their next occurrence after now, counted
    from its last recorded service (a bike serviced late is next due six months after that
    service); returns them as moved."""
    last = store.scalar(conn, "SELECT max(serviced_at) FROM services WHERE asset_id = ?", (asset_id,))
    if last is None:
        return []
    steps = {(plan["name"], step["number"]): step for plan in settings["care.plans"] for step in plan["steps"]}
    days = _Days(settings, now)
    moved = []
    reminders = conn.execute(
        "SELECT * FROM followups WHERE asset_id = ? AND plan IS NOT NULL AND status = 'scheduled' ORDER BY id",
        (asset_id,),
    ).fetchall()
    for reminder in reminders:
        step = steps.get((reminder["plan"], reminder["plan_step"]))
        if step is None or not step["every"]:
            continue
        found = days.cadence(step["every"], last)
        if found is None or found[0] == reminder["due_at"]:
            continue
        followups.move(conn, reminder, due=from_db(found[0]), recurrence=found[2], at=now)
        moved.append(followups.get_followup(conn, reminder["id"]))
    return moved


# ---------------------------------------------------------------- reading


def plan_rows(conn: sqlite3.Connection, settings: Settings) -> list[dict]:
    """The configured plans, each with how many of its follow-ups are scheduled and done."""
    counts = _followup_counts(conn)
    return [
        {
            "name": plan["name"],
            "products": ", ".join(plan["products"]),
            "asset": plan["asset"],
            "steps": len(plan["steps"]),
            "scheduled": sum(counts.get((plan["name"], s["number"]), {}).get("scheduled", 0) for s in plan["steps"]),
            "done": sum(counts.get((plan["name"], s["number"]), {}).get("done", 0) for s in plan["steps"]),
        }
        for plan in settings["care.plans"]
    ]


def plan_record(conn: sqlite3.Connection, settings: Settings, name: str) -> dict:
    """One plan with its steps, each with its follow-ups scheduled and done."""
    plan = find_plan(settings, name)
    counts = _followup_counts(conn, plan["name"])
    row = next(r for r in plan_rows(conn, settings) if r["name"] == plan["name"])
    row["steps"] = [
        {
            "step": step["number"],
            "when": step_when(step),
            "kind": step["kind"],
            "note": step["note"],
            "template": step["template"],
            "scheduled": counts.get((plan["name"], step["number"]), {}).get("scheduled", 0),
            "done": counts.get((plan["name"], step["number"]), {}).get("done", 0),
        }
        for step in plan["steps"]
    ]
    return row


def _followup_counts(conn: sqlite3.Connection, plan: str | None = None) -> dict[tuple[str, int], dict[str, int]]:
    sql = "SELECT plan, plan_step, status, count(*) AS n FROM followups WHERE plan IS NOT NULL"
    params: list[Any] = []
    if plan is not None:
        sql += " AND plan = ?"
        params.append(plan)
    counts: dict[tuple[str, int], dict[str, int]] = {}
    for row in conn.execute(sql + " GROUP BY plan, plan_step, status", params):
        counts.setdefault((row["plan"], row["plan_step"]), {})[row["status"]] = row["n"]
    return counts
