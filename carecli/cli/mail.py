"""`carecli mail ...`: customer e-mail in, from a pipe (procmail, getmail, .forward) or from disk."""

from __future__ import annotations

import errno
import sqlite3
import sys
from typing import Annotated, List, Optional

import typer

from carecli.cli import completing
from carecli.cli.options import FormatOpt, LimitOpt, SinceOpt, check_path, record_id
from carecli.cli.output import Column, emit_rows, message
from carecli.cli.state import STATE
from carecli.core.errors import EXIT_DATAERR, EXIT_TEMPFAIL, InvalidInput, TemporaryStoreError

app = typer.Typer(no_args_is_help=True)

FILING_COLUMNS = [
    Column("status"),
    Column("direction", "dir"),
    Column("at", kind="time"),
    Column("sender"),
    Column("subject"),
    Column("ticket_id", "ticket", "int"),
    Column("new_ticket", "new", "bool"),
    Column("reason"),
    Column("message_id", "message id"),
]
LOG_COLUMNS = [
    Column("id", kind="int"),
    Column("received_at", "received", "time"),
    Column("sent_at", "sent", "time"),
    Column("status"),
    Column("direction", "dir"),
    Column("sender"),
    Column("subject"),
    Column("ticket_id", "ticket", "int"),
    Column("reason"),
    Column("message_id", "message id"),
]
MAIL_STATUSES = ("filed", "skipped", "quarantined")


def _check_status(value: str | None) -> str | None:
    if value is not None and value not in MAIL_STATUSES:
        raise typer.BadParameter(f"'{value}' is not one of {', '.join(MAIL_STATUSES)}")
    return value


