"""`carecli export`, `carecli import` and `carecli search`: data in and out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from carecli.cli import completing
from carecli.cli.options import (
    CategoryOpt,
    ChannelOpt,
    FormatOpt,
    PriorityOpt,
    RawOpt,
    SinceOpt,
    UntilOpt,
    check_path,
)
from carecli.cli.output import counted, message
from carecli.cli.progress import Progress
from carecli.cli.state import STATE

EXPORT_ENTITIES = ("customers", "tickets", "interactions", "followups", "surveys", "events")
IMPORT_ENTITIES = ("customers", "tickets", "interactions", "orders")


def _check_choice(values, what: str):
    def check(value: str | None) -> str | None:
        if value is not None and value not in values:
            raise typer.BadParameter(f"'{value}' is not one of {', '.join(values)}")
        return value

    return check


CustomerFilterOpt = Annotated[
    Optional[str],
    typer.Option("--customer", help="only this customer (id, email or name)", shell_complete=completing.customers),
]


# ---------------------------------------------------------------- export


def export(
    what: Annotated[
        str,
        typer.Argument(
            help="customers, tickets, interactions, followups, surveys or events",
            shell_complete=completing.one_of(EXPORT_ENTITIES),
            callback=_check_choice(EXPORT_ENTITIES, "table"),
            show_default=False,
        ),
    ],
    since: SinceOpt = None,
    until: UntilOpt = None,
    customer: CustomerFilterOpt = None,
    status: Annotated[
        Optional[str],
        typer.Option(
            "--status",
            "-s",
            help="tickets/follow-ups: a status or a comma list",
            shell_complete=completing.one_of(
                "carecli.records.tickets:STATUSES",
                "carecli.records.followups:STATUSES",
                extra=("active", "all"),
                comma_list=True,
            ),
        ),
    ] = None,
    channel: ChannelOpt = None,
    category: CategoryOpt = None,
    priority: PriorityOpt = None,
    tag: Annotated[Optional[str], typer.Option("--tag", "-t", help="customers/tickets: only with this tag")] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="csv, json or jsonl",
            shell_complete=completing.one_of(("csv", "json", "jsonl")),
            callback=_check_choice(("csv", "json", "jsonl"), "format"),
        ),
    ] = "csv",
    output: Annotated[
        Optional[str],
        typer.Option(
            "--output", "-o", help="write to this file (atomically, mode 0600) instead of stdout", callback=check_path
        ),
    ] = None,
    raw: RawOpt = False,
) -> None:
    """Stream a whole table as CSV, JSON or JSON Lines, in a stable documented column order.

    CSV cells of free text that start with = + - @, tab or CR get a leading ' so spreadsheets do not
    run them as formulas; --raw turns that off.
    """
    from carecli.data import exporting
    from carecli.records.customers import normalize_tags

    conn, settings = STATE.conn, STATE.settings
    filters = exporting.ExportFilter(
        since=(start := STATE.when(since, option="--since") if since else None),
        until=STATE.until(until, since=start) if until else None,
        customer_id=_customer_id(conn, customer),
        status=tuple(s.strip().lower() for s in status.split(",") if s.strip()) if status else None,
        channel=settings.choose("channels", channel) if channel else None,
        category=settings.choose("categories", category) if category else None,
        priority=settings.choose("priorities", priority) if priority else None,
        tag=normalize_tags([tag]) if tag else None,
    )
    if output is None or output == "-":
        _export_to(sys.stdout, conn, what, fmt, filters, raw)
        return
    from carecli.core.files import Output, writing

    # Opened and checked before anything is computed (or, with business hours, written).
    with writing(Output(output)) as stream:
        written = _export_to(stream, conn, what, fmt, filters, raw)
    message(f"exported {counted(written, what.removesuffix('s'), what)} to {output}")


def _export_to(stream, conn, what: str, fmt: str, filters, raw: bool) -> int:
    from carecli.data import exporting

    computed, params = _ticket_figures(conn, STATE.settings) if what == "tickets" else (None, None)
    chunks = exporting.export_chunks(conn, what, fmt, filters, raw=raw, computed=computed, params=params)
    progress = Progress(f"exporting {what}", None)
    if progress.active:
        progress.total = exporting.count(conn, what, filters)
    return _write_chunks(chunks, stream, progress)


def _ticket_figures(conn, settings) -> tuple[dict[str, str], dict[str, str | int]]:
    """The SQL of the fields that depend on settings and on the business-time cache (`sla_breached`
    now; business durations the cache lacks), and the named parameters they bind. Reads only."""
    from datetime import timedelta

    from carecli.measure import clocks, sla
    from carecli.measure.periods import Period
    from carecli.text.clock import from_db

    now = STATE.now
    first = conn.execute("SELECT MIN(created_at) FROM tickets").fetchone()[0]
    # The whole history, as `kpi` would see it; with no ticket yet, still the offsets the SLA SQL reads.
    history = Period(from_db(first), now + timedelta(seconds=1)) if first is not None else None
    stale = clocks.prepare(conn, settings, now=now, period=history)
    breached, params = sla.breached_by(settings, now=now, stale=stale)
    computed = {"sla_breached": breached}
    if stale is not None:  # business durations the cache lacks, computed as the rows stream out
        computed.update({column: stale.value(column, "t") for column in clocks.COLUMNS})
    return computed, params


def _write_chunks(chunks, stream, progress: Progress) -> int:
    written = 0
    try:
        for text, rows in chunks:
            stream.write(text)
            written += rows
            progress.advance(rows)
    except BrokenPipeError:  # `carecli export tickets | head`: the reader has all it wants
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None
    finally:
        progress.done()
    return written


def _customer_id(conn, ref: str | None) -> int | None:
    if not ref:
        return None
    from carecli.records.customers import resolve_customer

    return resolve_customer(conn, ref)["id"]


# ---------------------------------------------------------------- import


class _DryRun(Exception):
    """Raised inside the transaction to roll it back after a dry run."""


def import_(
    what: Annotated[
        str,
        typer.Argument(
            help="customers, tickets, interactions or orders",
            shell_complete=completing.one_of(IMPORT_ENTITIES),
            callback=_check_choice(IMPORT_ENTITIES, "table"),
            show_default=False,
        ),
    ],
    file: Annotated[
        str, typer.Argument(help="CSV or JSONL file, or - for stdin", show_default=False, callback=check_path)
    ],
    mapping: Annotated[
        Optional[str],
        typer.Option("--map", "-m", help="mapping file (TOML, see docs/import-mapping.md)", callback=check_path),
    ] = None,
    preset: Annotated[
        Optional[str],
        typer.Option(
            "--preset",
            help="a built-in mapping: zendesk, freshdesk, kaggle (tickets), shopify, woocommerce (orders), carecli",
            shell_complete=completing.one_of("carecli.data.importing:preset_names"),
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="report what would be created, updated and rejected; write nothing")
    ] = False,
    on_duplicate: Annotated[
        str,
        typer.Option(
            "--on-duplicate",
            help="a row whose external id is already imported: skip, update or error",
            shell_complete=completing.one_of(("skip", "update", "error")),
            callback=_check_choice(("skip", "update", "error"), "mode"),
        ),
    ] = "skip",
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="import the good rows and write the bad ones to a reject file")
    ] = False,
    rejects: Annotated[
        Optional[str],
        typer.Option(
            "--rejects",
            help="reject file for --skip-bad, replaced if it exists [default: FILE.rejects.csv; for stdin ./rejects.csv, never replaced]",
            callback=check_path,
        ),
    ] = None,
    input_format: Annotated[
        Optional[str],
        typer.Option(
            "--input-format",
            help="csv or jsonl [default: from the file name]",
            shell_complete=completing.one_of(("csv", "jsonl")),
            callback=_check_choice(("csv", "jsonl"), "format"),
        ),
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Import rows from a CSV or JSONL file in one transaction: every row lands, or none does.

    Columns are mapped by --map and/or --preset; a file whose headers are carecli's own field
    names (name,email,phone,tags,notes for customers) needs neither. --dry-run makes every check
    the real run makes, so it fails where the real run would. Rows with an external id already imported are
    skipped (or updated, or an error) so importing the same file twice changes nothing.
    """
    from carecli.cli.output import emit_record
    from carecli.core.files import Output
    from carecli.data import importing

    settings = STATE.settings
    own_fields = mapping is None and preset is None  # known only once the header is read
    rules = None if own_fields else importing.load_mapping(what, path=mapping, preset=preset)
    label = "stdin" if file == "-" else file
    stream = importing.open_input(file)
    try:
        # Opened and checked before anything is written: once the rows are committed nothing may fail.
        # A dry run makes the same checks as the real run, so that it predicts it (issue 14).
        reject_path = _reject_path(file, rejects) if skip_bad else None
        reject_file = Output(reject_path, newline="") if reject_path is not None and not dry_run else None
    except BaseException:
        stream.close()
        raise
    progress = Progress(f"importing {what}", None)
    try:
        source_format = importing.guess_format(file, input_format)
        header, rows = importing.read_rows(stream, source_format)
        if rules is None:
            rules = importing.load_mapping(what, header=header)
        size = None if file == "-" else Path(file).stat().st_size
        # Opened once the mapping and the file are known good, so a mistake there creates nothing.
        # Importing into a new path makes the database; a dry run writes nothing, not even that.
        conn = STATE.open(create=not dry_run)
        bulk = importing.worth_bulk_loading(conn, what, size)
        aside = importing.parse_aside(what, source_format, file, on_duplicate, bulk=bulk)
        try:
            from carecli.text.clock import to_db

            step = (STATE.argv, to_db(STATE.now))
            with importing.import_transaction(
                conn, bulk=bulk, stage=progress.stage, step=step, tables=importing.bulk_tables(what)
            ):
                importer = importing.Importer(
                    conn,
                    settings,
                    what,
                    rules,
                    header if source_format == "csv" else None,
                    on_duplicate=on_duplicate,
                    now=STATE.now,
                    file_label=label,
                    progress=progress.advance,
                )
                report = importer.run(rows, path=file if aside else None)
                if report.rejected and not skip_bad:
                    raise _bad_rows(report, label)
                if what == "orders" and report.first_new_id is not None:
                    # The care plans act on imported orders as on one added by hand (a dry run too).
                    from carecli.records.plans import schedule_for_orders

                    schedule_for_orders(conn, report.first_new_id, now=STATE.now, settings=settings)
                if dry_run:
                    raise _DryRun()
                if reject_file is not None and report.rejected:
                    _write_rejects(reject_file, header, report, label)  # a full disk here rolls the rows back
        except _DryRun:
            pass
    except BaseException:
        if reject_file is not None:
            reject_file.discard()
        raise
    finally:
        progress.done()
        stream.close()
    if reject_file is not None:
        if report.rejected:
            reject_file.commit()  # written and synced already: only the rename is left
        else:
            reject_file.discard()
    for text, count in report.warnings.items():
        message(f"warning: {count} row{'s' if count != 1 else ''}: {text}")
    if report.rejected:
        _show_rejects(report, label, limit=10)
        if reject_file is not None:
            message(f"{counted(report.rejected, 'rejected row')} written to {reject_file.path}")
    verb = "would import" if dry_run else "imported"
    message(
        f"{verb} {counted(report.created, what.removesuffix('s'), what)}, updated {report.updated}, skipped {report.skipped} already imported, "
        f"rejected {report.rejected}"
        + (f"; {counted(report.customers_created, 'new customer')}" if report.customers_created else "")
        + ("; dry run, nothing written" if dry_run else "")
    )
    emit_record(report.as_record(), fmt, title="Import")


