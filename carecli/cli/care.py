"""`carecli today`, `carecli care ...` and `carecli customer lost|won-back|health`: parse, call the
domain, render."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Annotated, Optional

import typer

from carecli.cli import completing
from carecli.cli.followups import table_columns, with_due_text
from carecli.cli.options import TIME_HELP, AtOpt, FormatOpt, LimitOpt, RawOpt, SinceOpt, UntilOpt, YesOpt
from carecli.cli.output import Column, columns_of, counted, emit_record, emit_rows, message, section_title
from carecli.cli.state import STATE

app = typer.Typer(no_args_is_help=True)

CustomerArg = Annotated[str, typer.Argument(help="customer id, email or name", shell_complete=completing.customers)]

AGENDA_FOLLOWUP_COLUMNS = table_columns(("id", "due", "customer_name", "kind", "note", "ticket_id"))
AGENDA_TICKET_COLUMNS = columns_of("tickets", "id", "priority", "customer_name", "subject", "created_at", "age_s")
# Both waiting lists: how old the ticket is, and how long it has waited (on us: since the
# customer's oldest unanswered message; on the customer: since it went pending).
AGENDA_WAITING_COLUMNS = [*AGENDA_TICKET_COLUMNS, *columns_of("tickets", "waiting_s")]
AGENDA_SLA_COLUMNS = [
    *columns_of("tickets", "id", "priority", "customer_name", "subject"),
    *columns_of("sla_breaches"),
]


def today(
    date_: Annotated[
        Optional[str],
        typer.Option("--date", help=f"the day to show, or the first of --week/--days (default today); {TIME_HELP}"),
    ] = None,
    week: Annotated[
        bool, typer.Option("--week", help="the 7 days from --date: each day's follow-ups and SLA deadlines")
    ] = False,
    days: Annotated[
        Optional[int],
        typer.Option("--days", min=1, max=92, help="like --week, for N days"),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="at most N rows per list (0 = all)")] = 50,
    fmt: FormatOpt = "table",
) -> None:
    """The day's agenda: follow-ups due and overdue, tickets waiting on us or too long on the customer, SLA breaches.

    With --week or --days N: the days ahead, each day's follow-ups (repeats included) and SLA deadlines."""
    from carecli.core.errors import UsageError
    from carecli.measure.agenda import AS_OF_NOW, build_agenda
    from carecli.text.clock import format_local

    settings = STATE.settings
    day = STATE.when(date_, option="--date").astimezone(settings.tz).date()
    if week and days is not None:
        raise UsageError("--week and --days both say how many days", "give one: --week is --days 7")
    if week or days is not None:
        emit_days(day, 7 if week else days or 7, fmt)
        return
    agenda = build_agenda(STATE.conn, settings, day=day, now=STATE.now, limit=limit or None)
    if fmt != "table":
        emit_record(agenda, fmt, tz=settings.tz)
        return
    counts = agenda["counts"]
    display = {
        **agenda,
        "followups_due": [with_due_text(r) for r in agenda["followups_due"]],
        "followups_overdue": [with_due_text(r) for r in agenda["followups_overdue"]],
        **{
            f"{name}_count": f"{counts[name]}"
            + (f" (showing {len(agenda[name])})" if counts[name] > len(agenda[name]) else "")
            for name in counts
        },
    }
    fields = columns_of("agenda")
    title = f"Today: {agenda['date']}"
    titles = {}
    if day != STATE.now.astimezone(settings.tz).date():
        # Another day's follow-ups are that day's; waits and SLA clocks can only be told for now.
        now_text = format_local(STATE.now, settings.tz)
        title = f"Agenda: {agenda['date']} (waiting and SLA as of now, {now_text})"
        fields = [replace(c, header=f"{c.title} (now)") if c.key[: -len("_count")] in AS_OF_NOW else c for c in fields]
        titles = {name: f"{section_title(name)}, as of now" for name in AS_OF_NOW}
    emit_record(
        display,
        fmt,
        tz=settings.tz,
        title=title,
        fields=fields,
        sections={
            "followups_due": AGENDA_FOLLOWUP_COLUMNS,
            "followups_overdue": AGENDA_FOLLOWUP_COLUMNS,
            "waiting_on_us": AGENDA_WAITING_COLUMNS,
            "waiting_on_customer": AGENDA_WAITING_COLUMNS,
            "sla_breaching": AGENDA_SLA_COLUMNS,
        },
        section_titles=titles,
    )


# What `today --week` shows on a screen; scripts get every column of `days_ahead`.
ITEM_WORDS = {"followup": "follow-up", "first_response": "first reply", "resolution": "resolve by"}


