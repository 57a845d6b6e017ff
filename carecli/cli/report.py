"""`carecli report daily|weekly|monthly`: text for cron e-mail, markdown, JSON, or (weekly and monthly) HTML."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from carecli.cli import completing
from carecli.cli.options import check_path
from carecli.cli.state import STATE

app = typer.Typer(no_args_is_help=True)

REPORT_FORMATS = ("text", "markdown", "json", "html")


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
        help="text, markdown, json or html (weekly and monthly: one page with charts)",
        shell_complete=completing.one_of(REPORT_FORMATS),
    ),
]
DateOpt = Annotated[
    Optional[str], typer.Option("--date", help="a day inside the period to report (default: the last complete one)")
]
OutputOpt = Annotated[
    Optional[str],
    typer.Option(
        "--output", "-o", help="write to this file (atomically, mode 0600) instead of stdout", callback=check_path
    ),
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


def _run(
    kind: str,
    date_text: str | None,
    fmt: str,
    fail_on_breach: bool,
    mail_to: str | None = None,
    output: str | None = None,
) -> None:
    from carecli.cli.output import emit_json, emit_text
    from carecli.core.errors import EXIT_BREACH
    from carecli.core.files import Output, writing
    from carecli.measure import reports

    if fmt == "html" and kind == "daily":
        raise typer.BadParameter(
            "the daily report has no html page: use report weekly or monthly", param_hint="--format"
        )
    if mail_to is not None and output is not None:
        raise typer.BadParameter("--mail queues the report, --output writes it: give one", param_hint="--output")

    settings, now = STATE.settings, STATE.now
    day = (
        STATE.when(date_text, option="--date").astimezone(settings.tz).date()
        if date_text
        else reports.default_day(kind, now, settings.tz)
    )
    report = reports.build_report(STATE.conn, settings, kind, day=day, now=now)
    if mail_to is not None:
        # A weekly or monthly report goes with its HTML page beside the text.
        page = None if kind == "daily" else render_html(report)
        _queue_report(kind, report, mail_to, markdown=fmt == "markdown", html=page)
    else:
        with writing(Output(output or "-")) as stream:
            if fmt == "json":
                emit_json(report, stream=stream)
            elif fmt == "html":
                stream.write(render_html(report))
            else:
                emit_text(render_lines(report, markdown=fmt == "markdown"), stream=stream)
    if fail_on_breach and any(b["state"] == "breached" for b in report["sla_breaches"]):
        raise typer.Exit(EXIT_BREACH)


@app.command("daily")
def daily(
    date: DateOpt = None,
    fmt: ReportFormatOpt = "text",
    fail_on_breach: FailOpt = False,
    mail: MailOpt = None,
    output: OutputOpt = None,
) -> None:
    """One local day's figures (default: yesterday), the backlog, SLA breaches, follow-ups and today's agenda."""
    _run("daily", date, fmt, fail_on_breach, mail, output)


@app.command("weekly")
def weekly(
    date: DateOpt = None,
    fmt: ReportFormatOpt = "text",
    fail_on_breach: FailOpt = False,
    mail: MailOpt = None,
    output: OutputOpt = None,
) -> None:
    """One week's figures (Monday to Sunday; default: last week) against the week before."""
    _run("weekly", date, fmt, fail_on_breach, mail, output)


@app.command("monthly")
def monthly(
    date: DateOpt = None,
    fmt: ReportFormatOpt = "text",
    fail_on_breach: FailOpt = False,
    mail: MailOpt = None,
    output: OutputOpt = None,
) -> None:
    """One month's figures (default: last month) against the month before."""
    _run("monthly", date, fmt, fail_on_breach, mail, output)


def _queue_report(kind: str, report: dict, address: str, *, markdown: bool, html: str | None = None) -> None:
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
        html=html,
    )
    with STATE.write() as conn:
        queued = outbox.queue(conn, composed, kind="report", at=STATE.now)
    message(f"queued the {kind} report as message {queued} to {address}: carecli outbox send")


_PREVIOUS = {"daily": "day before", "weekly": "week before", "monthly": "month before"}


def _title(report: dict) -> str:
    from carecli.text.clock import format_local

    tz = STATE.settings.tz
    period = report["period"]
    return (
        f"carecli {report['report']} report: {period['label']} "
        f"({format_local(period['since'], tz)} to {format_local(period['until'], tz)})"
    )


