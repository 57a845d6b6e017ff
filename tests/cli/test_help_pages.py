"""`carecli help times`: every example on the page is read by the parser its section names."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from carecli.text.cadence import parse_every, parse_rrule
from carecli.text.durations import parse_duration
from carecli.text.when import parse_when

NOW = datetime(2026, 3, 14, 10, tzinfo=timezone.utc)
BERLIN = ZoneInfo("Europe/Berlin")

# Which parser reads the examples under a heading (matched on the heading's first word).
PARSERS = {
    "Dates": lambda text: parse_when(text, now=NOW, tz=BERLIN, yearless="next"),
    "Relative": lambda text: parse_when(text, now=NOW, tz=BERLIN, yearless="past"),
    "Ends": lambda text: parse_when(text, now=NOW, tz=BERLIN, yearless="next"),
    "Durations": parse_duration,
    "Cadences": lambda text: parse_every(text, dtstart=NOW, tz=BERLIN),
    "RFC": lambda text: parse_rrule(text, dtstart=NOW, tz=BERLIN),
}


def examples_on_page(page: str) -> dict[str, list[str]]:
    """{heading's first word: [examples]}: the `  example  meaning` lines under each heading."""
    found: dict[str, list[str]] = {}
    heading = ""
    for line in page.splitlines():
        if line and not line.startswith(" "):
            heading = line.split()[0]
        elif line.startswith("  ") and not line.startswith("   ") and heading in PARSERS:
            found.setdefault(heading, []).append(re.split(r" {2,}", line.strip(), maxsplit=1)[0])
    return found


@pytest.fixture
def page(run_without_db) -> str:
    result = run_without_db("help", "times")
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_every_section_of_the_page_has_examples(page):
    assert set(examples_on_page(page)) == set(PARSERS)
    assert sum(map(len, examples_on_page(page).values())) >= 30


def test_every_example_on_the_page_parses(page):
    for heading, examples in examples_on_page(page).items():
        for example in examples:
            PARSERS[heading](example)  # raises TimeParseError on an example the parsers do not read


def test_the_asked_for_forms_are_on_the_page(page):
    examples = {example for found in examples_on_page(page).values() for example in found}
    for form in ("2026-03-14", "2026-03-14 09:30", "+3d", "3d ago", "yesterday 17:00", "next monday", "tomorrow"):
        assert form in examples
    for form in ("eod", "eow", "eom", "1h30m", "2w", "every 2 weeks on tue", "monthly on the 20th"):
        assert form in examples
    assert any(example.startswith("FREQ=") for example in examples)


def test_the_page_names_the_time_zone_day_first_and_the_pinned_clock(page):
    assert "`timezone`" in page and "`dayfirst = true`" in page
    for day_first in ("24/12/2026", "24/12", "24.12.26", "24-12-26"):
        assert day_first in page
        parse_when(day_first, now=NOW, tz=BERLIN, yearless="next", dayfirst=True)
    pinned = re.search(r"CARECLI_NOW='([^']+)' carecli", page)
    assert pinned is not None
    assert parse_when(pinned[1], now=NOW, tz=timezone.utc, yearless="past") == datetime(
        2026, 3, 14, 9, 30, tzinfo=timezone.utc
    )


def test_a_wrong_example_would_be_caught():
    broken = "Durations (x)\n  1 fortnight  not a duration\n"
    with pytest.raises(ValueError):
        for example in examples_on_page(broken)["Durations"]:
            PARSERS["Durations"](example)


def test_the_page_fits_80_columns(page):
    assert max(len(line) for line in page.splitlines()) <= 80


def test_help_alone_lists_the_pages(run_without_db):
    result = run_without_db("help")
    assert result.exit_code == 0
    assert "times" in result.stdout and "carecli help PAGE" in result.stdout


def test_an_unknown_page_is_a_usage_error(run_without_db):
    result = run_without_db("help", "nope")
    assert result.exit_code == 2


def test_root_help_and_time_options_point_at_the_page(run_without_db):
    assert "carecli help times" in run_without_db("--help").stdout
    for args in (("ticket", "list", "--help"), ("followup", "add", "--help"), ("ticket", "reply", "--help")):
        out = " ".join(run_without_db(*args).stdout.split())
        assert "carecli help times" in out, args
