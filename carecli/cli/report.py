"""`carecli report daily|weekly|monthly`: text for cron e-mail, markdown, or JSON."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from carecli.cli import completing
from carecli.cli.state import STATE

app = typer.Typer(no_args_is_help=True)

REPORT_FORMATS = ("text", "markdown", "json")


def _check_format(value: str) -> str:
    if value not in REPORT_FORMATS:
        raise typer.BadParameter(f"'{value}' is not one of {', '.join(REPORT_FORMATS)}")
    return value


ReportFormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        callback=_check_format,
        help="text, markdown or json",
        shell_complete=completing.one_of(REPORT_FORMATS),
    ),
]
DateOpt = Annotated[
    Optional[str], typer.Option("--date", help="a day inside the period to report (default: the last complete one)")
]
FailOpt = Annotated[bool, typer.Option("--fail-on-breach", help="exit 3 when any SLA is breached (for monitoring)")]
MailOpt = Annotated[
    Optional[str],
    typer.Option(
        "--mail",
        metavar="ADDRESS",
        help="queue the text report as an e-mail to ADDRESS instead of printing it (`outbox send` sends it)",
    ),
]


def _run(kind: str, date_text: str | None, fmt: str, fail_on_breach: bool, mail_to: str | None = None) -> None:
    from carecli.cli.output import emit_json, emit_text
    from carecli.core.errors import EXIT_BREACH
    from carecli.measure import reports

    settings, now = STATE.settings, STATE.now
    day = (
        STATE.when(date_text, option="--date").astimezone(settings.tz).date()
        if date_text
        else reports.default_day(kind, now, settings.tz)
    )
    report = reports.build_report(STATE.conn, settings, kind, day=day, now=now)
    if mail_to is not None:
        _queue_report(kind, report, mail_to, markdown=fmt == "markdown")
    elif fmt == "json":
        emit_json(report)
    else:
        emit_text(render_lines(report, markdown=fmt == "markdown"))
    if fail_on_breach and any(b["state"] == "breached" for b in report["sla_breaches"]):
        raise typer.Exit(EXIT_BREACH)


@app.command("daily")
def daily(
    date: DateOpt = None, fmt: ReportFormatOpt = "text", fail_on_breach: FailOpt = False, mail: MailOpt = None
) -> None:
    """One local day's figures (default: yesterday), the backlog, SLA breaches, follow-ups and today's agenda."""
    _run("daily", date, fmt, fail_on_breach, mail)


@app.command("weekly")
def weekly(
    date: DateOpt = None, fmt: ReportFormatOpt = "text", fail_on_breach: FailOpt = False, mail: MailOpt = None
) -> None:
    """One week's figures (Monday to Sunday; default: last week) against the week before."""
    _run("weekly", date, fmt, fail_on_breach, mail)


@app.command("monthly")
def monthly(
    date: DateOpt = None, fmt: ReportFormatOpt = "text", fail_on_breach: FailOpt = False, mail: MailOpt = None
) -> None:
    """One month's figures (default: last month) against the month before."""
    _run("monthly", date, fmt, fail_on_breach, mail)


def _queue_report(kind: str, report: dict, address: str, *, markdown: bool) -> None:
    from carecli.cli.output import message
    from carecli.core.errors import InvalidInput
    from carecli.mail import compose, outbox

    address = address.strip()
    if "@" not in address or any(char.isspace() or ord(char) < 32 for char in address):
        raise InvalidInput(f"--mail {address!r} is not an e-mail address", "give one like owner@shop.example")
    period = report["period"]
    subject = f"carecli {kind} report: {period['label']}"
    composed = compose.compose(
        STATE.settings,
        to=address,
        subject=subject,
        body="\n".join(render_lines(report, markdown=markdown)),
        at=STATE.now,
        kind="report",
    )
    with STATE.write() as conn:
        queued = outbox.queue(conn, composed, kind="report", at=STATE.now)
    message(f"queued the {kind} report as message {queued} to {address}: carecli outbox send")


_PREVIOUS = {"daily": "day before", "weekly": "week before", "monthly": "month before"}


def render_lines(report: dict, *, markdown: bool) -> list[str]:
    """Plain text lines that read well in a cron e-mail (no colour codes), or markdown."""
    from carecli.cli.kpi import change_text, figure_text, label
    from carecli.cli.output import flatten
    from carecli.text.clock import format_local

    tz = STATE.settings.tz
    lines: list[str] = []

    def heading(text: str, level: int = 2) -> None:
        lines.append("")
        lines.append(f"{'#' * level} {text}" if markdown else text)
        if not markdown:
            lines.append("-" * len(text))

    def item(text: str) -> None:
        lines.append(f"- {text}" if markdown else f"  {text}")

    period = report["period"]
    title = (
        f"carecli {report['report']} report: {period['label']} "
        f"({format_local(period['since'], tz)} to {format_local(period['until'], tz)})"
    )
    lines.append(f"# {title}" if markdown else title)

    # Each figure in words with its count, then the previous period's and the change in its unit.
    heading(f"Figures (against the {_PREVIOUS[report['report']]})")
    now_flat = flatten(report["figures"])
    rows = []
    for change in report["changes"]:
        key = change["figure"]
        was = figure_text(key, {**now_flat, key: change["previous"]}, counted=False)
        delta = change_text(key, change["change"])
        rows.append((label(key), figure_text(key, now_flat), f"(was {was}{', ' + delta if delta else ''})"))
    width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    for name, value, before in rows:
        item(f"{name.ljust(width)}  {value.ljust(value_width)}  {before}")

    backlog = report["backlog"]
    heading(f"Backlog now: {backlog['total']} open or pending")
    item(", ".join(f"{name}: {count}" for name, count in backlog["by_age"].items()))

    def ticket_line(b: dict) -> str:
        return (
            f"#{b['id']} {b['state']}: {b['target'].replace('_', ' ')} due {format_local(b['due_at'], tz)}"
            f" ({b['priority']}, {b['customer_name']}: {b['subject']})"
        )

    def followup_line(f: dict, when: str) -> str:
        note = f": {f['note']}" if f.get("note") else ""
        return f"{f['kind']} for {f['customer_name']}{note} ({when} {format_local(f[when + '_at'], tz)})"

    sections = [
        ("SLA breaches and near misses", report["sla_breaches"], ticket_line),
        ("Follow-ups done in the period", report["followups_done"], lambda f: followup_line(f, "completed")),
        ("Follow-ups overdue", report["followups_overdue"], lambda f: followup_line(f, "due")),
    ]
    agenda = report["agenda"]
    sections += [
        (
            f"Today's agenda ({agenda['date']}): follow-ups due",
            agenda["followups_due"],
            lambda f: followup_line(f, "due"),
        ),
        (
            "Waiting on us",
            agenda["waiting_on_us"],
            lambda t: f"#{t['id']} {t['customer_name']}: {t['subject']} (opened {format_local(t['created_at'], tz)})",
        ),
        (
            "Waiting on the customer",
            agenda["waiting_on_customer"],
            lambda t: f"#{t['id']} {t['customer_name']}: {t['subject']} (opened {format_local(t['created_at'], tz)})",
        ),
    ]
    for name, rows, line in sections:
        heading(f"{name} ({len(rows)})")
        for row in rows:
            item(line(row))
        if not rows:
            item("none")
    return lines
