"""`carecli help PAGE`: plain-text pages on topics no single command owns (how to write times).

Every example on a page is written in a section whose parser the tests know, and
tests/cli/test_help_pages.py feeds each one to that parser, so a page cannot drift from the code.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Help pages: how to write times (`carecli help times`).",
    invoke_without_command=True,
    rich_markup_mode=None,
)

# (heading, parser, [(example, meaning)]): parser is "when", "duration", "every" or "rrule", or ""
# for a section without examples to parse. An example never holds two spaces in a row: the page's
# two-space gap is what separates it from its meaning.
Section = tuple[str, str, list[tuple[str, str]]]

TIMES: list[Section] = [
    (
        "Dates and times (--at, --due, --since, --until, --date)",
        "when",
        [
            ("2026-03-14", "that day; a whole day for --due, up to its end for --until"),
            ("2026-03-14 09:30", "that day at 09:30 local time"),
            ("2026-03-14T09:30Z", "ISO 8601 with a zone offset (Z, +01:00, -0500)"),
            ("14 march 2026", "month names, any order dateutil reads"),
            ("24 dec", "no year: the next 24 Dec for --due, the last one for --at"),
            ("03/14/2026 9:30", "numbers with / or . are month first, unless dayfirst"),
        ],
    ),
    (
        "Relative to now",
        "when",
        [
            ("now", "this second"),
            ("today", "today (midnight; a whole day where a day is meant)"),
            ("tomorrow", "tomorrow; also yesterday"),
            ("yesterday 17:00", "a day word, then a time of day"),
            ("next monday", "the next Monday after today; also mon, tue, thurs..."),
            ("last fri 9am", "the most recent Friday before today, at 09:00"),
            ("5pm", "today at 17:00; also 17:00, 5:30 pm"),
            ("+3d", "3 days from now (days keep the clock time across DST)"),
            ("-2h", "2 hours ago (hours and less are exact elapsed time)"),
            ("2w", "no sign: 2 weeks ahead for --due, 2 weeks ago for --at, --since, --until"),
            ("3d ago", "3 days ago; also '2 hours ago'"),
            ("in 2 days", "2 days from now"),
            ("1mo", "1 month from now (months and years: whole numbers)"),
        ],
    ),
    (
        "Ends and starts of periods (midnight, local time; weeks start on Monday)",
        "when",
        [
            ("eod", "end of today: tonight's midnight"),
            ("eow", "end of this week: midnight between Sunday and Monday"),
            ("eom", "end of this month: midnight before the 1st"),
            ("sow", "start of this week: this Monday's midnight"),
            ("som", "start of this month"),
        ],
    ),
    (
        "Durations (SLA targets, care follow-up delays, --older-than)",
        "duration",
        [
            ("90m", "units: s, m (minutes), h, d, w"),
            ("1h30m", "amounts add up; also '2h 15m'"),
            ("1.5h", "fractions are fine"),
            ("2w", "14 days; months and years vary, so write 30d"),
        ],
    ),
    (
        "Cadences (followup add --every)",
        "every",
        [
            ("weekly", "also daily, fortnightly, monthly, quarterly, yearly"),
            ("every 2 weeks on tue", "every other week, on Tuesday"),
            ("weekly on mon,thu", "several weekdays"),
            ("monthly on the 20th", "a day of the month; 31st means the month's last"),
            ("monthly on the last day", "the last day of each month"),
            ("every 3 months", "counted from the first due day; also '6 months', 1y"),
        ],
    ),
    (
        "RFC 5545 rules (followup add --rrule)",
        "rrule",
        [
            ("FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1", "every 6 months on the 1st"),
            ("FREQ=WEEKLY;BYDAY=MO,TH", "RRULE: in front is allowed"),
        ],
    ),
]

TIMES_NOTES = """\
Time zone: times you type without a zone, and every time carecli shows, are in
the config key `timezone` (an IANA name such as Europe/Berlin; empty = the
system's zone). Times are stored in UTC.

Day first: with `dayfirst = true` in the config, numeric dates written with /,
. or - are read day first: 24/12/2026, 24/12, 24.12.26, 24-12-26. A date
written year first (2026-12-04) is always year-month-day.

Scripts and tests: CARECLI_NOW pins "now" for every command, written like any
time above (UTC when it has no zone), e.g.
  CARECLI_NOW='2026-03-14 09:30' carecli today
"""

PAGES = {"times": "how to write dates, times, durations and cadences"}


def render_sections(sections: list[Section]) -> str:
    """Sections as plain text: a heading, then `  example  meaning` lines, under 80 columns."""
    lines: list[str] = []
    for heading, _, examples in sections:
        lines.append(heading)
        width = max(len(example) for example, _ in examples)
        for example, meaning in examples:
            if width + len(meaning) + 4 <= 79:
                lines.append(f"  {example.ljust(width)}  {meaning}")
            else:  # a long example: its meaning on the next line
                lines.extend((f"  {example}", f"      {meaning}"))
        lines.append("")
    return "\n".join(lines) + "\n"


def times_page() -> str:
    return "How to write times\n\n" + render_sections(TIMES) + TIMES_NOTES


@app.callback()
def help_index(ctx: typer.Context) -> None:
    """List the help pages."""
    if ctx.invoked_subcommand is None:
        print("Help pages (carecli help PAGE):")
        for name, summary in PAGES.items():
            print(f"  {name:<8}{summary}")
        print("\nEvery command also has --help.")


@app.command("times")
def times() -> None:
    """How to write dates, times, durations and cadences."""
    print(times_page(), end="")
