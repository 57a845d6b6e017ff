"""`carecli ticket ...`: parse, call the domain, render."""

from __future__ import annotations

from itertools import islice
from typing import Annotated, Optional

import typer

from carecli.cli import completing
from carecli.cli.options import (
    AtOpt,
    CategoryOpt,
    ChannelOpt,
    FormatOpt,
    LimitOpt,
    PriorityOpt,
    RawOpt,
    SinceOpt,
    TagsOpt,
    UntagOpt,
    UntilOpt,
    record_id,
)
from carecli.cli.output import columns_of, emit_record, emit_rows, message
from carecli.cli.state import STATE

app = typer.Typer(no_args_is_help=True)

TicketId = Annotated[int, typer.Argument(help="ticket id", parser=record_id, shell_complete=completing.tickets)]
TextArg = Annotated[str, typer.Argument(help="the message text")]

TICKET_COLUMNS = columns_of(
    "tickets",
    "id",
    "customer_id",
    "customer_name",
    "customer_email",
    "subject",
    "status",
    "priority",
    "channel",
    "category",
    "tags",
    "created_at",
    "first_response_at",
    "first_closed_at",
    "closed_at",
    "reopens",
    "replies",
    "first_response_s",
    "first_resolution_s",
    "resolution_s",
    "resolution",
    "updated_at",
)
LINK_COLUMNS = columns_of("tickets", "order_id", "asset_id")  # `ticket show`, when the ticket names them
_BY_KEY = {c.key: c for c in TICKET_COLUMNS}
# What fits on a screen; machine formats get every column.
LIST_TABLE_COLUMNS = [
    _BY_KEY[k]
    for k in (
        "id",
        "status",
        "priority",
        "customer_name",
        "subject",
        "channel",
        "category",
        "created_at",
        "first_response_at",
    )
]
TIMELINE_COLUMNS = [
    *columns_of("interactions", "id"),
    *columns_of("events", "at", "kind"),
    *columns_of("interactions", "channel", "body"),
]


def _show(row, fmt: str) -> None:
    emit_record(dict(row), fmt, fields=TICKET_COLUMNS, tz=STATE.settings.tz, title=f"Ticket #{row['id']}")


def _ticket(conn, ticket_id: int):
    from carecli.records.tickets import get_ticket

    return get_ticket(conn, ticket_id)


