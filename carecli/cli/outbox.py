"""`carecli outbox ...`: the mail carecli sends, and `outbox send` for cron."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from carecli.cli import completing
from carecli.cli.options import FormatOpt, LimitOpt, record_id
from carecli.cli.output import columns_of, counted, emit_record, emit_rows, message, visible
from carecli.cli.state import STATE
from carecli.core.errors import EXIT_ERROR, EXIT_TEMPFAIL, InvalidInput

app = typer.Typer(no_args_is_help=True)

OUTBOX_COLUMNS = columns_of(
    "outbox",
    "id",
    "state",
    "kind",
    "ticket_id",
    "customer_id",
    "customer_name",
    "recipient",
    "subject",
    "due_at",
    "attempts",
    "sent_at",
    "server_reply",
    "last_error",
    "cancelled_why",
    "rule",
    "message_id",
    "created_at",
)
TABLE_KEYS = ("id", "state", "ticket_id", "customer_name", "subject", "due_at", "sent_at")
TABLE_COLUMNS = [c for c in OUTBOX_COLUMNS if c.key in TABLE_KEYS]
STATES = ("queued", "sending", "sent", "failed", "cancelled")

OutboxId = Annotated[int, typer.Argument(help="the message's id (outbox list)", parser=record_id)]


@app.command("list")
def list_(
    state: Annotated[
        Optional[List[str]],
        typer.Option(
            "--state",
            "-s",
            help=f"only these states ({', '.join(STATES)}); repeatable [default: all]",
            shell_complete=completing.one_of(STATES),
        ),
    ] = None,
    limit: LimitOpt = 50,
    fmt: FormatOpt = "table",
) -> None:
    """Every message carecli queued, newest first: queued, sending (fate unknown), sent, failed, cancelled."""
    from carecli.mail import outbox

    chosen = tuple(state or STATES)
    unknown = [s for s in chosen if s not in STATES]
    if unknown:
        raise InvalidInput(f"unknown --state {unknown[0]!r}", f"use one of: {', '.join(STATES)}")
    rows = outbox.listing(STATE.conn, states=chosen, limit=limit or None)
    emit_rows(
        rows,
        TABLE_COLUMNS if fmt == "table" else OUTBOX_COLUMNS,
        fmt,
        tz=STATE.settings.tz,
        empty="the outbox is empty" if state is None else "no message in the outbox is " + " or ".join(chosen),
    )


@app.command("show")
def show(outbox_id: OutboxId, fmt: FormatOpt = "table") -> None:
    """One message: its fate, and (on a terminal or in text) the message as it goes out."""
    from carecli.mail import outbox

    row = outbox.get(STATE.conn, outbox_id)
    _show(row, fmt)
    if fmt == "table":
        raw = STATE.conn.execute("SELECT raw FROM outbox WHERE id = ?", (outbox_id,)).fetchone()[0]
        print()
        print(visible(raw.replace("\r\n", "\n"), multiline=True))


@app.command("send")
def send(
    retry_unknown: Annotated[
        bool,
        typer.Option(
            "--retry-unknown",
            help="also resend messages whose fate is unknown (the server may have taken them: a customer may get one twice)",
        ),
    ] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="send at most N messages (0 = all due)")] = 0,
) -> None:
    """Send what is due, over one connection (for cron: exit 0 all sent, 75 server away, 1 a failure).

    A message is never sent twice on its own: one whose answer was lost (a crash, a connection
    that broke after the whole message went out) stays `sending` until `--retry-unknown`."""
    from carecli.mail import outbox, transport

    settings = STATE.settings
    result = outbox.send_due(
        STATE.conn,
        settings,
        lambda: transport.open_transport(settings),
        retry_unknown=retry_unknown,
        limit=limit or None,
    )
    done = [f"sent {len(result.sent)}"]
    if result.deferred:
        done.append(f"{len(result.deferred)} to try again later")
    if result.failed:
        done.append(f"{len(result.failed)} failed")
    if result.unknown:
        done.append(f"{len(result.unknown)} of unknown fate")
    if result.sent or result.deferred or result.failed or result.unknown:
        message(", ".join(done))
    elif not result.stuck:
        message("nothing due in the outbox")
    if result.stopped:
        message(f"stopped: {result.stopped}")
    if result.failed:
        message("failed: " + ", ".join(str(i) for i in result.failed) + " (carecli outbox show ID says why)")
    stuck = result.stuck + len(result.unknown)
    if stuck:
        message(
            f"warning: {counted(stuck, 'message')} of unknown fate (maybe delivered): "
            "carecli outbox list --state sending; `outbox send --retry-unknown` resends them"
        )
    if result.failed or result.unknown or result.stuck:
        raise typer.Exit(EXIT_ERROR)
    if result.stopped:
        raise typer.Exit(EXIT_TEMPFAIL)


@app.command("cancel")
def cancel(outbox_id: OutboxId, fmt: FormatOpt = "table") -> None:
    """Cancel a queued (or failed) message; `carecli undo` puts it back."""
    from carecli.mail import outbox

    with STATE.write() as conn:
        row = outbox.cancel(conn, outbox_id, why="cancelled by hand")
    message(f"cancelled message {outbox_id} to {row['recipient']}: {row['subject']}")
    _show(row, fmt)


@app.command("retry")
def retry(
    outbox_id: OutboxId,
    unknown: Annotated[
        bool, typer.Option("--unknown", help="also a message of unknown fate (it may have been delivered)")
    ] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Make a failed message due now (`outbox send` then sends it)."""
    from carecli.mail import outbox

    with STATE.write() as conn:
        row = outbox.retry(conn, outbox_id, at=STATE.now, unknown=unknown)
    message(f"message {outbox_id} to {row['recipient']} is due again: carecli outbox send")
    _show(row, fmt)


def _show(row, fmt: str) -> None:
    emit_record(dict(row), fmt, fields=OUTBOX_COLUMNS, tz=STATE.settings.tz, title=f"Message {row['id']}")
