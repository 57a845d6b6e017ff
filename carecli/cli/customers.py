"""`carecli customer ...` and `carecli log`: parse, call the domain, render."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from carecli.cli import completing
from carecli.cli.options import AtOpt, ChannelOpt, FormatOpt, LimitOpt, RawOpt, TagsOpt, UntagOpt, record_id
from carecli.cli.output import Column, columns_of, emit_record, emit_rows, message
from carecli.cli.state import STATE

app = typer.Typer(no_args_is_help=True)

CUSTOMER_COLUMNS = columns_of(
    "customers", "id", "name", "email", "phone", "tags", "notes", "created_at", "lost_at", "lost_reason"
)
SHOW_COLUMNS = [*CUSTOMER_COLUMNS, *columns_of("customers", "opted_out_at", "orders")]
LIST_COLUMNS = columns_of(
    "customers",
    "id",
    "name",
    "email",
    "phone",
    "tags",
    "open_tickets",
    "last_contact_at",
    "created_at",
    "lost_at",
    "lost_reason",
)
TIMELINE_COLUMNS = columns_of("interactions", "at", "ticket_id", "direction", "channel", "body")
OPEN_TICKET_COLUMNS = columns_of("tickets", "id", "status", "priority", "subject", "created_at")
LAST_ORDER_COLUMNS = columns_of("orders", "id", "ref", "ordered_at", "lines", "total", "currency")
ASSET_COLUMNS = columns_of("assets", "id", "name", "serial", "plan", "since", "last_serviced_at")
ADDRESS_COLUMNS = columns_of("customer_addresses", "kind", "address", "created_at")


def show_customer(row, fmt: str, title: str | None = None) -> None:
    emit_record(dict(row), fmt, fields=CUSTOMER_COLUMNS, tz=STATE.settings.tz, title=title)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="the customer's name")],
    email: Annotated[Optional[str], typer.Option("--email", "-e", help="email address (unique)")] = None,
    phone: Annotated[Optional[str], typer.Option("--phone", help="phone number")] = None,
    tag: TagsOpt = None,
    note: Annotated[Optional[str], typer.Option("--note", help="free-form notes")] = None,
    at: AtOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Add a customer."""
    from carecli.records import customers

    when = STATE.happened(at)
    with STATE.write() as conn:
        row = customers.add_customer(conn, name, at=when, email=email, phone=phone, tags=tag or [], notes=note or "")
    message(f"added customer #{row['id']} {row['name']}")
    show_customer(row, fmt)


@app.command("list")
def list_(
    tag: Annotated[Optional[str], typer.Option("--tag", "-t", help="only customers with this tag")] = None,
    search: Annotated[Optional[str], typer.Option("--search", "-s", help="name, email or phone contains")] = None,
    active: Annotated[bool, typer.Option("--active", help="leave out lost customers")] = False,
    limit: LimitOpt = 0,
    fmt: FormatOpt = "table",
    raw: RawOpt = False,
) -> None:
    """List customers by name."""
    from carecli.records import customers

    rows = customers.list_customers(STATE.conn, tag=tag, search=search, include_lost=not active, limit=limit or None)
    emit_rows(rows, LIST_COLUMNS, fmt, tz=STATE.settings.tz, empty="no customers match", raw=raw)


@app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="customer id, email or name", shell_complete=completing.customers)],
    fmt: FormatOpt = "table",
) -> None:
    """A customer's profile, open tickets and full interaction timeline."""
    from carecli.records import assets, consent, customers, orders, ticket_queries

    conn = STATE.conn
    row = customers.resolve_customer(conn, ref)
    record = dict(row)
    record["opted_out_at"] = consent.opted_out_at(conn, row["id"])
    record["addresses"] = customers.addresses(conn, row["id"])
    filters = ticket_queries.TicketFilter(customer_id=row["id"])
    record["open_tickets"] = [
        {key: t[key] for key in ("id", "status", "priority", "subject", "created_at")}
        for t in ticket_queries.list_tickets(conn, STATE.settings, filters)
    ]
    record["orders"] = orders.order_count(conn, row["id"])
    record["last_orders"] = [dict(o) for o in orders.list_orders(conn, customer_id=row["id"], limit=5)]
    record["assets"] = [dict(a) for a in assets.list_assets(conn, customer_id=row["id"])]
    record["timeline"] = customers.customer_timeline(conn, row["id"])
    emit_record(
        record,
        fmt,
        fields=SHOW_COLUMNS,
        tz=STATE.settings.tz,
        title=f"Customer #{row['id']}",
        sections={
            "addresses": ADDRESS_COLUMNS,
            "open_tickets": OPEN_TICKET_COLUMNS,
            "last_orders": LAST_ORDER_COLUMNS,
            "assets": ASSET_COLUMNS,
            "timeline": TIMELINE_COLUMNS,
        },
    )


