"""`carecli attachment ...`: the files customers mailed, as listed on their tickets."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from carecli.cli import completing
from carecli.cli.options import FormatOpt, LimitOpt, check_path, record_id
from carecli.cli.output import columns_of, emit_rows, is_terminal, message
from carecli.cli.state import STATE
from carecli.core.errors import InvalidInput

app = typer.Typer(no_args_is_help=True)

ATTACHMENT_COLUMNS = columns_of(
    "attachments", "id", "ticket_id", "name", "content_type", "size", "stored", "sent_at", "sender", "sha256"
)
# What fits on a screen; machine formats get every column. Also the section of `ticket show`.
TABLE_COLUMNS = [
    c for c in ATTACHMENT_COLUMNS if c.key in ("id", "ticket_id", "name", "content_type", "size", "stored")
]


@app.command("list")
def list_(
    ticket: Annotated[
        Optional[int],
        typer.Option(
            "--ticket", "-t", help="only this ticket's attachments", parser=record_id, shell_complete=completing.tickets
        ),
    ] = None,
    limit: LimitOpt = 50,
    fmt: FormatOpt = "table",
) -> None:
    """Attachments of filed mail, newest first (a ticket's in the order they came)."""
    from carecli.mail import attachments

    rows = attachments.listing(STATE.conn, ticket_id=ticket, limit=limit or None)
    emit_rows(
        rows,
        TABLE_COLUMNS if fmt == "table" else ATTACHMENT_COLUMNS,
        fmt,
        tz=STATE.settings.tz,
        empty="no attachments" + (f" on ticket #{ticket}" if ticket is not None else ""),
    )


@app.command("save")
def save(
    attachment_id: Annotated[
        int, typer.Argument(help="attachment id (attachment list, ticket show)", parser=record_id)
    ],
    path: Annotated[
        Optional[str],
        typer.Argument(
            help="a file, a folder (the attachment's own name in it), or - for stdout; default: the current folder",
            callback=check_path,
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite a file that exists")] = False,
) -> None:
    """Write an attachment to a file; its name, when taken from the mail, is made safe first."""
    from carecli.mail import attachments

    row = attachments.get(STATE.conn, attachment_id)
    data = attachments.data_of(attachments.folder_for(STATE.db_file), row)
    if path == "-":
        if is_terminal(sys.stdout):
            raise InvalidInput(
                "will not write an attachment to a terminal",
                f"redirect it: carecli attachment save {attachment_id} - > FILE",
            )
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(path or ".")
    if target.is_dir():
        target = target / attachments.download_name(row)
    attachments.save(data, target, force=force)
    message(f"saved attachment #{attachment_id} ({row['size']} bytes) to {target}")
