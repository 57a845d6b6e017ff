"""`carecli followup ...`: parse, call the domain, render."""

from __future__ import annotations

from itertools import islice
from typing import Annotated, Optional

import typer

from carecli.cli import completing
from carecli.cli.options import TIME_HELP, AtOpt, ChannelOpt, FormatOpt, LimitOpt, RawOpt, record_id
from carecli.cli.output import Column, columns_of, counted, emit_record, emit_rows, message
from carecli.cli.state import STATE

app = typer.Typer(no_args_is_help=True)

FollowupId = Annotated[int, typer.Argument(help="follow-up id", parser=record_id, shell_complete=completing.followups)]
KIND_HELP = "check-in, tip, service-reminder, recovery, thank-you, win-back, offer or other"
EveryOpt = Annotated[
    Optional[str],
    typer.Option("--every", help="repeat: 2w, '3 months', monthly, 'weekly on friday', 'monthly on the 1st', 1y"),
]
RruleOpt = Annotated[
    Optional[str], typer.Option("--rrule", help="repeat by an RFC 5545 rule, e.g. FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1")
]
KindOpt = Annotated[
    Optional[str],
    typer.Option("--kind", "-k", help=KIND_HELP, shell_complete=completing.one_of("carecli.records.followups:KINDS")),
]
NoteOpt = Annotated[Optional[str], typer.Option("--note", help="what to do or say")]
TicketOpt = Annotated[
    Optional[int],
    typer.Option(
        "--ticket", parser=record_id, metavar="<id>", help="the ticket it is about", shell_complete=completing.tickets
    ),
]


def _due_text(row: dict) -> str:
    from carecli.text.clock import format_local

    return row["due_day"] if row["all_day"] else format_local(row["due_at"], STATE.settings.tz)


FOLLOWUP_COLUMNS = [c for c in columns_of("followups") if c.key != "customer_email"]
_BY_KEY = {c.key: c for c in FOLLOWUP_COLUMNS}


def table_columns(keys: tuple[str, ...]) -> list[Column]:
    """Columns for a screen: `due` shows the day of an all-day follow-up, the time of a timed one."""
    # Kind "time" so a narrow terminal shortens it like any other time; the text is ready-made.
    return [Column("due", "due", "time", show=str) if k == "due" else _BY_KEY[k] for k in keys]


LIST_KEYS = ("id", "due", "customer_name", "kind", "note", "rule", "status", "on_time", "ticket_id")
SHOW_KEYS = (
    "id",
    "customer_name",
    "customer_id",
    "ticket_id",
    "kind",
    "note",
    "due",
    "rule",
    "status",
    "overdue",
    "completed_at",
    "on_time",
    "outcome",
    "source",
    "previous_id",
    "created_at",
)


def with_due_text(record: dict) -> dict:
    return {**record, "due": _due_text(record)}


def _record(row) -> dict:
    from carecli.records.followups import as_dict
    from carecli.text.clock import local_day_bounds

    tz = STATE.settings.tz
    return as_dict(row, tz=tz, today_start=local_day_bounds(STATE.now.astimezone(tz).date(), tz)[0])


def describe_due(row) -> str:
    """`2026-03-21` for an all-day follow-up, `2026-03-21 09:00` (local) for a timed one."""
    return _due_text(_record(row))


def show(row, fmt: str, title: str | None = None) -> None:
    settings = STATE.settings
    record = _record(row)
    if fmt == "table":
        emit_record(
            with_due_text(record),
            fmt,
            fields=table_columns(SHOW_KEYS),
            tz=settings.tz,
            title=title or f"Follow-up #{record['id']}",
        )
    else:
        emit_record(record, fmt, fields=FOLLOWUP_COLUMNS, tz=settings.tz)


def _due(text: str, option: str = "--due"):
    """A due time as typed, and whether it names a whole day. A date without a year is its next
    occurrence: a follow-up is a plan."""
    from carecli.text.when import is_date_only

    return STATE.when(text, yearless="next", option=option), is_date_only(text, dayfirst=STATE.settings["dayfirst"])


def _warn_if_past(text: str, due_at, all_day: bool, option: str = "--due") -> None:
    """A due time in the past is allowed (catching up on paper notes) but rarely meant."""
    from carecli.text.clock import local_day_bounds
    from carecli.text.durations import rough_span

    tz, now = STATE.settings.tz, STATE.now
    if all_day:
        today_start = local_day_bounds(now.astimezone(tz).date(), tz)[0]
        past = due_at < today_start
    else:
        past = due_at < now
    if past:
        ago = rough_span((now - due_at).total_seconds())
        message(f"warning: {option} {text} is {ago} ago; the follow-up is overdue at once")


