"""`carecli kpi`: every figure of docs/metrics.md over a period, grouped or as a trend."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from carecli.cli import completing
from carecli.cli.options import FormatOpt, SinceOpt, UntilOpt
from carecli.cli.output import EMPTY, Column, emit_json, emit_pairs, emit_record, emit_rows, flatten
from carecli.cli.state import STATE
from carecli.schema.tables import TABLES, cols

# Every figure, in the order of docs/metrics.md (its labels in schema/tables.py): (dotted key, kind).
FIGURES = [(c.key, "number" if c.kind == "score" else c.kind) for c in cols("kpi")]
KINDS = dict(FIGURES)
# What a person sees first (`kpi`, a trend, a table grouped by something); `--all` and the
# machine formats give every figure.
HEADLINE = [
    "tickets.opened",
    "tickets.closed",
    "tickets.backlog",
    "first_response_s.median",
    "resolution_s.median",
    "fcr_pct",
    "reopen_pct",
    "csat.satisfied_pct",
    "nps.score",
    "followups.on_time_pct",
    "proactive_pct",
    "sla.breach_pct",
]
# A table by day, week or month: one row per period, these few figures (short headers), the
# last ones dropping out first on a narrow terminal.
BY_TIME = [
    ("tickets.opened", "opened", 0),
    ("tickets.closed", "closed", 0),
    ("first_response_s.median", "first reply", 0),
    ("resolution_s.median", "to close", 4),
    ("csat.satisfied_pct", "happy", 3),
    ("tickets.backlog", "open at end", 2),
    ("sla.breach_pct", "SLA missed", 1),
]
# `--by product`: one row per product, the order figures (measure/loyalty.py) as columns, the
# last ones dropping out first on a narrow terminal.
BY_PRODUCT = [
    ("loyalty.buyers", "buyers", 0),
    ("loyalty.returning_customer_pct", "returning", 0),
    ("loyalty.first_buyers", "first-time", 3),
    ("loyalty.repeat_purchase_pct", "repeat", 0),
    ("loyalty.revenue", "totals", 2),
    ("loyalty.returning_revenue_pct", "returning totals", 1),
]
SPARKS = "▁▂▃▄▅▆▇█"
BREACH_COLUMNS = [
    Column("id", kind="int"),
    Column("state", kind="word"),
    Column("target", kind="word"),
    Column("due_at", "due", kind="time"),
    Column("overdue_s", "over by", kind="duration", drop=3),
    Column("priority", kind="word", drop=2),
    Column("status", kind="word", drop=1),
    Column("customer_name", "customer"),
    Column("subject"),
]

ByOpt = Annotated[
    Optional[str],
    typer.Option(
        "--by",
        help="channel, category, priority, day, week, month, or product (the order figures per product)",
        shell_complete=completing.one_of("carecli.measure.metrics:GROUPS"),
    ),
]


def label(key: str) -> str:
    """A figure's name for people: `fcr_pct` -> `Solved at first contact`."""
    return TABLES["kpi"][key].title


def figure_text(key: str, flat: dict, *, counted: bool = True) -> str:
    """A figure as people read it: `73 % of 11`, `4.2 from 15 answers`, `-33 from 3 answers`, `45m`.

    Shares and means carry the count they are of (`counted`), so 100 % of 1 does not pass for a trend.
    """
    from carecli.cli.output import display_value

    figure = TABLES["kpi"][key]
    value = flat.get(key)
    if value is None:
        return EMPTY
    if figure.kind == "pct":
        text = f"{value:.0f} %"
    elif figure.kind == "score":
        text = f"{value:.0f}"
    elif figure.kind == "number":
        text = f"{value:.1f}"
    else:
        text = display_value(value, Column(key, kind=figure.kind), None)
    if not counted or not figure.of:
        return text
    parts = figure.of.split("+")
    n = sum(flat.get(part) or 0 for part in parts)
    if figure.kind == "pct":
        return f"{text} of {n}"
    return f"{text} from {_counted(n, TABLES['kpi'][parts[0]].unit)}"


def change_text(key: str, change: float | None) -> str:
    """A change with its unit: `+2 tickets`, `-12 points`, `+1h 10m`, `no change`."""
    from carecli.text.durations import humanize_seconds

    if change is None:
        return ""
    if change == 0:
        return "no change"
    figure = TABLES["kpi"][key]
    sign, size = ("+" if change > 0 else "-"), abs(change)
    if figure.kind == "duration":
        return sign + humanize_seconds(size)
    if figure.kind in ("pct", "score"):
        points = f"{size:.0f}" if size >= 1 else f"{size:.1f}"
        return f"{sign}{points} point{'' if points == '1' else 's'}"
    if figure.kind == "number":
        return f"{sign}{size:.1f}"
    return sign + _counted(size, figure.unit)


def _counted(n: float, unit: str) -> str:
    number = f"{n:g}"
    return f"{number} {unit}{'' if number == '1' else 's'}" if unit else number


