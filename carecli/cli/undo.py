"""`carecli undo` and `carecli trash`: parse, call records/undo.py and records/trash.py, render."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from carecli.cli.options import FormatOpt, LimitOpt, YesOpt, record_id
from carecli.cli.output import columns_of, emit_rows, message
from carecli.cli.state import STATE

UNDO_COLUMNS = columns_of("undo_steps")
TRASH_COLUMNS = columns_of("trash")


def confirm(question: str, yes: bool) -> None:
    """Ask on a terminal; off one, refuse and name --yes (a script must say it means it)."""
    if yes:
        return
    from carecli.core.errors import InvalidInput

    if not sys.stdin.isatty():
        raise InvalidInput("this asks for confirmation", "pass --yes to go ahead without asking")
    typer.confirm(question, abort=True, err=True)


def undo(
    step_id: Annotated[
        Optional[int], typer.Argument(help="the command to undo (default: the latest)", parser=record_id)
    ] = None,
    list_: Annotated[bool, typer.Option("--list", "-l", help="list recent write commands instead")] = False,
    limit: LimitOpt = 20,
    yes: YesOpt = False,
    fmt: FormatOpt = "table",
) -> None:
    """Undo the latest write command (or command ID), after showing what it will revert.

    Every command that writes is one step; undo itself is not one: a second undo reverts the
    command before. Events the undone command appended stop counting in figures; an 'undone'
    event records the undo."""
    from carecli.core import store, undolog
    from carecli.records import undo as undoing
    from carecli.text.clock import format_local, from_db

    conn, tz = STATE.conn, STATE.settings.tz
    if list_:
        rows = []
        for step in undoing.recent_steps(conn, limit):
            if step.undone_at:
                state = f"undone {format_local(from_db(step.undone_at), tz)}"
            else:
                later = undoing.blocker(conn, step)
                state = f"after #{later.id}" if later else "yes"
            changes = "; ".join(undoing.describe(conn, step, detail=False)) if not step.undone_at else ""
            rows.append({"id": step.id, "at": step.at, "command": step.command, "changes": changes, "state": state})
        emit_rows(rows, UNDO_COLUMNS, fmt, tz=tz, empty="no write commands recorded yet")
        return
    step = undoing.get_step(conn, step_id) if step_id is not None else undoing.last_step(conn)
    when = format_local(from_db(step.at), tz)
    preview = ", ".join(undoing.describe(conn, step)) or "nothing left to revert"
    confirm(f"undo `{step.command}` at {when}: {preview}?", yes)
    with undolog.unchecked_references(conn), store.transaction(conn):
        done = undoing.undo(conn, step, at=STATE.now, argv=STATE.argv)
    message(f"undid #{step.id} `{step.command}` at {when}: {', '.join(done) or 'nothing left to revert'}")


def trash(fmt: FormatOpt = "table", limit: LimitOpt = 100) -> None:
    """List what is in the trash (restore with `ticket restore N` and the like; `db purge` empties it)."""
    from carecli.records import trash as trashing

    emit_rows(
        trashing.list_trash(STATE.conn, limit=limit or None),
        TRASH_COLUMNS,
        fmt,
        tz=STATE.settings.tz,
        empty="the trash is empty",
    )


def purge(
    older_than: Annotated[str, typer.Option("--older-than", help="what was deleted this long ago or more, e.g. 30d")],
    yes: YesOpt = False,
) -> None:
    """Empty the trash for good of what was deleted at least --older-than ago (asks; --yes in scripts)."""
    from carecli.core.errors import InvalidInput
    from carecli.records import trash as trashing
    from carecli.text.durations import parse_duration

    try:
        age = parse_duration(older_than)
    except ValueError as exc:
        raise InvalidInput(f"--older-than: {exc}", "e.g. --older-than 30d") from None
    before = STATE.now - age
    n = trashing.count_before(STATE.conn, before)
    if not n:
        message(f"nothing in the trash deleted more than {older_than} ago")
        return
    confirm(f"delete {n} trash entr{'y' if n == 1 else 'ies'} for good?", yes)
    with STATE.write() as conn:
        gone = trashing.purge(conn, before=before)
    message(f"purged {gone} trash entr{'y' if gone == 1 else 'ies'} for good")


def delete_record(kind: str, row, *, label: str, who: str, customer_id: int, ticket_id, reason: str, yes: bool) -> None:
    """Move a follow-up, survey answer or customer to the trash (a ticket: `ticket delete`)."""
    from carecli.core import undolog
    from carecli.records import trash as trashing

    why = trashing.check_reason(reason)
    confirm(f"move {kind} #{row['id']} ({who}: {label}) to the trash?", yes)
    with undolog.unchecked_references(STATE.conn), STATE.write() as conn:
        trashing.move_to_trash(
            conn, kind, row["id"], label=label, customer_id=customer_id, ticket_id=ticket_id, reason=why, at=STATE.now
        )
    message(f"moved {kind} #{row['id']} to the trash, {who}: {label}")


def restore_record(kind: str, ref_id: int) -> None:
    from carecli.core import undolog
    from carecli.records import trash as trashing

    with undolog.unchecked_references(STATE.conn), STATE.write() as conn:
        found = trashing.restore(conn, kind, ref_id, at=STATE.now)
    message(f"restored {kind} #{ref_id}: {found['label']}")