@app.command("edit")
def edit(
    ref: Annotated[str, typer.Argument(help="customer id, email or name", shell_complete=completing.customers)],
    name: Annotated[Optional[str], typer.Option("--name", help="new name")] = None,
    email: Annotated[Optional[str], typer.Option("--email", "-e", help="new email ('' removes it)")] = None,
    phone: Annotated[Optional[str], typer.Option("--phone", help="new phone ('' removes it)")] = None,
    tag: TagsOpt = None,
    untag: UntagOpt = None,
    note: Annotated[Optional[str], typer.Option("--note", help="replace the notes")] = None,
    append_note: Annotated[Optional[str], typer.Option("--append-note", help="add a line to the notes")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Change a customer's details, tags or notes."""
    from carecli.records import customers

    with STATE.write() as conn:
        row = customers.resolve_customer(conn, ref)
        row = customers.edit_customer(
            conn,
            row,
            name=name,
            email=email,
            phone=phone,
            add_tags=tag or [],
            remove_tags=untag or [],
            notes=note,
            append_note=append_note,
        )
    message(f"updated customer #{row['id']} {row['name']}")
    show_customer(row, fmt)


def log(
    customer: Annotated[str, typer.Argument(help="customer id, email or name", shell_complete=completing.customers)],
    text: Annotated[str, typer.Argument(help="what was said or done")],
    direction: Annotated[
        str,
        typer.Option(
            "--direction",
            "-d",
            help="out (we contacted them), in (they contacted us) or note",
            shell_complete=completing.one_of("carecli.records.activity:DIRECTIONS"),
        ),
    ] = "out",
    channel: ChannelOpt = None,
    at: AtOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Log a contact that belongs to no ticket: a care call, a thank-you note, a visit."""
    from carecli.records import customers
    from carecli.records.activity import log_interaction

    when = STATE.happened(at)
    settings = STATE.settings
    with STATE.write() as conn:
        row = customers.resolve_customer(conn, customer)
        interaction = log_interaction(
            conn,
            customer_id=row["id"],
            direction=direction.strip().lower(),
            channel=settings.choose("channels", channel, "default_channel"),
            body=text,
            at=when,
        )
    message(f"logged {interaction['direction']} contact #{interaction['id']} with {row['name']}")
    emit_record(
        dict(interaction),
        fmt,
        fields=[Column(k, kind="time" if k == "at" else "text") for k in interaction.keys()],
        tz=settings.tz,
    )


@app.command("merge")
def merge(
    source: Annotated[
        str, typer.Argument(help="the duplicate customer: id, email or name", shell_complete=completing.customers)
    ],
    into: Annotated[
        str,
        typer.Option("--into", help="the customer that stays", show_default=False, shell_complete=completing.customers),
    ],
    fmt: FormatOpt = "table",
) -> None:
    """Merge a duplicate customer into another: tickets, messages, surveys and follow-ups move;
    the duplicate's e-mail and phone become extra addresses of the target."""
    from carecli.core import undolog
    from carecli.records import customers, merging

    with undolog.unchecked_references(STATE.conn), STATE.write() as conn:
        gone = customers.resolve_customer(conn, source)
        target = customers.resolve_customer(conn, into)
        moved = merging.merge_customers(conn, gone, target, at=STATE.now)
        row = customers.get_customer(conn, target["id"])
    message(f"merged customer #{gone['id']} {gone['name']} into #{row['id']} {row['name']} ({moved} ticket(s) moved)")
    show_customer(row, fmt)


@app.command("delete")
def delete(
    ref: Annotated[str, typer.Argument(help="customer id, email or name", shell_complete=completing.customers)],
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
    """Move a customer, with all their tickets, messages, surveys and follow-ups, to the trash."""
    from carecli.cli.undo import delete_record
    from carecli.records import customers

    row = customers.resolve_customer(STATE.conn, ref)
    delete_record(
        "customer",
        row,
        label=row["name"],
        who=row["name"],
        customer_id=row["id"],
        ticket_id=None,
        reason=reason,
        yes=yes,
    )


@app.command("restore")
def restore(
    customer_id: Annotated[int, typer.Argument(help="the customer's id (`carecli trash`)", parser=record_id)],
) -> None:
    """Bring a customer back from the trash with everything that went with them."""
    from carecli.cli.undo import restore_record

    restore_record("customer", customer_id)


@app.command("opt-out")
def opt_out(ref: Annotated[str, typer.Argument(help="customer id, email or name")]) -> None:
    """No more care mail (tips, check-ins, surveys, nudges) to this customer; replies still go."""
    from carecli.records import consent, customers

    with STATE.write() as conn:
        row = customers.resolve_customer(conn, ref)
        changed = consent.opt_out(conn, row["id"], at=STATE.now, how="by hand")
    message(f"{row['name']} gets no more care mail" if changed else f"{row['name']} had opted out of care mail already")


@app.command("opt-in")
def opt_in(ref: Annotated[str, typer.Argument(help="customer id, email or name")]) -> None:
    """Care mail may go to this customer again (they asked for it)."""
    from carecli.records import consent, customers

    with STATE.write() as conn:
        row = customers.resolve_customer(conn, ref)
        consent.opt_in(conn, row["id"], at=STATE.now, how="by hand")
    message(f"care mail may go to {row['name']} again")