def emit_days(first_day, days: int, fmt: str) -> None:
    """`today --week` / `--days N`: a listing of follow-ups and SLA deadlines, a table day by day."""
    from datetime import timedelta

    from carecli.measure.agenda import build_days
    from carecli.text.clock import from_db

    settings = STATE.settings
    ahead = build_days(STATE.conn, settings, first_day=first_day, days=days, now=STATE.now)
    if fmt != "table":
        emit_rows(ahead["items"], columns_of("days_ahead"), fmt, tz=settings.tz)
        return
    by_day: dict[str, list[dict]] = {}
    for item in ahead["items"]:
        by_day.setdefault(item["day"], []).append(item)
    rows = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        heading = day.strftime("%a %m-%d")
        for item in by_day.get(day.isoformat(), []) or [{"nothing": True}]:
            if item.get("nothing"):
                rows.append(
                    {"day": heading, "time": "", "what": "", "customer": "", "about": "nothing due", "state": ""}
                )
                continue
            rows.append(
                {
                    "day": heading,
                    "time": "all day"
                    if item["all_day"]
                    else from_db(item["due_at"]).astimezone(settings.tz).strftime("%H:%M"),
                    "what": _item_text(item),
                    "customer": item["customer_name"],
                    "about": f"{item['kind']}: {item['about']}" if item["kind"] else item["about"],
                    "state": "" if item["state"] in ("scheduled", "due") else item["state"],
                }
            )
            heading = ""  # the day once, on its first line
    last = first_day + timedelta(days=days - 1)
    columns = [
        Column("day", kind="word"),
        Column("time", kind="word"),
        Column("what", kind="word"),
        Column("customer", kind="text"),
        Column("about", kind="text"),
    ]
    if any(row["state"] for row in rows):  # `repeat`, `breached`: room for the about text otherwise
        columns.append(Column("state", kind="word", drop=1))
    emit_rows(
        rows,
        columns,
        "table",
        title=f"{counted(days, 'day')} from {first_day:%a %Y-%m-%d} to {last:%a %m-%d} (SLA as of now)",
    )
    before = ahead["before"]
    late = [
        counted(before["followups_overdue"], "follow-up") + " overdue" if before["followups_overdue"] else "",
        counted(before["sla_deadlines_missed"], "SLA deadline") + " missed" if before["sla_deadlines_missed"] else "",
    ]
    if any(late):
        message(f"before {first_day}: {' and '.join(text for text in late if text)}; see `carecli today`")


def _item_text(item: dict) -> str:
    """`follow-up 15`, `first reply #4`, `resolve by #4`: what falls due, and its number."""
    if item["item"] == "followup":
        return f"follow-up {item['followup_id']}"
    return f"{ITEM_WORDS[item['item']]} #{item['ticket_id']}"


# ---------------------------------------------------------------- customers lost and won back