def emit_kpis(
    result,
    fmt: str,
    *,
    title: str | None = None,
    every: bool = False,
    time_groups: bool = False,
    products: bool = False,
) -> None:
    """One KPI object (key/value view) or a grouped list, in any format; tables in plain words."""
    keys = [k for k, _ in FIGURES] if every else HEADLINE
    if isinstance(result, dict):
        if fmt == "table":
            flat = flatten(result)
            emit_pairs([(label(k), figure_text(k, flat)) for k in keys], title=title)
        else:
            emit_record(result, fmt)
        return
    if fmt in ("json", "jsonl"):
        emit_json(result, lines=fmt == "jsonl")
        return
    flat_groups = [flatten(item) for item in result]
    if fmt == "csv":
        columns = [Column(key) for key in (flat_groups[0] if flat_groups else ["group"])]
        emit_rows(flat_groups, columns, fmt, title=title)
    elif not flat_groups:
        emit_rows([], [], fmt, empty="no products ordered in this period" if products else "no groups in this period")
    elif products:
        _emit_columns(flat_groups, BY_PRODUCT, Column("group", "product"), title)
    elif time_groups and not every:
        _emit_by_time(flat_groups, title)
    else:
        _emit_turned(flat_groups, keys, title)


def _emit_by_time(groups: list[dict], title: str | None) -> None:
    """Days, weeks or months as rows, with the few figures of BY_TIME as columns."""
    _emit_columns(groups, BY_TIME, Column("group", "period", "word"), title)


def _emit_columns(groups: list[dict], figures: list[tuple[str, str, int]], first: Column, title: str | None) -> None:
    """Groups as rows, led by `first`, with `figures` (key, short header, drop order) as columns;
    a period still running at the time of the report says "so far"."""
    rows = [
        {
            "group": g["group"] + (" so far" if g.get("partial") else ""),
            **{key: figure_text(key, g, counted=False) for key, _, _ in figures},
        }
        for g in groups
    ]
    columns = [first] + [Column(key, header, "number", show=str, drop=drop) for key, header, drop in figures]
    emit_rows(rows, columns, "table", title=title)


def _emit_turned(groups: list[dict], keys: list[str], title: str | None) -> None:
    """Channels, categories or priorities as columns and figures as rows: a wide grouping reads
    down the page. Groups that would not fit the terminal continue in a second table below."""
    import sys

    from carecli.cli.output import is_terminal, screen_width, use_rich

    cells = {g["group"]: {key: figure_text(key, g, counted=False) for key in keys} for g in groups}
    room = screen_width(sys.stdout) - 24 if use_rich(sys.stdout) or is_terminal(sys.stdout) else 0
    chunks: list[list[str]] = [[]]
    used = 0
    for name, figures in cells.items():
        need = max(len(str(name)), *(len(v) for v in figures.values())) + 3
        if room and chunks[-1] and used + need > room:
            chunks.append([])
            used = 0
        chunks[-1].append(name)
        used += need
    for i, chunk in enumerate(chunks):
        rows = [{"figure": label(key), **{str(g): cells[g][key] for g in chunk}} for key in keys]
        columns = [Column("figure", "figure")] + [Column(str(g), str(g), "number", show=str) for g in chunk]
        emit_rows(rows, columns, "table", title=title if i == 0 else None)


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
    every: Annotated[
        bool, typer.Option("--all", help="tables: every figure, not only the headline (JSON and CSV hold every one)")
    ] = False,
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
    hours = " (business hours)" if business_hours else ""
    if trend and fmt == "table" and isinstance(result, list):
        emit_trend(result, f"KPIs by {by}{hours}", keys=[k for k, _ in FIGURES] if every else HEADLINE)
    else:
        title = f"KPIs {format_local(period.since, settings.tz)} to {format_local(period.until, settings.tz)}{hours}"
        emit_kpis(
            result,
            fmt,
            title=title,
            every=every,
            time_groups=by in metrics.TIME_GROUPS,
            products=by == metrics.PRODUCT_GROUP,
        )


def sparkline(values: list) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    low, high = min(known), max(known)
    span = (high - low) or 1
    return "".join(" " if v is None else SPARKS[round((v - low) / span * (len(SPARKS) - 1))] for v in values)


def emit_trend(result: list[dict], title: str, *, keys: list[str]) -> None:
    """The sparkline runs over every period; `last` is the last complete one, and a period not
    over yet (this week on a Tuesday) shows in its own `so far` column."""
    flats = [flatten(item) for item in result]
    complete = [flat for item, flat in zip(result, flats) if not item.get("partial")]
    unfinished = [flat for item, flat in zip(result, flats) if item.get("partial")]
    rows = []
    for key in keys:
        values = [flat[key] for flat in flats]
        row = {
            "figure": label(key),
            "trend": sparkline(values),
            "first": figure_text(key, flats[0], counted=False) if flats else EMPTY,
            "last": figure_text(key, complete[-1], counted=False) if complete else EMPTY,
        }
        if unfinished:
            row["so_far"] = figure_text(key, unfinished[-1], counted=False)
        rows.append(row)
    # the periods' labels say the span: the exact since/until would not fit 80 columns
    span = f", {len(result)} periods {result[0]['group']} .. {result[-1]['group']}" if result else ""
    if unfinished:
        span += f" ({unfinished[-1]['group']} so far)"
    columns = [
        Column("figure"),
        Column("trend", kind="word"),
        Column("first", kind="word"),
        Column("last", kind="word"),
    ]
    if unfinished:
        columns.append(Column("so_far", "so far", kind="word"))
    emit_rows(rows, columns, "table", title=title + span)


def emit_breaching(fmt: str) -> None:
    """`ticket list --breaching`: tickets past or near an SLA deadline."""
    from carecli.measure.sla import breaching_tickets

    rows = breaching_tickets(STATE.conn, STATE.settings, now=STATE.now)
    emit_rows(rows, BREACH_COLUMNS, fmt, tz=STATE.settings.tz, empty="no tickets breaching or near an SLA")
