"""`carecli survey ...`: record CSAT, CES and NPS responses and list them."""

from __future__ import annotations

from itertools import islice
from typing import Annotated, Any, Optional

import typer

from carecli.cli import completing
from carecli.cli.options import AtOpt, FormatOpt, LimitOpt, RawOpt, SinceOpt, UntilOpt, record_id
from carecli.cli.output import columns_of, emit_record, emit_rows, message
from carecli.cli.state import STATE

app = typer.Typer(no_args_is_help=True)

SURVEY_COLUMNS = columns_of(
    "surveys", "id", "kind", "score", "customer_id", "customer_name", "ticket_id", "comment", "at"
)
TicketArg = Annotated[int, typer.Argument(help="ticket id", parser=record_id, shell_complete=completing.tickets)]
CommentOpt = Annotated[Optional[str], typer.Option("--comment", help="what the customer said")]


def record_for_ticket(conn, kind: str, ticket, score: int, *, at, comment: str | None = None) -> Any:
    """Record a CSAT or CES response to a ticket, saying so when it replaces an earlier one."""
    from carecli.records import surveys

    result = surveys.record(
        conn, kind, score, at=at, customer_id=ticket["customer_id"], ticket_id=ticket["id"], comment=comment
    )
    if result.replaced is not None:
        message(f"replaced the earlier {surveys.NAMES[kind]} ({result.replaced['score']}) for ticket #{ticket['id']}")
    return result.survey


def _ticket_survey(kind: str, ticket_id: int, score: int, comment: str | None, at: str | None, fmt: str) -> None:
    from carecli.records import surveys
    from carecli.records.tickets import get_ticket

    when = STATE.happened(at)
    surveys.check_score(kind, score)
    with STATE.write() as conn:
        row = record_for_ticket(conn, kind, get_ticket(conn, ticket_id), score, at=when, comment=comment)
    message(f"recorded {surveys.NAMES[kind]} {score} for ticket #{ticket_id}")
    emit_record(dict(row), fmt, fields=SURVEY_COLUMNS, tz=STATE.settings.tz)


@app.command("csat")
def csat(
    ticket_id: TicketArg,
    score: Annotated[int, typer.Argument(help="1 (very unhappy) to 5 (very happy)")],
    comment: CommentOpt = None,
    at: AtOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Record a customer-satisfaction score (1-5) for a ticket; a second one replaces the first."""
    _ticket_survey("csat", ticket_id, score, comment, at, fmt)


@app.command("ces")
def ces(
    ticket_id: TicketArg,
    score: Annotated[int, typer.Argument(help="1 (very hard) to 7 (very easy)")],
    at: AtOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Record a customer-effort score (1-7) for a ticket; a second one replaces the first."""
    _ticket_survey("ces", ticket_id, score, None, at, fmt)


@app.command("nps")
def nps(
    customer: Annotated[str, typer.Argument(help="customer id, email or name", shell_complete=completing.customers)],
    score: Annotated[int, typer.Argument(help="0 (would not recommend) to 10 (certainly would)")],
    comment: CommentOpt = None,
    at: AtOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Record a net-promoter score (0-10) from a customer; every response counts."""
    from carecli.records import customers, surveys

    when = STATE.happened(at)
    surveys.check_score("nps", score)
    with STATE.write() as conn:
        who = customers.resolve_customer(conn, customer)
        row = surveys.record(conn, "nps", score, at=when, customer_id=who["id"], comment=comment).survey
    message(f"recorded NPS {score} from {who['name']}")
    emit_record(dict(row), fmt, fields=SURVEY_COLUMNS, tz=STATE.settings.tz)


@app.command("list")
def list_(
    kind: Annotated[
        Optional[str],
        typer.Option(
            "--kind", help="csat, ces or nps", shell_complete=completing.one_of("carecli.records.surveys:KINDS")
        ),
    ] = None,
    customer: Annotated[
        Optional[str],
        typer.Option("--customer", help="customer id, email or name", shell_complete=completing.customers),
    ] = None,
    ticket: Annotated[
        Optional[int],
        typer.Option("--ticket", help="ticket id", parser=record_id, metavar="<id>", shell_complete=completing.tickets),
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    all_: Annotated[
        bool, typer.Option("--all", help="also answers replaced by a later one, with the time they were replaced")
    ] = False,
    limit: LimitOpt = 100,
    fmt: FormatOpt = "table",
    raw: RawOpt = False,
) -> None:
    """List survey responses, newest first: the current ones, or with --all replaced ones too."""
    from carecli.core.errors import InvalidInput
    from carecli.records import customers, surveys

    if kind is not None and kind.strip().lower() not in surveys.KINDS:
        raise InvalidInput(f"unknown survey kind '{kind}'", f"use one of: {', '.join(surveys.KINDS)}")
    conn = STATE.conn
    rows = surveys.list_surveys(
        conn,
        kind=kind.strip().lower() if kind else None,
        customer_id=customers.resolve_customer(conn, customer)["id"] if customer else None,
        ticket_id=ticket,
        since=(start := STATE.when(since, option="--since") if since else None),
        until=STATE.until(until, since=start) if until else None,
        limit=limit + 1 if limit else None,
        replaced=all_,
    )
    shown = emit_rows(
        islice(rows, limit or None),
        SURVEY_COLUMNS + columns_of("surveys", "superseded_at") if all_ else SURVEY_COLUMNS,
        fmt,
        tz=STATE.settings.tz,
        empty="no survey responses match",
        raw=raw,
    )
    if limit and rows.fetchone() is not None:
        message(f"showing the first {shown}; use --limit 0 for all")


@app.command("delete")
def delete(
    survey_id: Annotated[int, typer.Argument(help="survey answer id (`survey list`)", parser=record_id)],
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
    """Move a survey answer recorded by mistake to the trash; `survey restore N` brings it back."""
    from carecli.cli.undo import delete_record
    from carecli.records import customers, surveys

    row = surveys.get_survey(STATE.conn, survey_id)
    who = customers.get_customer(STATE.conn, row["customer_id"])["name"]
    label = f"{row['kind']} {row['score']}" + (f" on #{row['ticket_id']}" if row["ticket_id"] else "")
    delete_record(
        "survey",
        row,
        label=label,
        who=who,
        customer_id=row["customer_id"],
        ticket_id=row["ticket_id"],
        reason=reason,
        yes=yes,
    )


@app.command("restore")
def restore(survey_id: Annotated[int, typer.Argument(help="survey answer id", parser=record_id)]) -> None:
    """Bring a survey answer back from the trash."""
    from carecli.cli.undo import restore_record

    restore_record("survey", survey_id)
