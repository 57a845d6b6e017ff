"""`carecli init` and the `carecli db ...` group: the database itself."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from carecli.cli.options import FormatOpt, check_path
from carecli.cli.output import counted, emit_record, message
from carecli.cli.state import STATE
from carecli.core.errors import CareError

app = typer.Typer(no_args_is_help=True)


def init() -> None:
    """Create the database (safe to run again) and print its path."""
    STATE.open(create=True)  # creates it, or applies any due migrations to an existing one
    message("database ready")
    print(STATE.db_file)


@app.command("backup")
def backup(
    path: Annotated[
        Optional[str],
        typer.Argument(
            help="where to write it [default: a dated file next to the database]",
            callback=check_path,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Copy the database safely, even while another carecli writes (SQLite online backup, mode 0600)."""
    from carecli.core.files import attachments_folder
    from carecli.data import maintenance

    target = path or maintenance.default_backup_path(STATE.db_file, STATE.now)
    written = maintenance.backup(STATE.conn, target)
    files = f" and {counted(written.attachments, 'attachment')}" if written.attachments else ""
    message(f"backed up {STATE.db_file}{files}")
    if written.missing:
        message(
            f"warning: {counted(written.missing, 'attachment file')} named in the database "
            f"{'was' if written.missing == 1 else 'were'} not in {attachments_folder(STATE.db_file)}; "
            "`carecli db check` lists them"
        )
    print(written.path)


@app.command("check")
def check() -> None:
    """Check integrity, foreign keys and migrations; exit 1 if anything is wrong."""
    from carecli.core import store
    from carecli.core.errors import DamagedDatabase
    from carecli.data import maintenance
    from carecli.schema.database import connect

    try:
        conn = connect(STATE.db_file, migrate=False)
    except DamagedDatabase:
        conn = store.open_connection(STATE.db_file)  # too damaged to open as usual: check what can be read
    try:
        problems = maintenance.check(conn)
    finally:
        conn.close()
    for problem in problems:
        print(problem)
    if problems:
        raise CareError(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {STATE.db_file}",
            "restore a backup (carecli db backup makes them)"
            + (" or run `carecli db migrate`" if any(p.startswith("migrations not applied") for p in problems) else ""),
        )
    message("database ok")


@app.command("info")
def info(fmt: FormatOpt = "table") -> None:
    """Path, size, schema version and row counts."""
    from carecli.data import maintenance
    from carecli.schema.database import connect

    conn = connect(STATE.db_file, migrate=False)
    try:
        facts = maintenance.info(conn, STATE.db_file)
    finally:
        conn.close()
    if fmt == "table":
        rows = facts.pop("rows")
        facts["migrations_pending"] = ", ".join(facts["migrations_pending"]) or "none"
        facts.update({f"{table} rows": count for table, count in rows.items()})
    emit_record(facts, fmt, title="Database")


@app.command("migrate")
def migrate() -> None:
    """Apply pending schema migrations, after a backup when the database holds data."""
    from carecli.schema.database import apply_migrations, connect, pending_migrations

    conn = connect(STATE.db_file, migrate=False)
    try:
        pending = pending_migrations(conn)
        if not pending:
            message("schema up to date")
            return
        applied = apply_migrations(conn, before=STATE.backup_before_migration)
    finally:
        conn.close()
    message(f"applied {', '.join(applied)}")


@app.command("refresh")
def refresh() -> None:
    """Recompute the stored business-time durations now, as after a [business_hours] change.

    Writes do this by themselves a batch at a time, and reads are right meanwhile (only slower);
    this does it all at once, in short transactions, so other carecli commands go on."""
    from carecli.measure import clocks
    from carecli.schema.database import connect

    hours = clocks.BusinessHours.from_settings(STATE.settings)
    conn = connect(STATE.db_file, before_migration=STATE.backup_before_migration)
    try:
        done = clocks.recompute_all(conn, hours)
    finally:
        conn.close()
    message(f"business times up to date ({done} ticket{'' if done == 1 else 's'} computed)")