# Where the rejected rows of an import from stdin go when --rejects does not say.
STDIN_REJECTS = "rejects.csv"


def _reject_path(file: str, rejects: str | None) -> str:
    """Where the reject file of --skip-bad goes: --rejects PATH (replaced if it exists), else
    FILE.rejects.csv (an earlier run's, replaced), else for stdin ./rejects.csv, which may be
    anyone's file and so is never replaced."""
    import os

    from carecli.core.errors import InvalidInput

    if rejects is None and file == "-":
        if os.path.lexists(STDIN_REJECTS):
            raise InvalidInput(
                f"{STDIN_REJECTS} already exists; an import from stdin does not replace it",
                "pass --rejects PATH to say where the rejected rows go (a file given there is replaced)",
            )
        rejects = STDIN_REJECTS
    return rejects or f"{file}.rejects.csv"


def _write_rejects(reject_file, header, report, label: str) -> None:
    from carecli.core.files import write_error
    from carecli.data import importing

    try:
        importing.write_rejects(reject_file.stream, header, report.rejects, label)
    except OSError as exc:
        raise write_error(reject_file.path, exc) from None
    reject_file.sync()


def _show_rejects(report, label: str, limit: int) -> None:
    from carecli.data.importing import describe

    for row, exc in report.rejects[:limit]:
        message(describe(exc, row, label))
    if report.rejected > limit:
        message(f"... and {report.rejected - limit} more")


