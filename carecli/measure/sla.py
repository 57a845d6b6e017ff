"""Service-level targets per priority ([sla.<priority>]) and the tickets breaching or about to breach them.

A target is met when the time taken is at most the target; one second more is a breach. The clock
counts business time when `business_hours.enabled` is true, wall time otherwise.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from carecli.core.config import Settings
from carecli.core.errors import ConfigError
from carecli.text.clock import from_db, to_db
from carecli.text.durations import parse_days_apart, parse_duration
from carecli.text.vocabulary import TimeParseError

if TYPE_CHECKING:
    from carecli.measure.clocks import BusinessHours, Stale

FIELDS = ("first_response", "resolution")


class Target(NamedTuple):
    """One target as configured: `days` opening days (with business hours on; otherwise days are
    24 hours and folded into `seconds`), then `seconds` more of the SLA clock."""

    days: float
    seconds: int


def configured_targets(settings: Settings) -> tuple[dict[str, dict[str, Target]], BusinessHours | None]:
    """{priority: {"first_response": Target, "resolution": Target}} from [sla.<priority>] tables,
    and the business hours their days count in (None when business hours are off)."""
    hours = None
    if settings["sla"] and settings["business_hours.enabled"]:
        from carecli.measure.clocks import BusinessHours

        hours = BusinessHours.from_settings(settings)
    goals: dict[str, dict[str, Target]] = {}
    for dotted, text in settings["sla"].items():
        priority, _, field = dotted.partition(".")
        where = f"sla.{dotted}"
        if priority not in settings["priorities"] or not field:
            raise ConfigError(
                f"'{where}': unknown priority '{priority}'",
                f"use [sla.<priority>] with one of: {', '.join(settings['priorities'])}",
            )
        if field not in FIELDS:
            raise ConfigError(f"'{where}': unknown SLA target '{field}'", f"use {' or '.join(FIELDS)}")
        if not isinstance(text, str):
            raise ConfigError(f"'{where}' must be a duration like \"4h\", not {text!r}")
        try:
            if hours is None:
                target = Target(0, int(parse_duration(text).total_seconds()))
            else:
                # Days are opening days; a week is the shop's opening days of one week.
                split = parse_days_apart(text)
                days = split.days + split.weeks * len(hours.weekdays)
                target = Target(days, int(split.rest.total_seconds()))
        except TimeParseError as exc:
            raise ConfigError(f"'{where}': {exc}") from None
        goals.setdefault(priority, {})[field] = target
    return goals, hours


def targets(settings: Settings) -> dict[str, dict[str, int]]:
    """{priority: {"first_response": seconds, "resolution": seconds}} on the SLA clock.

    With business hours on, a day of a target is one opening day: every opening day has the same
    hours, so N opening days from a moment the shop is open are N x the day's length in business
    seconds, and met/breached decisions stay in business seconds."""
    return _in_seconds(*configured_targets(settings))


def _in_seconds(goals: dict[str, dict[str, Target]], hours: BusinessHours | None) -> dict[str, dict[str, int]]:
    day_s = hours.day_seconds if hours else 0
    return {
        priority: {field: round(target.days * day_s) + target.seconds for field, target in fields.items()}
        for priority, fields in goals.items()
    }


def target_sql(goals: dict[str, dict[str, int]], field: str, column: str = "t.priority") -> str:
    """SQL giving a ticket's target in seconds for `field`, NULL when its priority has none.

    Priorities and targets are bound, never pasted: run it with `target_params(goals)`."""
    cases = " ".join(
        f"WHEN :sla_priority_{i} THEN :sla_{field}_{i}" for i, g in enumerate(goals.values()) if field in g
    )
    return f"(CASE {column} {cases} END)" if cases else "NULL"


def target_params(goals: dict[str, dict[str, int]]) -> dict[str, str | int]:
    """The named parameters of `target_sql` (and so of `breach_sql` and `breached_sql`)."""
    params: dict[str, str | int] = {}
    for i, (priority, goal) in enumerate(goals.items()):
        params[f"sla_priority_{i}"] = priority
        params.update({f"sla_{field}_{i}": seconds for field, seconds in goal.items()})
    return params


def stopped_clock_sql(name: str, *, business: bool, pause: bool = False, stale: Stale | None = None) -> str:
    """Seconds on ticket `t`'s SLA clock for `name` (first_response, resolution) once it stopped,
    NULL while it runs: the stored duration (business time when business hours are enabled).

    The first-response clock stops at the first reply or the first close, whichever came first:
    a ticket solved without a written reply (a duplicate, spam, solved in person) did not keep the
    customer waiting for one. The resolution clock stops at the latest close while closed; with
    `pause` ([sla] pause_when_pending) the time spent pending is taken off it. `stale`: the tickets
    whose stored business durations are not current (measure/clocks.py)."""
    if name == "first_response":
        replied, closed = _stored("first_response", business, stale), _stored("first_resolution", business, stale)
        return f"(CASE WHEN {closed} IS NOT NULL AND ({replied} IS NULL OR {closed} < {replied}) THEN {closed} ELSE {replied} END)"
    paused = f" - COALESCE({_stored('paused', business, stale)}, 0)" if pause else ""
    return f"(CASE t.status WHEN 'closed' THEN {_stored(name, business, stale)}{paused} END)"


def _stored(name: str, business: bool, stale: Stale | None) -> str:
    """SQL for ticket `t`'s stored duration `name`: wall-clock seconds, or business seconds read
    current (measure/clocks.py)."""
    if not business:
        return f"t.{name}_s"
    from carecli.measure.clocks import stored_value

    return stored_value(f"{name}_bs", "t", stale)


# Where the customer's wait starts: the opening, or for a ticket we started (`--outreach`) their
# first message (NULL until they write: no first-response clock runs before).
WAIT_START_SQL = "(CASE WHEN t.outreach = 1 THEN t.first_contact_at ELSE t.created_at END)"


def running_clock_sql(
    name: str, *, business: bool, cutoff: str, pause: bool = False, stale: Stale | None = None
) -> str:
    """Seconds on ticket `t`'s running SLA clock for `name` by `cutoff` (a SQL expression). The
    first-response clock runs from the customer's wait start; the resolution clock from the
    opening, less the time spent pending with `pause` (a pending ticket's clock stands still)."""
    from carecli.measure import clocks as bh

    between = bh.duration_sql if business else bh.wall_duration_sql
    if name == "first_response":
        return between(WAIT_START_SQL, cutoff)
    if not pause:
        return between("t.created_at", cutoff)
    stands_still = f"MIN(COALESCE(t.pending_since, {cutoff}), {cutoff})"
    return f"({between('t.created_at', stands_still)} - COALESCE({_stored('paused', business, stale)}, 0))"


def clock_sql(name: str, *, business: bool, cutoff: str, pause: bool = False, stale: Stale | None = None) -> str:
    """Seconds on ticket `t`'s SLA clock for `name` by `cutoff` (a SQL expression): the stopped
    clock, else the running one."""
    # COALESCE evaluates its second argument only when the first is NULL: running clocks only.
    running = running_clock_sql(name, business=business, cutoff=cutoff, pause=pause, stale=stale)
    return f"COALESCE({stopped_clock_sql(name, business=business, pause=pause, stale=stale)}, {running})"


def breach_sql(
    goals: dict[str, dict[str, int]], *, business: bool, cutoff: str, pause: bool = False, stale: Stale | None = None
) -> tuple[str, str]:
    """SQL over ticket `t`, (first response breached, resolution breached), each 1 or 0: a clock
    longer than its target by `cutoff` (exactly on the target is met)."""
    first = clock_sql("first_response", business=business, cutoff=cutoff, stale=stale)
    resolution = clock_sql("resolution", business=business, cutoff=cutoff, pause=pause, stale=stale)
    return (
        f"COALESCE({first} > {target_sql(goals, 'first_response')}, 0)",
        f"COALESCE({resolution} > {target_sql(goals, 'resolution')}, 0)",
    )


def met_sql(
    goals: dict[str, dict[str, int]], *, business: bool, pause: bool = False, stale: Stale | None = None
) -> tuple[str, str]:
    """SQL over ticket `t`, (first response met, resolution met), each 1 or 0: the clock stopped
    (answered or closed; closed now for the resolution) within its target. A clock still running
    within its target is neither met nor breached: that target is not decided yet."""
    first = stopped_clock_sql("first_response", business=business, stale=stale)
    resolution = stopped_clock_sql("resolution", business=business, pause=pause, stale=stale)
    return (
        f"COALESCE({first} <= {target_sql(goals, 'first_response')}, 0)",
        f"COALESCE({resolution} <= {target_sql(goals, 'resolution')}, 0)",
    )


def breached_sql(settings: Settings, *, cutoff: str, stale: Stale | None = None) -> str:
    """SQL over ticket `t`: 1 when it broke an SLA target by `cutoff`, 0 when it kept its targets,
    NULL when its priority has none (the `sla` KPI block's rule, per ticket)."""
    goals = targets(settings)
    if not goals:
        return "NULL"
    first_breach, resolution_breach = breach_sql(
        goals,
        business=settings["business_hours.enabled"],
        cutoff=cutoff,
        pause=settings["sla.pause_when_pending"],
        stale=stale,
    )
    no_target = f"{target_sql(goals, 'first_response')} IS NULL AND {target_sql(goals, 'resolution')} IS NULL"
    return f"(CASE WHEN {no_target} THEN NULL ELSE ({first_breach} OR {resolution_breach}) END)"


def breached_by(settings: Settings, *, now: datetime, stale: Stale | None = None) -> tuple[str, dict[str, str | int]]:
    """`breached_sql` by `now` and its named parameters (`now` and the targets, all bound), for
    inlining in a query over ticket `t` with named parameters of its own (none starting `sla_`)."""
    goals = targets(settings)
    if not goals:
        return "NULL", {}
    return breached_sql(settings, cutoff=":sla_cutoff", stale=stale), {"sla_cutoff": to_db(now), **target_params(goals)}


def breaching_tickets(conn: sqlite3.Connection, settings: Settings, *, now: datetime) -> list[dict]:
    """Open and pending tickets past an SLA deadline, or within `sla.warn_before` of one, most overdue first.

    Each dict: id, customer_id, customer_name, subject, priority, status, created_at, target
    (first_response | resolution), due_at (the deadline), state (breached | at risk), overdue_s
    (seconds past the deadline; negative = time left, in the SLA clock's time).
    """
    warn = int((settings.duration("sla.warn_before") or timedelta()).total_seconds())
    return _running_targets(
        conn, settings, now=now, current_only=True, keep="elapsed_s + :warn >= target_s", keep_params={"warn": warn}
    )


def deadlines_between(
    conn: sqlite3.Connection, settings: Settings, *, now: datetime, since: datetime, until: datetime
) -> list[dict]:
    """Every running SLA clock of an open or pending ticket whose deadline falls in [since, until),
    as of `now`: a ticket not yet answered has two, its first reply due and its resolve-by. Dicts
    as `breaching_tickets` gives them (state `breached`, or `due` for a deadline still ahead), in
    deadline order."""
    # A cheap bound in SQL, exact in Python: SLA seconds between two moments are at most the wall
    # seconds between them (business time runs only while the shop is open).
    behind = max(int((now - since).total_seconds()), 0)
    ahead = max(int((until - now).total_seconds()), 0)
    rows = _running_targets(
        conn,
        settings,
        now=now,
        current_only=False,
        keep="elapsed_s - target_s <= :behind AND target_s - elapsed_s <= :ahead",
        keep_params={"behind": behind, "ahead": ahead},
    )
    since_text, until_text = to_db(since), to_db(until)
    kept = [
        {**row, "state": "breached" if row["overdue_s"] > 0 else "due"}
        for row in rows
        if since_text <= row["due_at"] < until_text
    ]
    return sorted(kept, key=lambda row: (row["due_at"], row["id"]))


def _running_targets(
    conn: sqlite3.Connection, settings: Settings, *, now: datetime, current_only: bool, keep: str, keep_params: dict
) -> list[dict]:
    """The running SLA clocks of open and pending tickets that pass `keep` (SQL over elapsed_s and
    target_s), each with its deadline, most overdue first. `current_only`: the first-reply clock
    while it runs, else the resolution clock; otherwise both while both run."""
    from carecli.measure.clocks import prepare

    configured, hours = configured_targets(settings)
    goals = _in_seconds(configured, hours)
    if not goals:
        return []
    business = hours is not None
    stale = prepare(conn, settings, now=now, business_hours=True) if business else None
    pause = settings["sla.pause_when_pending"]
    first_elapsed = running_clock_sql("first_response", business=business, cutoff=":now")
    resolution_elapsed = running_clock_sql("resolution", business=business, cutoff=":now", pause=pause, stale=stale)
    first_target, resolution_target = target_sql(goals, "first_response"), target_sql(goals, "resolution")
    # The first-response clock runs until the first reply or the first close (see clock_sql).
    first_running = f"t.first_response_at IS NULL AND t.first_closed_at IS NULL AND {first_target} IS NOT NULL"
    resolution_running = f"NOT ({first_running})" if current_only else "1"
    ticket = """t.id, t.customer_id, c.name AS customer_name, t.subject, t.priority, t.status, t.created_at,
                t.paused_s > 0 OR t.pending_since IS NOT NULL OR t.outreach = 1 AS moved"""
    tickets = "FROM tickets t JOIN customers c ON c.id = t.customer_id WHERE t.status IN ('open', 'pending')"
    rows = conn.execute(
        f"""
        SELECT * FROM (
            SELECT {ticket}, 'first_response' AS target, {first_target} AS target_s, {first_elapsed} AS elapsed_s
            {tickets} AND {first_running}
            UNION ALL
            SELECT {ticket}, 'resolution' AS target, {resolution_target} AS target_s, {resolution_elapsed} AS elapsed_s
            {tickets} AND {resolution_running})
        WHERE target_s IS NOT NULL AND {keep}
        ORDER BY elapsed_s - target_s DESC, id, target
        """,
        {"now": to_db(now), **keep_params, **target_params(goals)},
    ).fetchall()
    result = []
    for row in rows:
        created = from_db(row["created_at"])
        overdue = row["elapsed_s"] - row["target_s"]
        if row["moved"] and overdue <= 0:
            # A clock that paused (pending) or started late (outreach): where it reaches its
            # target if it runs from now on.
            due = now - timedelta(seconds=overdue) if hours is None else hours.deadline(now, -overdue)
        elif hours is None:
            due = created + timedelta(seconds=row["target_s"])
        else:  # the same time of day on the Nth opening day, not the closing time of the day before
            target = configured[row["priority"]][row["target"]]
            due = hours.target_deadline(created, target.days, target.seconds)
        result.append(
            {
                "id": row["id"],
                "customer_id": row["customer_id"],
                "customer_name": row["customer_name"],
                "subject": row["subject"],
                "priority": row["priority"],
                "status": row["status"],
                "created_at": row["created_at"],
                "target": row["target"],
                "due_at": to_db(due),
                "state": "breached" if overdue > 0 else "at risk",
                "overdue_s": overdue,
            }
        )
    return result
