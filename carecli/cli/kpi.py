"""`carecli kpi`: every figure of docs/metrics.md over a period, grouped or as a trend."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from carecli.cli.options import FormatOpt, SinceOpt, UntilOpt
from carecli.cli.output import Column, emit_json, emit_record, emit_rows, flatten
from carecli.cli.state import STATE

# Every figure, in the order of docs/metrics.md: (dotted key, kind).
FIGURES = [
    ("tickets.opened", "int"),
    ("tickets.closed", "int"),
    ("tickets.reopened", "int"),
    ("tickets.backlog", "int"),
    *(
        (f"{block}.{field}", "int" if field == "n" else "duration")
        for block in ("first_response_s", "resolution_s", "first_resolution_s")
        for field in ("n", "mean", "median", "p90")
    ),
    ("fcr_pct", "pct"),
    ("reopen_pct", "pct"),
    ("csat.n", "int"),
    ("csat.mean", "number"),
    ("csat.satisfied_pct", "pct"),
    ("ces.n", "int"),
    ("ces.mean", "number"),
    ("ces.easy_pct", "pct"),
    ("nps.n", "int"),
    ("nps.promoters", "int"),
    ("nps.passives", "int"),
    ("nps.detractors", "int"),
    ("nps.score", "number"),
    ("followups.due", "int"),
    ("followups.done", "int"),
    ("followups.on_time", "int"),
    ("followups.overdue", "int"),
    ("followups.on_time_pct", "pct"),
    ("proactive_pct", "pct"),
    ("retention.customers_at_start", "int"),
    ("retention.lost", "int"),
    ("retention.won_back", "int"),
    ("retention.new", "int"),
    ("retention.retention_pct", "pct"),
    ("retention.churn_pct", "pct"),
    ("sla.tickets", "int"),
    ("sla.targets", "int"),
    ("sla.first_response_breached", "int"),
    ("sla.first_response_met", "int"),
    ("sla.resolution_breached", "int"),
    ("sla.resolution_met", "int"),
    ("sla.breach_pct", "pct"),
]
KINDS = dict(FIGURES)
# What a table grouped by something or a trend shows; machine formats get every figure.
HEADLINE = [
    "tickets.opened",
    "tickets.closed",
    "tickets.backlog",
    "first_response_s.median",
    "resolution_s.median",
    "fcr_pct",
    "reopen_pct",
    "csat.mean",
    "nps.score",
    "followups.on_time_pct",
    "proactive_pct",
    "sla.breach_pct",
]
SPARKS = "▁▂▃▄▅▆▇█"
BREACH_COLUMNS = [
    Column("id", kind="int"),
    Column("state"),
    Column("target"),
    Column("due_at", "due", kind="time"),
    Column("overdue_s", "over by", kind="duration"),
    Column("priority"),
    Column("status"),
    Column("customer_name", "customer"),
    Column("subject"),
]

ByOpt = Annotated[Optional[str], typer.Option("--by", help="channel, category, priority, day, week or month")]


def columns_for(keys: list[str]) -> list[Column]:
    return [Column(key, key, KINDS[key]) for key in keys]


def emit_kpis(result, fmt: str, *, title: str | None = None, keys: list[str] | None = None) -> None:
    """One KPI object (key/value view) or a grouped list (one row per group), in any format."""
    tz = STATE.settings.tz
    if isinstance(result, dict):
        if fmt == "table":
            emit_record(flatten(result), fmt, fields=columns_for([k for k, _ in FIGURES]), tz=tz, title=title)
        else:
            emit_record(result, fmt)
        return
    if fmt in ("json", "jsonl"):
        emit_json(result, lines=fmt == "jsonl")
    else:
        flat = [flatten(item) for item in result]
        if fmt == "csv":
            columns = [Column(key) for key in (flat[0] if flat else ["group"])]
        else:
            columns = [Column("group")] + columns_for(keys or HEADLINE)
        emit_rows(flat, columns, fmt, tz=tz, title=title, empty="no groups in this period")


def period_from(since: str | None, until: str | None):
    from carecli.measure.periods import Period, default_period

    now = STATE.now
    default = default_period(now, STATE.settings.tz)
    start = STATE.when(since, option="--since") if since else default.since
    return Period(start, STATE.until(until, since=start) if until else now)


def kpi(
    since: SinceOpt = None,
    until: UntilOpt = None,
    by: ByOpt = None,
    business_hours: Annotated[
        bool, typer.Option("--business-hours", help="count only business time in durations")
    ] = False,
    trend: Annotated[
        bool,
        typer.Option("--trend", help="headline figures per period with a sparkline (needs --by day, week or month)"),
    ] = False,
    periods: Annotated[
        int, typer.Option("--periods", min=2, max=120, help="with --trend and no --since: how many periods")
    ] = 8,
    fmt: FormatOpt = "table",
) -> None:
    """Service and care KPIs over a period (default: the last 30 days). See docs/metrics.md."""
    from datetime import timedelta

    from carecli.core.errors import InvalidInput
    from carecli.measure import metrics
    from carecli.measure.periods import bucket_start
    from carecli.text.clock import format_local

    settings = STATE.settings
    if by is not None:
        by = by.strip().lower()
        if by not in metrics.GROUPS:
            raise InvalidInput(f"cannot group by '{by}'", f"use one of: {', '.join(metrics.GROUPS)}")
    if trend and by not in metrics.TIME_GROUPS:
        raise InvalidInput("--trend needs --by day, week or month", "e.g. carecli kpi --by week --trend")
    if trend and since is None:
        assert by is not None  # --trend was checked above to come with a time --by
        today = STATE.now.astimezone(settings.tz).date()
        first = bucket_start(today, by)
        for _ in range(periods - 1):
            first = bucket_start(first - timedelta(days=1), by)
        since = first.isoformat()
    period = period_from(since, until)
    result = metrics.compute(STATE.conn, settings, period, now=STATE.now, by=by, business_hours=business_hours)
    title = f"KPIs {format_local(period.since, settings.tz)} to {format_local(period.until, settings.tz)}" + (
        " (business hours)" if business_hours else ""
    )
    if trend and fmt == "table" and isinstance(result, list):
        emit_trend(result, title)
    else:
        emit_kpis(result, fmt, title=title)


def sparkline(values: list) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    low, high = min(known), max(known)
    span = (high - low) or 1
    return "".join(" " if v is None else SPARKS[round((v - low) / span * (len(SPARKS) - 1))] for v in values)


def emit_trend(result: list[dict], title: str) -> None:
    from carecli.cli.output import display_value

    rows = []
    for key in HEADLINE:
        values = [flatten(item)[key] for item in result]
        column = Column(key, kind=KINDS[key])
        rows.append(
            {
                "figure": key,
                "trend": sparkline(values),
                "first": display_value(values[0] if values else None, column, None),
                "last": display_value(values[-1] if values else None, column, None),
            }
        )
    span = f"{result[0]['group']} .. {result[-1]['group']}" if result else ""
    emit_rows(
        rows,
        [Column("figure"), Column("trend"), Column("first"), Column("last")],
        "table",
        title=f"{title}, {len(result)} periods {span}",
    )


def emit_breaching(fmt: str) -> None:
    """`ticket list --breaching`: tickets past or near an SLA deadline."""
    from carecli.measure.sla import breaching_tickets

    rows = breaching_tickets(STATE.conn, STATE.settings, now=STATE.now)
    emit_rows(rows, BREACH_COLUMNS, fmt, tz=STATE.settings.tz, empty="no tickets breaching or near an SLA")
