"""`carecli template list|show|render`: the mail templates, and exactly what one would send."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from carecli.cli import completing
from carecli.cli.options import FormatOpt, record_id
from carecli.cli.output import columns_of, emit_record, emit_rows, visible
from carecli.cli.state import STATE

app = typer.Typer(no_args_is_help=True)

TEMPLATE_COLUMNS = columns_of("templates")
NameArg = Annotated[str, typer.Argument(help="the template's name (carecli template list)")]


@app.command("list")
def list_(fmt: FormatOpt = "table") -> None:
    """The templates: yours (templates/ beside the config file) and the starter ones carecli ships."""
    from carecli.mail import templates

    emit_rows(templates.available(STATE.settings), TEMPLATE_COLUMNS, fmt, empty="no templates")


@app.command("show")
def show(name: NameArg) -> None:
    """A template as written, placeholders and all."""
    from carecli.mail import templates

    typer.echo(visible(templates.source_text(STATE.settings, name.strip()), multiline=True), nl=False)


@app.command("render")
def render(
    name: NameArg,
    ticket: Annotated[
        Optional[int],
        typer.Option("--ticket", "-t", help="for this ticket", parser=record_id, shell_complete=completing.tickets),
    ] = None,
    customer: Annotated[
        Optional[str],
        typer.Option(
            "--customer", "-c", help="for this customer (id, email or name)", shell_complete=completing.customers
        ),
    ] = None,
    followup: Annotated[
        Optional[int],
        typer.Option("--followup", help="for this follow-up", parser=record_id, shell_complete=completing.followups),
    ] = None,
    text: Annotated[
        Optional[str], typer.Option("--text", help="the free text the template places ({{ text }})")
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Exactly what the template would send (Subject line, blank line, body); nothing is queued."""
    from carecli.mail import templates
    from carecli.records import customers

    conn = STATE.conn
    customer_id = customers.resolve_customer(conn, customer)["id"] if customer else None
    rendered = templates.render(
        conn, STATE.settings, name.strip(), ticket_id=ticket, customer_id=customer_id, followup_id=followup, text=text
    )
    if fmt != "table":
        emit_record({"name": rendered.name, "subject": rendered.subject, "body": rendered.body}, fmt)
        return
    typer.echo(visible(f"Subject: {rendered.subject}\n\n{rendered.body}", multiline=True), nl=False)