@app.command("open")
def open_(
    customer: Annotated[str, typer.Argument(help="customer id, email or name", shell_complete=completing.customers)],
    subject: Annotated[str, typer.Argument(help="what it is about")],
    channel: ChannelOpt = None,
    category: CategoryOpt = None,
    priority: PriorityOpt = None,
    message_text: Annotated[
        Optional[str], typer.Option("--message", "-m", help="the customer's first message (ours with --outreach)")
    ] = None,
    outreach: Annotated[
        bool,
        typer.Option(
            "--outreach", help="we start the conversation: first response counts from the customer's first reply"
        ),
    ] = False,
    tag: TagsOpt = None,
    order: Annotated[
        Optional[str], typer.Option("--order", help="the order it is about: the shop's number or carecli's id")
    ] = None,
    asset: Annotated[Optional[int], typer.Option("--asset", help="the asset (id) it is about", min=1)] = None,
    at: AtOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Open a ticket for a customer."""
    from carecli.records import customers, tickets

    when = STATE.happened(at)
    settings = STATE.settings
    who = customers.resolve_customer(STATE.conn, customer)
    order_id = None
    if order is not None:
        from carecli.records.orders import resolve_order

        order_id = resolve_order(STATE.conn, order)["id"]
    if asset is not None:
        from carecli.records.assets import get_asset

        get_asset(STATE.conn, asset)
    twin = tickets.similar_open(STATE.conn, who["id"], subject, when)
    if twin is not None and _add_to_twin(twin, who, when, message_text):
        return
    with STATE.write() as conn:
        row = tickets.open_ticket(
            conn,
            settings,
            customer_id=who["id"],
            subject=subject,
            at=when,
            channel=channel,
            category=category,
            priority=priority,
            message=message_text,
            tags=tag or [],
            outreach=outreach,
            order_id=order_id,
            asset_id=asset,
        )
    message(f"opened ticket #{row['id']}, {who['name']}: {row['subject']}")
    _show(row, fmt)


def _add_to_twin(twin, who, when, message_text: str | None) -> bool:
    """A ticket like this one was opened lately: ask on a terminal whether to add to it instead
    (then the message goes on it as the customer's); warn off a terminal. True when added."""
    import sys

    from carecli.cli.output import visible
    from carecli.text.durations import age_text

    said = f"{who['name']} has #{twin['id']} '{twin['subject']}', opened {age_text(twin['created_at'], STATE.now)} ago"
    if not sys.stdin.isatty():
        message(f"warning: {said}; opening a new ticket anyway (`carecli ticket merge` joins them later)")
        return False
    if not typer.confirm(visible(f"{said}: add to it instead?"), default=False, err=True):
        return False
    if message_text is not None:
        from carecli.records import tickets

        with STATE.write() as conn:
            tickets.inbound(conn, STATE.settings, tickets.get_ticket(conn, twin["id"]), message_text, at=when)
    message(f"added to ticket #{twin['id']}, {who['name']}: {twin['subject']}")
    return True


@app.command("reply")
def reply(
    ticket_id: TicketId,
    text: Annotated[
        Optional[str], typer.Argument(help="the message text (with --template: what it places as {{ text }})")
    ] = None,
    channel: ChannelOpt = None,
    pending: Annotated[
        Optional[bool],
        typer.Option(
            "--pending/--open",
            help="wait for the customer (set pending) or keep the ticket open, for this reply"
            " (default: config tickets.after_reply, pending)",
            show_default=False,
        ),
    ] = None,
    at: AtOpt = None,
    send: Annotated[
        bool,
        typer.Option("--send", help="also mail it to the customer (queued in the outbox; `outbox send` sends it)"),
    ] = False,
    template: Annotated[
        Optional[str],
        typer.Option(
            "--template", help="write the reply from this template (carecli template list); TEXT fills {{ text }}"
        ),
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Log our reply to the customer; the first reply sets the first response time.

    The reply hands an open ticket to the customer: it becomes pending (unless --open or
    tickets.after_reply = "open"), except when the reply is dated before the ticket's latest
    status change or the customer's latest message. With --send the reply is also mailed,
    threaded onto the customer's last message, with [#N] in its subject. With --template the
    text is the rendered template (its Subject, if any, becomes the mail's, [#N] kept)."""
    from carecli.core.errors import InvalidInput, UsageError
    from carecli.records import tickets

    when = STATE.happened(at)
    settings = STATE.settings
    if text is None and template is None:
        raise UsageError("give the reply's TEXT, or --template NAME", "e.g. carecli ticket reply 4 'On its way today.'")
    if send and at is not None:
        raise InvalidInput(
            "--send mails the reply now; it cannot carry --at", "leave out --at, or log it without --send"
        )
    with STATE.write() as conn:
        ticket = _ticket(conn, ticket_id)
        subject = None
        if template is not None:
            from carecli.mail import templates

            rendered = templates.render(conn, settings, template.strip(), ticket_id=ticket_id, text=text)
            text, subject = rendered.body.rstrip("\n"), rendered.subject or None
        assert text is not None
        if send:
            channel = channel or settings["mail.channel"]
        row = tickets.reply(conn, settings, ticket, text, at=when, channel=channel, pending=pending)
        queued = _queue_reply(conn, row, text, when, subject=subject) if send else None
    message(f"replied on #{row['id']}, {row['customer_name']}: {row['subject']} ({row['status']})")
    if queued is not None:
        message(f"queued message {queued} to {row['customer_email']}: carecli outbox send")
    _show(row, fmt)


def _queue_reply(conn, ticket, text: str, when, *, subject: str | None = None) -> int:
    from carecli.mail import compose, outbox

    settings = STATE.settings
    composed = compose.compose(
        settings,
        to=compose.recipient_of(conn, ticket["customer_id"]),
        subject=compose.reply_subject(ticket["id"], subject or ticket["subject"]),
        body=text,
        at=when,
        thread=compose.thread_of(conn, ticket["id"]),
    )
    interaction = conn.execute(
        "SELECT max(id) FROM interactions WHERE ticket_id = ? AND direction = 'out'", (ticket["id"],)
    ).fetchone()[0]
    return outbox.queue(
        conn,
        composed,
        kind="reply",
        at=when,
        customer_id=ticket["customer_id"],
        ticket_id=ticket["id"],
        interaction_id=interaction,
    )


@app.command("note")
def note(ticket_id: TicketId, text: TextArg, at: AtOpt = None, fmt: FormatOpt = "table") -> None:
    """Add an internal note (not sent, not a response)."""
    from carecli.records import tickets

    when = STATE.happened(at)
    with STATE.write() as conn:
        row = tickets.note(conn, STATE.settings, _ticket(conn, ticket_id), text, at=when)
    message(f"noted on #{row['id']}, {row['customer_name']}: {row['subject']}")
    _show(row, fmt)


@app.command("inbound")
def inbound(
    ticket_id: TicketId, text: TextArg, channel: ChannelOpt = None, at: AtOpt = None, fmt: FormatOpt = "table"
) -> None:
    """The customer wrote again: log it (a pending ticket goes back to open, queued care mail for it is cancelled)."""
    from carecli.mail import outbox
    from carecli.records import tickets

    when = STATE.happened(at)
    with STATE.write() as conn:
        result = tickets.inbound(conn, STATE.settings, _ticket(conn, ticket_id), text, at=when, channel=channel)
        cancelled = outbox.cancel_care_for_ticket(conn, ticket_id)
    row = result.ticket
    message(
        f"logged message from {row['customer_name']} on ticket #{row['id']}"
        + (" (back to open)" if result.resumed else "")
    )
    if cancelled:
        message(
            "cancelled the queued care mail " + ", ".join(str(i) for i in cancelled) + " (the customer wrote first)"
        )
    if result.closed:
        message(f"note: ticket #{row['id']} is closed; if it needs more work: carecli ticket reopen {row['id']}")
    _show(row, fmt)


@app.command("pending")
def pending(ticket_id: TicketId, at: AtOpt = None, fmt: FormatOpt = "table") -> None:
    """Mark a ticket as waiting on the customer."""
    from carecli.records import tickets

    when = STATE.happened(at)
    with STATE.write() as conn:
        row = tickets.set_pending(conn, _ticket(conn, ticket_id), at=when)
    message(f"#{row['id']} is pending, {row['customer_name']}: {row['subject']}")
    _show(row, fmt)


@app.command("close")
def close(
    ticket_id: TicketId,
    resolution: Annotated[Optional[str], typer.Option("--resolution", "-r", help="how it was solved")] = None,
    followup: Annotated[
        Optional[str],
        typer.Option(
            "--followup",
            help="check in this long after closing (3d) or on that day (2026-06-13); default: config care.followup_after_close",
        ),
    ] = None,
    no_followup: Annotated[bool, typer.Option("--no-followup", help="no after-close check-in")] = False,
    csat: Annotated[Optional[int], typer.Option("--csat", help="the customer's satisfaction score, 1-5")] = None,
    ces: Annotated[Optional[int], typer.Option("--ces", help="the customer's effort score, 1-7")] = None,
    at: AtOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Close a ticket."""
    from carecli.cli.surveys import record_for_ticket
    from carecli.records import care, tickets

    when = STATE.happened(at)
    due = _followup_day(followup)
    delay = care.after_close_delay(STATE.settings, None if due else followup, no_followup)
    if due and no_followup:
        delay = care.after_close_delay(STATE.settings, followup, no_followup)  # the one error for both
    with STATE.write() as conn:
        row = tickets.close(conn, _ticket(conn, ticket_id), at=when, resolution=resolution)
        check_in = care.schedule_after_close(conn, STATE.settings, row, at=when, after=delay, due=due)
        for kind, score in (("csat", csat), ("ces", ces)):
            if score is not None:
                record_for_ticket(conn, kind, row, score, at=when)
    message(f"closed #{row['id']}, {row['customer_name']}: {row['subject']}")
    if check_in is not None:
        from carecli.cli.followups import describe_due

        message(f"scheduled check-in #{check_in['id']} due {describe_due(check_in)}")
    _show(row, fmt)


def _followup_day(text: str | None):
    """`--followup` as a day or a time (`2026-06-13`, `fri`), with whether it names a whole day;
    None when it is a duration (`3d`) or not given."""
    from carecli.core.errors import InvalidInput
    from carecli.text.durations import parse_duration
    from carecli.text.vocabulary import TimeParseError

    if text is None:
        return None
    try:
        parse_duration(text)
        return None
    except TimeParseError:
        pass
    from carecli.cli.followups import _due

    try:
        return _due(text, option="--followup")
    except InvalidInput:
        raise InvalidInput(
            f"cannot read --followup '{text}' as a duration or a day", "e.g. --followup 3d or --followup 2026-06-13"
        ) from None


@app.command("reopen")
def reopen(
    ticket_id: TicketId,
    reason: Annotated[Optional[str], typer.Option("--reason", help="why it is back")] = None,
    at: AtOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Reopen a closed ticket (its pending after-close check-in is skipped)."""
    from carecli.records import care, tickets

    when = STATE.happened(at)
    with STATE.write() as conn:
        row = tickets.reopen(conn, _ticket(conn, ticket_id), at=when, reason=reason)
        skipped = care.skip_after_close(conn, row)
    message(f"reopened #{row['id']}, {row['customer_name']}: {row['subject']} (reopened {row['reopen_count']}x)")
    if skipped:
        message("skipped its after-close check-in " + ", ".join(f"#{i}" for i in skipped))
    _show(row, fmt)


@app.command("edit")
def edit(
    ticket_id: TicketId,
    subject: Annotated[Optional[str], typer.Option("--subject", help="new subject")] = None,
    channel: ChannelOpt = None,
    category: CategoryOpt = None,
    priority: PriorityOpt = None,
    tag: TagsOpt = None,
    untag: UntagOpt = None,
    at: AtOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Change a ticket's subject, channel, category, priority or tags."""
    from carecli.records import tickets

    when = STATE.happened(at)
    with STATE.write() as conn:
        row = tickets.edit(
            conn,
            STATE.settings,
            _ticket(conn, ticket_id),
            at=when,
            subject=subject,
            channel=channel,
            category=category,
            priority=priority,
            add_tags=tag or [],
            remove_tags=untag or [],
        )
    message(f"updated #{row['id']}, {row['customer_name']}: {row['subject']}")
    _show(row, fmt)


def parse_statuses(status: str) -> tuple[str, ...]:
    from carecli.core.errors import InvalidInput
    from carecli.records.tickets import ACTIVE, STATUSES

    if status == "active":
        return ACTIVE
    if status == "all":
        return STATUSES
    chosen = tuple(s.strip() for s in status.split(",") if s.strip())
    unknown = [s for s in chosen if s not in STATUSES]
    if unknown or not chosen:
        raise InvalidInput(f"unknown status '{status}'", f"use {', '.join(STATUSES)}, active or all (or a comma list)")
    return chosen


@app.command("list")
def list_(
    status: Annotated[
        str,
        typer.Option(
            "--status",
            "-s",
            help="open, pending, closed, active (open+pending), all, or a comma list",
            shell_complete=completing.one_of(
                "carecli.records.tickets:STATUSES", extra=("active", "all"), comma_list=True
            ),
        ),
    ] = "active",
    customer: Annotated[
        Optional[str],
        typer.Option("--customer", help="customer id, email or name", shell_complete=completing.customers),
    ] = None,
    channel: ChannelOpt = None,
    category: CategoryOpt = None,
    priority: PriorityOpt = None,
    tag: Annotated[Optional[str], typer.Option("--tag", "-t", help="only tickets with this tag")] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    limit: LimitOpt = 100,
    breaching: Annotated[bool, typer.Option("--breaching", help="only tickets past or near an SLA deadline")] = False,
    fmt: FormatOpt = "table",
    raw: RawOpt = False,
) -> None:
    """List tickets, most urgent and oldest first (default: open and pending)."""
    from carecli.records import customers, ticket_queries

    if breaching:
        from carecli.cli.kpi import emit_breaching

        return emit_breaching(fmt)

    settings, conn = STATE.settings, STATE.conn
    filters = ticket_queries.TicketFilter(
        statuses=parse_statuses(status.strip().lower()),
        customer_id=customers.resolve_customer(conn, customer)["id"] if customer else None,
        channel=settings.choose("channels", channel) if channel else None,
        category=settings.choose("categories", category) if category else None,
        priority=settings.choose("priorities", priority) if priority else None,
        tag=tag,
        since=(start := STATE.when(since, option="--since") if since else None),
        until=STATE.until(until, since=start) if until else None,
    )
    # Fetch one more than asked, to say so when the list was cut.
    rows = ticket_queries.list_tickets(conn, settings, filters, limit=limit + 1 if limit else None)
    shown = emit_rows(
        islice(rows, limit or None),
        TICKET_COLUMNS if fmt != "table" else LIST_TABLE_COLUMNS,
        fmt,
        tz=settings.tz,
        empty="no tickets match",
        raw=raw,
    )
    if limit and rows.fetchone() is not None:
        message(f"showing the first {shown}; use --limit 0 for all")


@app.command("show")
def show(ticket_id: TicketId, fmt: FormatOpt = "table") -> None:
    """A ticket's details and its full timeline."""
    from carecli.cli.attachments import ATTACHMENT_COLUMNS, TABLE_COLUMNS
    from carecli.mail import attachments
    from carecli.records import ticket_queries

    conn = STATE.conn
    record = dict(_ticket(conn, ticket_id))
    record["timeline"] = ticket_queries.ticket_timeline(conn, ticket_id, STATE.settings.tz)
    files = [{**dict(row), "stored": bool(row["stored"])} for row in attachments.listing(conn, ticket_id=ticket_id)]
    if files:  # only tickets that came by mail have any: the others show no empty section
        record["attachments"] = files
    links = [column for column in LINK_COLUMNS if record.get(column.key) is not None]
    emit_record(
        record,
        fmt,
        fields=[*TICKET_COLUMNS, *links],
        sections={
            "timeline": TIMELINE_COLUMNS,
            **({"attachments": TABLE_COLUMNS if fmt == "table" else ATTACHMENT_COLUMNS} if files else {}),
        },
        tz=STATE.settings.tz,
        title=f"Ticket #{ticket_id}",
    )


ReasonOpt = Annotated[
    str,
    typer.Option(
        "--reason",
        help="why: duplicate, spam, mistake or other",
        show_default=False,
        shell_complete=completing.one_of("carecli.records.trash:REASONS"),
    ),
]


@app.command("delete")
def delete(
    ticket_id: TicketId,
    reason: ReasonOpt,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Move a ticket, with its messages, surveys and follow-ups, to the trash.

    It leaves every listing, figure and search; `ticket restore N` brings it back as it was,
    `carecli undo` takes the delete back, `db purge` empties the trash for good."""
    from carecli.cli.undo import confirm
    from carecli.core import undolog
    from carecli.records import trash

    why = trash.check_reason(reason)
    row = _ticket(STATE.conn, ticket_id)
    confirm(f"move ticket #{row['id']} ({row['customer_name']}: {row['subject']}) to the trash?", yes)
    with undolog.unchecked_references(STATE.conn), STATE.write() as conn:
        trash.move_to_trash(
            conn,
            "ticket",
            row["id"],
            label=row["subject"],
            customer_id=row["customer_id"],
            ticket_id=row["id"],
            reason=why,
            at=STATE.now,
        )
    message(f"moved ticket #{row['id']} to the trash, {row['customer_name']}: {row['subject']}")


@app.command("restore")
def restore(ticket_id: TicketId, fmt: FormatOpt = "table") -> None:
    """Bring a ticket back from the trash, with the same number and everything that went with it."""
    from carecli.core import undolog
    from carecli.records import trash

    with undolog.unchecked_references(STATE.conn), STATE.write() as conn:
        trash.restore(conn, "ticket", ticket_id, at=STATE.now)
        row = _ticket(conn, ticket_id)
    message(f"restored ticket #{row['id']}, {row['customer_name']}: {row['subject']}")
    _show(row, fmt)


@app.command("merge")
def merge(
    source: TicketId,
    into: Annotated[
        int,
        typer.Option(
            "--into",
            help="the ticket that stays",
            parser=record_id,
            show_default=False,
            shell_complete=completing.tickets,
        ),
    ],
    fmt: FormatOpt = "table",
) -> None:
    """Merge a duplicate ticket into another of the same customer.

    Its messages, surveys and follow-ups move to the target, whose first response, reply count
    and durations are derived again; the duplicate leaves every listing and figure (it was never
    opened, as far as figures go) and `ticket show SOURCE` points at the target."""
    from carecli.core import undolog
    from carecli.records import merging

    with undolog.unchecked_references(STATE.conn), STATE.write() as conn:
        row = merging.merge_tickets(conn, _ticket(conn, source), _ticket(conn, into), at=STATE.now)
    message(f"merged ticket #{source} into #{row['id']}, {row['customer_name']}: {row['subject']}")
    _show(row, fmt)