def lost(
    ref: CustomerArg,
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            "-r",
            help="why (from config 'care.lost_reasons')",
            shell_complete=completing.from_config("care.lost_reasons"),
        ),
    ],
    note: Annotated[Optional[str], typer.Option("--note", help="more detail")] = None,
    at: AtOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Record that a customer stopped doing business with us, and why."""
    from carecli.cli.customers import show_customer
    from carecli.records import care, customers

    when = STATE.happened(at)
    with STATE.write() as conn:
        row = care.mark_lost(
            conn, STATE.settings, customers.resolve_customer(conn, ref), reason=reason, at=when, note=note
        )
    message(f"customer #{row['id']} {row['name']} lost ({row['lost_reason']})")
    show_customer(row, fmt)


def won_back(ref: CustomerArg, at: AtOpt = None, fmt: FormatOpt = "table") -> None:
    """A lost customer is back."""
    from carecli.cli.customers import show_customer
    from carecli.records import care, customers

    when = STATE.happened(at)
    with STATE.write() as conn:
        row = care.mark_won_back(conn, customers.resolve_customer(conn, ref), at=when)
    message(f"customer #{row['id']} {row['name']} won back")
    show_customer(row, fmt)


@app.command("churn")
def churn(since: SinceOpt = None, until: UntilOpt = None, fmt: FormatOpt = "table", raw: RawOpt = False) -> None:
    """Customers lost in a period (default: kpi's, the last 30 days), each once under their latest reason."""
    from carecli.cli.kpi import period_from
    from carecli.measure.churn import churn_by_reason
    from carecli.text.clock import format_local

    period = period_from(since, until)
    rows = churn_by_reason(STATE.conn, since=period.since, until=period.until)
    tz = STATE.settings.tz
    emit_rows(rows, columns_of("churn"), fmt, tz=tz, empty="no customers lost in the period", raw=raw)
    message(
        f"{counted(sum(r['lost'] for r in rows), 'customer')} lost from {format_local(period.since, tz)}"
        f" to {format_local(period.until, tz)}"
    )


# ---------------------------------------------------------------- the care queue

SUGGEST_COLUMNS = columns_of("suggestions")
SUGGEST_TABLE_COLUMNS = columns_of("suggestions", "id", "rule", "customer_name", "kind", "ticket_id", "evidence")


def _chosen(text: str | None, count: int) -> list[int] | None:
    """`2,5` -> [2, 5]: suggestions by their ids (places in the list); None for all of them."""
    from carecli.core.errors import InvalidInput

    if text is None:
        return None
    ids = []
    for part in text.split(","):
        part = part.strip()
        if not (part.isascii() and part.isdigit()):
            raise InvalidInput(f"cannot read '{part}' as a suggestion id", "give ids as listed, e.g. 2,5")
        if not 1 <= int(part) <= count:
            raise InvalidInput(f"no suggestion #{part}: there are {count}", "run carecli care suggest to list them")
        ids.append(int(part))
    return sorted(set(ids))


@app.command("suggest")
def suggest(
    ids: Annotated[
        Optional[str], typer.Argument(help="only these suggestions, by id as listed (e.g. 2,5); default all")
    ] = None,
    apply: Annotated[bool, typer.Option("--apply", help="schedule the listed follow-ups (due today)")] = False,
    yes: YesOpt = False,
    fmt: FormatOpt = "table",
    raw: RawOpt = False,
) -> None:
    """Follow-ups the data calls for (recovery, repeat contact, silent, thank-you, win-back), with the evidence."""
    from carecli.core.errors import InvalidInput
    from carecli.measure import suggest as suggesting

    settings, conn = STATE.settings, STATE.conn
    # Ids are places in the list, which the same data at the same time always gives in the same order.
    suggestions = [{"id": i, **s} for i, s in enumerate(suggesting.suggest(conn, settings, now=STATE.now), 1)]
    chosen = _chosen(ids, len(suggestions))
    if chosen is not None:
        suggestions = [s for s in suggestions if s["id"] in chosen]
    emit_rows(
        suggestions,
        SUGGEST_TABLE_COLUMNS if fmt == "table" else SUGGEST_COLUMNS,
        fmt,
        tz=settings.tz,
        empty="nothing to suggest: every customer is covered",
        raw=raw,
    )
    if not apply or not suggestions:
        if suggestions and not apply:
            some = " (or some of them by id: --apply 1,3)" if len(suggestions) > 1 else ""
            message(f"{counted(len(suggestions), 'suggestion')}; schedule with: carecli care suggest --apply{some}")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise InvalidInput("--apply asks for confirmation", "pass --yes to schedule without asking")
        question = (
            "Schedule this follow-up?" if len(suggestions) == 1 else f"Schedule these {len(suggestions)} follow-ups?"
        )
        typer.confirm(question, abort=True, err=True)
    with STATE.write() as conn:
        made = suggesting.apply_suggestions(conn, settings, suggestions, at=STATE.now)
    message(f"scheduled {counted(len(made), 'follow-up')}: " + ", ".join(f"#{row['id']}" for row in made))


CARE_RUN_COLUMNS = columns_of("care_run")
CARE_RUN_TABLE_COLUMNS = columns_of(
    "care_run", "rule", "action", "customer_name", "ticket_id", "followup_id", "reason", "result"
)


@app.command("run")
def run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="list what each rule would do, and why; change nothing")
    ] = False,
    fmt: FormatOpt = "table",
    raw: RawOpt = False,
) -> None:
    """Act on the care rules of the config ([[care.rules]]): survey, nudge, close after silence,
    mail due follow-ups that carry a template, thank and recover. For cron, before `outbox send`.
    First it schedules the care plans' steps not scheduled yet ([[care.plans]]; `care plans`).

    Every action is an event on its ticket naming the rule, so no rule acts twice; every mail
    waits in the outbox. A template that cannot be rendered stops the run before anything is
    queued; a customer who cannot be mailed is listed as skipped, with the reason."""
    from carecli.mail import autopilot

    settings = STATE.settings
    if not settings["care.rules"] and not settings["care.plans"]:
        message("no care rules or plans: add [[care.rules]] or [[care.plans]] to the config (see config.example.toml)")
        return
    if dry_run:
        actions = autopilot.run(STATE.conn, settings, now=STATE.now, dry_run=True)
    else:
        with STATE.write() as conn:
            actions = autopilot.run(conn, settings, now=STATE.now)
    emit_rows(
        [action.as_row() for action in actions],
        CARE_RUN_TABLE_COLUMNS if fmt == "table" else CARE_RUN_COLUMNS,
        fmt,
        tz=settings.tz,
        empty="nothing to do: every rule is up to date",
        raw=raw,
    )
    queued = sum(1 for a in actions if a.outbox_id is not None)
    closed = sum(1 for a in actions if a.result == "closed")
    skipped = sum(1 for a in actions if a.result.startswith("skipped"))
    scheduled = sum(1 for a in actions if a.action == "schedule")
    if dry_run:
        message(f"dry run: {counted(len(actions), 'action')}; nothing was changed")
    elif actions:
        parts = [f"scheduled {counted(scheduled, 'plan follow-up')}"] if scheduled else []
        parts.append(f"queued {counted(queued, 'message')}")
        if closed:
            parts.append(f"closed {counted(closed, 'ticket')}")
        if skipped:
            parts.append(f"skipped {skipped}")
        message(", ".join(parts) + ("; send with: carecli outbox send" if queued else ""))