def headline_rows(report: dict) -> list[tuple[str, str, str, bool | None]]:
    """Each headline figure in words with its count, the previous period's and the change in its
    unit: (label, value, "(was ..., change)", better?)."""
    from carecli.cli.kpi import change_text, figure_text, label
    from carecli.cli.output import flatten

    now_flat = flatten(report["figures"])
    rows = []
    for change in report["changes"]:
        key = change["figure"]
        was = figure_text(key, {**now_flat, key: change["previous"]}, counted=False)
        delta = change_text(key, change["change"])
        before = f"(was {was}{', ' + delta if delta else ''})"
        rows.append((label(key), figure_text(key, now_flat), before, change["better"]))
    return rows


def _sections(report: dict) -> list[tuple[str, list[str]]]:
    """The report's lists as (heading, lines)."""
    from carecli.text.clock import format_local

    tz = STATE.settings.tz

    def ticket_line(b: dict) -> str:
        return (
            f"#{b['id']} {b['state']}: {b['target'].replace('_', ' ')} due {format_local(b['due_at'], tz)}"
            f" ({b['priority']}, {b['customer_name']}: {b['subject']})"
        )

    def followup_line(f: dict, when: str) -> str:
        note = f": {f['note']}" if f.get("note") else ""
        return f"{f['kind']} for {f['customer_name']}{note} ({when} {format_local(f[when + '_at'], tz)})"

    def waiting_line(t: dict) -> str:
        return f"#{t['id']} {t['customer_name']}: {t['subject']} (opened {format_local(t['created_at'], tz)})"

    agenda = report["agenda"]
    return [
        ("SLA breaches and near misses", [ticket_line(b) for b in report["sla_breaches"]]),
        ("Follow-ups done in the period", [followup_line(f, "completed") for f in report["followups_done"]]),
        ("Follow-ups overdue", [followup_line(f, "due") for f in report["followups_overdue"]]),
        (
            f"Today's agenda ({agenda['date']}): follow-ups due",
            [followup_line(f, "due") for f in agenda["followups_due"]],
        ),
        ("Waiting on us", [waiting_line(t) for t in agenda["waiting_on_us"]]),
        ("Waiting on the customer", [waiting_line(t) for t in agenda["waiting_on_customer"]]),
    ]


def render_html(report: dict) -> str:
    """The weekly or monthly report as one self-contained page (carecli/measure/htmlreport.py):
    the same figures and words as the text report, and charts from the same KPI engine."""
    from carecli.measure import htmlreport, reports

    history = reports.history(STATE.conn, STATE.settings, report, now=STATE.now)
    shown = ("SLA breaches and near misses", "Follow-ups overdue")
    return htmlreport.render(
        title=_title(report),
        headline=headline_rows(report),
        history=history,
        lists=[section for section in _sections(report) if section[0] in shown],
    )


def render_lines(report: dict, *, markdown: bool) -> list[str]:
    """Plain text lines that read well in a cron e-mail (no colour codes), or markdown."""
    lines: list[str] = []

    def heading(text: str, level: int = 2) -> None:
        lines.append("")
        lines.append(f"{'#' * level} {text}" if markdown else text)
        if not markdown:
            lines.append("-" * len(text))

    def item(text: str) -> None:
        lines.append(f"- {text}" if markdown else f"  {text}")

    title = _title(report)
    lines.append(f"# {title}" if markdown else title)

    heading(f"Figures (against the {_PREVIOUS[report['report']]})")
    rows = headline_rows(report)
    width = max(len(name) for name, _, _, _ in rows)
    value_width = max(len(value) for _, value, _, _ in rows)
    for name, value, before, _ in rows:
        item(f"{name.ljust(width)}  {value.ljust(value_width)}  {before}")

    backlog = report["backlog"]
    heading(f"Backlog now: {backlog['total']} open or pending")
    item(", ".join(f"{name}: {count}" for name, count in backlog["by_age"].items()))

    for name, entries in _sections(report):
        heading(f"{name} ({len(entries)})")
        for entry in entries:
            item(entry)
        if not entries:
            item("none")
    return lines