@app.command("ingest")
def ingest(
    paths: Annotated[
        List[str],
        typer.Argument(
            help="- for one message on stdin; or Maildirs, mbox files, .eml files, folders of them",
            callback=lambda values: [check_path(v) for v in values],
            show_default=False,
        ),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print what would be filed where; change nothing")] = False,
    archive: Annotated[
        bool,
        typer.Option(
            "--archive",
            help="a back-fill of old mail: threads whose last message is older than [mail] archive_close_after"
            " are filed as closed; no check-ins are scheduled",
        ),
    ] = False,
    fmt: FormatOpt = "table",
) -> None:
    """File e-mail as tickets and interactions, threaded onto the right ticket; idempotent.

    With - (for procmail, maildrop, getmail, .forward) it exits 0 when the message was filed or
    skipped on purpose, 65 when it cannot be parsed (it is kept in the quarantine folder beside the
    database), 75 when the mail system should try again (database busy, disk full).

    With --archive (old mail, e.g. a mailbox from before carecli), messages keep their own times,
    threads whose last message is older than [mail] archive_close_after (30d) are closed at that
    message's time, and no after-close check-in is scheduled.
    """
    try:
        if paths == ["-"]:
            _ingest_stdin(dry_run, fmt, archive)
        else:
            if "-" in paths:
                raise InvalidInput("- (stdin) cannot be mixed with paths", "ingest stdin in a command of its own")
            _ingest_paths(paths, dry_run, fmt, archive)
    except TemporaryStoreError as exc:
        _try_later(str(exc))
    except sqlite3.OperationalError as exc:
        from carecli.core.store import store_error

        error = store_error(exc, STATE.db_file)
        if not isinstance(error, TemporaryStoreError):
            raise
        _try_later(str(error))
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        _try_later(f"the disk is full ({exc.filename or 'writing'})")


def _try_later(text: str) -> None:
    message(f"error: {text}; the mail system should try again later")
    raise typer.Exit(EXIT_TEMPFAIL)


PIPE_WRITE_WAIT_S = 60.0


def _ingest_stdin(dry_run: bool, fmt: str, archive: bool = False) -> None:
    from carecli.mail import ingest as mail_ingest
    from carecli.mail.quarantine import folder_for

    raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    if not raw.strip():
        raise InvalidInput("no message on stdin", "pipe one RFC 5322 message in: carecli mail ingest - < message.eml")
    conn, settings = STATE.conn, STATE.settings
    # A mail system retries a message that exits 75 later, and some stop a delivery command that
    # runs too long: waiting for an import's write lock a minute, not 10, and then retrying is kinder.
    from carecli.core.store import Connection

    if isinstance(conn, Connection):
        conn.write_wait_s = min(conn.write_wait_s, PIPE_WRITE_WAIT_S)
    _record_each_message(conn)
    filing = mail_ingest.ingest_bytes(
        conn,
        settings,
        raw,
        received=STATE.now,
        quarantine_dir=folder_for(STATE.db_file),
        dry_run=dry_run,
        archive=STATE.now if archive else None,
    )
    if dry_run:
        emit_rows([filing.as_row()], FILING_COLUMNS, fmt, tz=settings.tz)
    if filing.status == "quarantined":
        message(f"error: cannot parse the message: {filing.reason}")
        raise typer.Exit(EXIT_DATAERR)
    if not dry_run:
        message(_summary_line(filing))


def _summary_line(filing) -> str:
    if filing.status == "filed":
        where = f"new ticket #{filing.ticket_id}" if filing.new_ticket else f"ticket #{filing.ticket_id}"
        return f"filed on {where} ({filing.reason})"
    return f"{filing.status}: {filing.reason}"


def _ingest_paths(paths: list[str], dry_run: bool, fmt: str, archive: bool = False) -> None:
    from carecli.cli.progress import Progress
    from carecli.mail import ingest as mail_ingest
    from carecli.mail.quarantine import folder_for
    from carecli.mail.sources import collect

    conn, settings = STATE.conn, STATE.settings
    _record_each_message(conn)
    progress = Progress("ingesting mail", None)

    def set_total(count: int) -> None:
        progress.total = count

    try:
        filings = mail_ingest.ingest_sources(
            conn,
            settings,
            collect(paths),
            quarantine_dir=folder_for(STATE.db_file),
            dry_run=dry_run,
            progress=progress.advance,
            total=set_total,
            archive=STATE.now if archive else None,
        )
    finally:
        progress.done()
    if dry_run:
        emit_rows([f.as_row() for f in filings], FILING_COLUMNS, fmt, tz=settings.tz, empty="no messages found")
    message(_counts_line(filings, dry_run, "messages", archive=archive))


def _counts_line(filings, dry_run: bool, what: str, *, archive: bool = False) -> str:
    counts = dict.fromkeys(("filed", "skipped", "quarantined", "known"), 0)
    for filing in filings:
        counts[filing.status] += 1
    would = "would be " if dry_run else ""
    return (
        f"{len(filings)} {what}: {counts['filed']} {would}filed, {counts['skipped']} {would}skipped, "
        f"{counts['quarantined']} {would}quarantined, {counts['known']} seen before"
        + (f"; {sum(f.closed_as_archive for f in filings)} threads {would}closed (archive)" if archive else "")
    )


@app.command("log")
def log(
    status: Annotated[
        Optional[str],
        typer.Option(
            "--status",
            "-s",
            help="filed, skipped or quarantined",
            callback=_check_status,
            shell_complete=completing.one_of(MAIL_STATUSES),
        ),
    ] = None,
    since: SinceOpt = None,
    limit: LimitOpt = 50,
    fmt: FormatOpt = "table",
) -> None:
    """Messages seen, newest first: filed where, skipped or quarantined, and why."""
    from carecli.mail import intake

    conn, settings = STATE.conn, STATE.settings
    start = STATE.when(since, option="--since") if since else None
    rows = intake.log(conn, status=status, since=start, limit=limit or None)
    emit_rows(rows, LOG_COLUMNS, fmt, tz=settings.tz, empty="no mail seen yet")


@app.command("fetch")
def fetch(
    folders: Annotated[
        Optional[List[str]],
        typer.Option("--folder", "-f", help="read this folder (repeatable); default: [mail.imap] folders"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print what would be filed where; change nothing")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Fetch new mail over IMAP ([mail.imap]) and file it as `mail ingest` does; read-only.

    Never marks, moves or deletes a message. Each run asks only for messages after the last one
    filed in each folder; a changed UIDVALIDITY reads the folder again (nothing is filed twice).
    Exits 75 when the server cannot be reached or drops the connection: run it again later.
    """
    from carecli.cli.progress import Progress
    from carecli.mail import imap, servers
    from carecli.mail.quarantine import folder_for

    conn, settings = STATE.conn, STATE.settings
    _record_each_message(conn)
    account = imap.account(settings)
    client = imap.connect(account, servers.password("mail.imap.password_cmd", account.password_cmd))
    progress = Progress("fetching mail", None)

    def set_total(count: int) -> None:
        progress.total = count

    try:
        fetched = imap.fetch(
            conn,
            settings,
            account,
            client,
            quarantine_dir=folder_for(STATE.db_file),
            folders=folders or None,
            dry_run=dry_run,
            progress=progress.advance,
            total=set_total,
            now=STATE.now,
        )
    finally:
        progress.done()
        imap.close(client)
    for folder in fetched.reread:
        message(f"{folder}: the server's UIDVALIDITY changed, so the folder was read again")
    filings = fetched.filings
    if dry_run:
        emit_rows([f.as_row() for f in filings], FILING_COLUMNS, fmt, tz=settings.tz, empty="no new messages")
    message(_counts_line(filings, dry_run, "messages fetched"))


@app.command("text")
def text(
    message_id: Annotated[int, typer.Argument(help="the message's id in mail log", parser=record_id)],
) -> None:
    """A filed message's whole text, the quoted history its ticket does not show included."""
    from carecli.cli.output import emit_text
    from carecli.mail import intake

    emit_text(intake.full_text(STATE.conn, message_id).split("\n"))


def _record_each_message(conn) -> None:
    """Each message filed is one step of the undo log (mail files one transaction per message)."""
    from carecli.core import undolog
    from carecli.text.clock import to_db

    undolog.arm(conn, STATE.argv, to_db(STATE.now))