# ---------------------------------------------------------------- care plans

PLAN_CHECK_COLUMNS = columns_of(
    "plan_steps", "plan", "step", "when", "kind", "targets", "matched", "scheduled", "to_schedule", "too_old"
)
PLAN_SCHEDULE_COLUMNS = columns_of("plan_schedule")


@app.command("plans")
def plans_(
    check: Annotated[
        bool, typer.Option("--check", help="show what each plan matches and would schedule; write nothing")
    ] = False,
    list_: Annotated[
        bool, typer.Option("--list", help="list each follow-up (to be) scheduled, with why, instead of the tally")
    ] = False,
    fmt: FormatOpt = "table",
    raw: RawOpt = False,
) -> None:
    """Schedule the care plans' steps not scheduled yet ([[care.plans]]: e.g. a plan added after its
    orders); each plan step, with the orders or assets it matches, those already scheduled, those to
    schedule and those too old (one-off steps due before [care] plans_backfill_days). `care run` does
    the same first."""
    from dataclasses import asdict

    from carecli.cli.plans import NO_PLANS, say_scheduled
    from carecli.records import plans

    settings = STATE.settings
    if not settings["care.plans"]:
        message(NO_PLANS)
        return
    if check:
        found = plans.pending(STATE.conn, settings, now=STATE.now, tally=True)
    else:
        with STATE.write() as conn:
            found = plans.schedule(conn, settings, now=STATE.now, tally=True)
    if list_:
        emit_rows(
            [asdict(p) for p in found.followups],
            PLAN_SCHEDULE_COLUMNS,
            fmt,
            tz=settings.tz,
            empty="nothing to schedule: every plan step is scheduled",
            raw=raw,
        )
    else:
        emit_rows([asdict(t) for t in found.tallies], PLAN_CHECK_COLUMNS, fmt, tz=settings.tz, raw=raw)
    if check:
        made = f" and add {counted(len(found.assets), 'asset')}" if found.assets else ""
        message(f"check: would schedule {counted(len(found.followups), 'follow-up')}{made}; nothing was written")
    elif found.followups or found.assets:
        say_scheduled(found)
    else:
        message("nothing to schedule: every plan step is scheduled")


# ---------------------------------------------------------------- health


def _factors_text(factors: list[dict]) -> str:
    return "; ".join(f"{f['detail']} ({f['points']:+d})" for f in factors) or "nothing known wrong"


HEALTH_COLUMNS = [
    replace(column, show=_factors_text) if column.key == "factors" else column for column in columns_of("health")
]


def health(
    ref: Annotated[
        Optional[str],
        typer.Argument(
            help="one customer (id, email or name); default all not lost", shell_complete=completing.customers
        ),
    ] = None,
    limit: LimitOpt = 0,
    fmt: FormatOpt = "table",
    raw: RawOpt = False,
) -> None:
    """A 0-100 health score per customer with the factors that moved it, worst first (see docs/metrics.md)."""
    from carecli.measure.health import health as compute
    from carecli.records import customers

    conn = STATE.conn
    customer_id = customers.resolve_customer(conn, ref)["id"] if ref else None
    rows = compute(conn, STATE.settings, now=STATE.now, customer_id=customer_id)
    emit_rows(rows[:limit] if limit else rows, HEALTH_COLUMNS, fmt, tz=STATE.settings.tz, empty="no customers", raw=raw)