def _bad_rows(report, label: str):
    from carecli.core.errors import InvalidInput

    _show_rejects(report, label, limit=10)
    return InvalidInput(
        f"{report.rejected} bad row{'s' if report.rejected != 1 else ''} in {label}; nothing imported",
        "fix them, or pass --skip-bad to import the rest and write the bad ones to a reject file",
    )


# ---------------------------------------------------------------- search


def search(
    text: Annotated[
        str,
        typer.Argument(help='words to find: all must match; a OR b; a NOT b; "a phrase"; prefix*', show_default=False),
    ],
    customer: CustomerFilterOpt = None,
    since: SinceOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="show at most N results")] = 20,
    fmt: FormatOpt = "table",
    raw: RawOpt = False,
) -> None:
    """Full-text search over ticket subjects, messages and notes, customer names and notes; best first.

    Every word must match (`roses vase`). OR and NOT, written in capitals between words, join or
    exclude: `tulips OR wreath`, `roses NOT wreath`. "Quoted words" match as a phrase, in order;
    `vas*` matches words starting with "vas". English words match their other forms (`rose`
    finds "roses", `deliver` finds "delivered"), and accents and case never matter (`cafe`
    finds "Café"). Any other character is only a character, never syntax.
    """
    from carecli.cli.output import MARKS, Column, emit_rows, use_rich
    from carecli.data import searching

    conn = STATE.conn
    on_terminal = fmt == "table" and use_rich(sys.stdout)
    results = searching.search(
        conn,
        text,
        customer_id=_customer_id(conn, customer),
        since=STATE.when(since, option="--since") if since else None,
        limit=limit,
        highlight=MARKS if on_terminal else ("", ""),
    )
    columns = [
        Column("kind"),
        Column("ref", kind="text"),
        Column("customer_name", "customer"),
        Column("at", kind="time"),
        Column("snippet", "match", kind="match"),
        Column("customer_id", "customer id", kind="int"),
        Column("ticket_id", "ticket", kind="int"),
        Column("rank", kind="number"),
    ]
    if fmt == "table":
        columns = [c for c in columns if c.key not in ("customer_id", "ticket_id", "rank")]
    emit_rows(results, columns, fmt, tz=STATE.settings.tz, empty=f"nothing matches '{text}'", raw=raw)
