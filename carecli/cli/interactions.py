"""`carecli interaction ...`: correct one message: move it, edit it."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from carecli.cli import completing
from carecli.cli.options import AtOpt, ChannelOpt, FormatOpt, record_id
from carecli.cli.output import columns_of, emit_record, message
from carecli.cli.state import STATE

app = typer.Typer(no_args_is_help=True)

InteractionId = Annotated[int, typer.Argument(help="interaction id (`ticket show N` lists them)", parser=record_id)]
INTERACTION_COLUMNS = columns_of(
    "interactions", "id", "at", "customer_id", "ticket_id", "direction", "channel", "body", "followup_id"
)


def _show(row, fmt: str) -> None:
    emit_record(dict(row), fmt, fields=INTERACTION_COLUMNS, tz=STATE.settings.tz, title=f"Interaction #{row['id']}")


def _where(conn, row) -> str:
    """'#5, Tom Baker: Invoice for order 1042' or 'Tom Baker' for a message without a ticket."""
    from carecli.records import customers, tickets

    if row["ticket_id"] is None:
        return customers.get_customer(conn, row["customer_id"])["name"]
    ticket = tickets.get_ticket(conn, row["ticket_id"])
    return f"#{ticket['id']}, {ticket['customer_name']}: {ticket['subject']}"


@app.command("move")
def move(
    interaction_id: InteractionId,
    to_ticket: Annotated[
        Optional[int],
        typer.Option(
            "--to-ticket", help="the ticket it belongs on", parser=record_id, shell_complete=completing.tickets
        ),
    ] = None,
    to_customer: Annotated[
        Optional[str],
        typer.Option(
            "--to-customer", help="the customer it belongs to (on no ticket)", shell_complete=completing.customers
        ),
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Move a message logged on the wrong ticket or customer; both tickets' first response and
    reply count are derived again."""
    from carecli.core.errors import InvalidInput
    from carecli.records import customers, merging, tickets

    if (to_ticket is None) == (to_customer is None):
        raise InvalidInput("say where it goes", "pass one of --to-ticket N or --to-customer REF")
    with STATE.write() as conn:
        row = merging.get_interaction(conn, interaction_id)
        ticket = tickets.get_ticket(conn, to_ticket) if to_ticket is not None else None
        customer_id = customers.resolve_customer(conn, to_customer)["id"] if to_customer is not None else None
        row = merging.move_interaction(conn, row, ticket=ticket, customer_id=customer_id, at=STATE.now)
        where = _where(conn, row)
    message(f"moved interaction #{row['id']} to {where}")
    _show(row, fmt)


@app.command("edit")
def edit(
    interaction_id: InteractionId,
    text: Annotated[Optional[str], typer.Option("--text", help="the corrected text")] = None,
    channel: ChannelOpt = None,
    at: AtOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Correct a message's text, channel or time (checked as when it was logged)."""
    from carecli.records import merging

    when = STATE.happened(at) if at is not None else None
    with STATE.write() as conn:
        row = merging.get_interaction(conn, interaction_id)
        row = merging.edit_interaction(conn, STATE.settings, row, text=text, channel=channel, when=when, at=STATE.now)
        where = _where(conn, row)
    message(f"edited interaction #{row['id']} on {where}")
    _show(row, fmt)