@app.command("add")
def add(
    customer: Annotated[str, typer.Argument(help="customer id, email or name", shell_complete=completing.customers)],
    due: Annotated[str, typer.Option("--due", "-d", help=f"when: a day means that whole day; {TIME_HELP}")],
    kind: KindOpt = None,
    note: NoteOpt = None,
    ticket: TicketOpt = None,
    every: EveryOpt = None,
    rrule: RruleOpt = None,
    template: Annotated[
        Optional[str],
        typer.Option(
            "--template",
            help="mail this template when it is due: `care run` (a followups rule) sends it and marks it done",
        ),
    ] = None,
    at: AtOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Schedule a follow-up with a customer, once or on a cadence."""
    from carecli.records import customers, followups
    from carecli.text.cadence import describe_rule

    when = STATE.happened(at)
    due_at, all_day = _due(due)
    if template is not None:
        from carecli.mail import templates

        template = template.strip()
        templates.source_text(STATE.settings, template)  # an unknown name fails here, before anything is written
    with STATE.write() as conn:
        who = customers.resolve_customer(conn, customer)
        row = followups.add_followup(
            conn,
            STATE.settings,
            customer_id=who["id"],
            due=due_at,
            all_day=all_day,
            at=when,
            kind=kind,
            note=note or "",
            ticket_id=ticket,
            every=every,
            rrule=rrule,
            template=template,
        )
    repeats = f", repeating {describe_rule(row['recurrence'])}" if row["recurrence"] else ""
    message(f"scheduled {row['kind']} #{row['id']} with {who['name']}{repeats}")
    _warn_if_past(due, due_at, all_day)
    show(row, fmt)


@app.command("list")
def list_(
    due_by: Annotated[Optional[str], typer.Option("--due-by", help=f"due on or before this day; {TIME_HELP}")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="only scheduled follow-ups past their due day")] = False,
    customer: Annotated[
        Optional[str],
        typer.Option("--customer", help="customer id, email or name", shell_complete=completing.customers),
    ] = None,
    kind: KindOpt = None,
    status: Annotated[
        str,
        typer.Option(
            "--status",
            "-s",
            help="scheduled, done, skipped, all, or a comma list",
            shell_complete=completing.one_of("carecli.records.followups:STATUSES", extra=("all",), comma_list=True),
        ),
    ] = "scheduled",
    limit: LimitOpt = 100,
    fmt: FormatOpt = "table",
    raw: RawOpt = False,
) -> None:
    """List follow-ups, earliest due first (default: scheduled)."""
    from carecli.core.errors import InvalidInput
    from carecli.records import customers, followups
    from carecli.text.clock import local_day_bounds

    settings, conn = STATE.settings, STATE.conn
    statuses = followups.check_status(status)
    due_before = STATE.when(due_by, yearless="next", end_of_day=True, option="--due-by") if due_by else None
    if overdue:
        if statuses != ("scheduled",):
            raise InvalidInput("--overdue lists scheduled follow-ups only", "drop --status or --overdue")
        today_start = local_day_bounds(STATE.now.astimezone(settings.tz).date(), settings.tz)[0]
        due_before = min(due_before, today_start) if due_before else today_start
    filters = followups.FollowupFilter(
        statuses=statuses,
        customer_id=customers.resolve_customer(conn, customer)["id"] if customer else None,
        kind=followups.check_kind(kind) if kind else None,
        due_before=due_before,
    )
    cursor = followups.list_followups(conn, filters, limit=limit + 1 if limit else None)
    rows = followups.iter_dicts(cursor, tz=settings.tz, now=STATE.now)
    if fmt == "table":
        shown = emit_rows(
            (with_due_text(r) for r in islice(rows, limit or None)),
            table_columns(LIST_KEYS),
            fmt,
            tz=settings.tz,
            empty="no follow-ups match",
        )
    else:
        shown = emit_rows(islice(rows, limit or None), FOLLOWUP_COLUMNS, fmt, tz=settings.tz, raw=raw)
    if limit and shown == limit and next(rows, None) is not None:
        message(f"showing the first {shown}; use --limit 0 for all")


@app.command("show")
def show_(followup_id: FollowupId, fmt: FormatOpt = "table") -> None:
    """One follow-up's details."""
    from carecli.records.followups import get_followup

    show(get_followup(STATE.conn, followup_id), fmt)


def _report_series(result) -> None:
    from carecli.text.clock import format_local

    tz = STATE.settings.tz
    if result.skipped_count:
        days = ", ".join(format_local(o, tz)[:10] for o in result.skipped_occurrences)
        more = ", ..." if result.skipped_count > len(result.skipped_occurrences) else ""
        count = counted(result.skipped_count, "past occurrence")
        message(f"skipped {'more than ' if result.skipped_more else ''}{count}: {days}{more}")
    if result.next_followup is not None:
        message(f"next: #{result.next_followup['id']} due {describe_due(result.next_followup)}")
    elif result.series_ended:
        message("the series has no further occurrence")


@app.command("done")
def done(
    followup_id: FollowupId,
    outcome: Annotated[Optional[str], typer.Option("--outcome", "-o", help="what came of it")] = None,
    channel: ChannelOpt = None,
    at: AtOpt = None,
    send: Annotated[
        bool,
        typer.Option(
            "--send", help="make the contact by mail: queue the template (--template, or the follow-up's own)"
        ),
    ] = False,
    template: Annotated[
        Optional[str], typer.Option("--template", help="with --send: the template to mail (carecli template list)")
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Mark a follow-up done and log the contact; a recurring one schedules its next occurrence.
    With --send the contact is a mail from a template, queued in the outbox (care mail: only to a
    customer who has not opted out, with a way to opt out)."""
    from carecli.core.errors import InvalidInput, UsageError
    from carecli.records import followups

    when = STATE.happened(at)
    if template is not None and not send:
        raise UsageError("--template goes with --send", "add --send to mail it")
    if send and (at is not None or outcome is not None):
        raise InvalidInput("--send mails now and writes its own outcome", "leave out --at and --outcome with --send")
    queued = None
    with STATE.write() as conn:
        followup = followups.get_followup(conn, followup_id)
        if send:
            from carecli.mail import autopilot

            name = (template or followup["template"] or "").strip()
            if not name:
                raise UsageError(f"follow-up #{followup_id} carries no template", "name one: --send --template NAME")
            queued, result = autopilot.mail_followup(conn, STATE.settings, followup, name, now=when)
        else:
            result = followups.complete(conn, STATE.settings, followup, at=when, outcome=outcome, channel=channel)
    if queued is not None:
        message(f"queued message {queued}: carecli outbox send")
    row = result.followup
    message(f"done: {row['kind']} #{row['id']} with {row['customer_name']} ({'on time' if row['on_time'] else 'late'})")
    _report_series(result)
    show(row, fmt)


@app.command("snooze")
def snooze(
    followup_id: FollowupId,
    until: Annotated[str, typer.Argument(help=f"the new due day or time; {TIME_HELP}")],
    fmt: FormatOpt = "table",
) -> None:
    """Move a scheduled follow-up to a later day or time."""
    from carecli.records import followups

    due_at, all_day = _due(until, option="UNTIL")
    with STATE.write() as conn:
        row = followups.snooze(
            conn,
            STATE.settings,
            followups.get_followup(conn, followup_id),
            until=due_at,
            all_day=all_day,
            now=STATE.now,
        )
    message(f"snoozed #{row['id']} to {describe_due(row)}")
    show(row, fmt)


@app.command("skip")
def skip(
    followup_id: FollowupId,
    reason: Annotated[Optional[str], typer.Option("--reason", help="why it is skipped")] = None,
    stop: Annotated[bool, typer.Option("--stop", help="also end a recurring series")] = False,
    at: AtOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Skip a follow-up (a recurring one goes on to its next occurrence unless --stop)."""
    from carecli.records import followups

    when = STATE.happened(at)
    with STATE.write() as conn:
        result = followups.skip(
            conn, STATE.settings, followups.get_followup(conn, followup_id), at=when, reason=reason, stop=stop
        )
    message(f"skipped #{result.followup['id']}")
    _report_series(result)
    show(result.followup, fmt)


@app.command("edit")
def edit(
    followup_id: FollowupId,
    due: Annotated[Optional[str], typer.Option("--due", "-d", help=f"new due day or time; {TIME_HELP}")] = None,
    kind: KindOpt = None,
    note: NoteOpt = None,
    ticket: TicketOpt = None,
    every: EveryOpt = None,
    rrule: RruleOpt = None,
    no_repeat: Annotated[bool, typer.Option("--no-repeat", help="stop repeating")] = False,
    outcome: Annotated[
        Optional[str], typer.Option("--outcome", help="correct the outcome of a done or skipped one")
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Change a follow-up's due time, kind, note, ticket, cadence or outcome."""
    from carecli.records import followups

    due_at, all_day = _due(due) if due is not None else (None, None)
    with STATE.write() as conn:
        row = followups.edit(
            conn,
            STATE.settings,
            followups.get_followup(conn, followup_id),
            due=due_at,
            all_day=all_day,
            kind=kind,
            note=note,
            ticket_id=ticket,
            every=every,
            rrule=rrule,
            no_repeat=no_repeat,
            outcome=outcome,
            now=STATE.now,
        )
    message(f"updated follow-up #{row['id']}")
    if due is not None:
        _warn_if_past(due, due_at, bool(all_day))
    show(row, fmt)


@app.command("delete")
def delete(
    followup_id: FollowupId,
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="why: duplicate, spam, mistake or other",
            show_default=False,
            shell_complete=completing.one_of("carecli.records.trash:REASONS"),
        ),
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Move a follow-up (added twice, say) to the trash; `followup restore N` brings it back."""
    from carecli.cli.undo import delete_record
    from carecli.records import customers, followups

    row = followups.get_followup(STATE.conn, followup_id)
    who = customers.get_customer(STATE.conn, row["customer_id"])["name"]
    label = row["note"] or row["kind"]
    delete_record(
        "followup",
        row,
        label=label,
        who=who,
        customer_id=row["customer_id"],
        ticket_id=row["ticket_id"],
        reason=reason,
        yes=yes,
    )


@app.command("restore")
def restore(followup_id: FollowupId) -> None:
    """Bring a follow-up back from the trash, with the same number."""
    from carecli.cli.undo import restore_record

    restore_record("followup", followup_id)
