"""Every table a person sees fits the terminal: rendered on the demo shop at 80, 100 and 160 columns.

A line longer than the width, a header or a date split over two lines, or an empty header row
(a key/value view has none) fails. The rich layout and the plain one (`NO_COLOR` on a terminal)
are both checked.
"""

from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import FIXED_NOW, Run

COMMANDS = [
    ("today",),
    ("today", "--week"),
    ("today", "--date", "2026-03-18"),
    ("ticket", "list"),
    ("ticket", "list", "--status", "all", "--limit", "30"),
    ("ticket", "list", "--breaching"),
    ("ticket", "show", "4"),
    ("customer", "list"),
    ("customer", "show", "1"),
    ("customer", "health"),
    ("followup", "list"),
    ("followup", "list", "--status", "all"),
    ("followup", "show", "4"),
    ("survey", "list"),
    ("search", "vase"),
    ("kpi",),
    ("kpi", "--all"),
    ("kpi", "--by", "channel"),
    ("kpi", "--by", "category"),
    ("kpi", "--by", "priority"),
    ("kpi", "--by", "week"),
    ("kpi", "--by", "day"),
    ("kpi", "--by", "week", "--trend"),
    ("care", "suggest"),
    ("care", "churn", "--since", "2025-01-01"),
    ("config", "show"),
    ("config", "path"),
    ("db", "info"),
]  # `outbox list`, empty in the demo, is checked by tests/mail/test_outbox.py
WIDTHS = [80, 100, 160]
RULE = re.compile(r"^[━╇╋┃\s]+$")  # the line under a rich table's header
EMPTY_HEADER = re.compile(r"^[\s┃]*┃[\s┃]*$")
# Pieces of a time or a date left at the end or start of a line: a date split over two lines.
SPLIT_DATE = re.compile(
    r"(?:\b\d{4}-\d{0,2}|\d{4}-\d\d-|\b\d\d:\d?)\s*(?:│|$)"  # "2026-1" or "09:" ending a cell
    r"|(?:^|│)\s*(?:\d-\d\d\b|-\d\d[- ]\d)"  # "1-17" or "-17 09:20" starting one
)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """One demo shop for the module (built as `carecli demo` builds it), copied for each test."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CARECLI_NOW", FIXED_NOW)
        env.setenv("CARECLI_TIMEZONE", "Europe/Berlin")
        env.setenv("XDG_CONFIG_HOME", str(path.parent / "config"))
        result = Run()("--db", str(path), "demo", "--days", "120")
        assert result.exit_code == 0, result.stderr
    return path


@pytest.fixture
def screen(demo_db, db_path, tmp_path, monkeypatch):
    shutil.copy(demo_db, db_path)
    # Targets the demo misses now and then, so the SLA columns and `--breaching` have rows.
    config = tmp_path / "sla.toml"
    config.write_text('[sla.normal]\nfirst_response = "30m"\nresolution = "4h"\n[sla.urgent]\nfirst_response = "10m"\n')
    monkeypatch.setenv("CARECLI_CONFIG", str(config))

    def show(width: int, *args: str, plain: bool = False) -> str:
        monkeypatch.setenv("COLUMNS", str(width))
        if plain:  # NO_COLOR at a terminal: the plain layout, still as wide as the terminal
            monkeypatch.setenv("NO_COLOR", "1")
            monkeypatch.setattr("carecli.cli.output.is_terminal", lambda stream: True)
        else:
            monkeypatch.setattr("carecli.cli.output.use_rich", lambda stream: True)
        result = Run()(*args)
        assert result.exit_code == 0, f"{args}: {result.stderr}"
        return result.stdout

    return show


def _problems(text: str, width: int) -> list[str]:
    from rich.cells import cell_len

    problems = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if cell_len(line) > width:
            problems.append(f"longer than {width}: {line!r}")
        if EMPTY_HEADER.match(line):
            problems.append(f"empty header row: {line!r}")
        if SPLIT_DATE.search(line):
            problems.append(f"a date split over two lines: {line!r}")
        if RULE.match(line) and "━" in line and i >= 2 and "┃" in lines[i - 2]:
            problems.append(f"a header on two lines: {lines[i - 2]!r} / {lines[i - 1]!r}")
    return problems


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_table_fits_the_terminal(screen, args, width):
    text = screen(width, *args)
    assert text.strip(), args
    assert _problems(text, width) == []


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_no_color_at_a_terminal_still_fits_80_columns(screen, args):
    text = screen(80, *args, plain=True)
    assert "\x1b[" not in text
    assert _problems(text, 80) == []


def test_ids_statuses_and_times_are_whole_and_subjects_are_cut_at_80(screen):
    import json

    text = screen(80, "ticket", "list", "--status", "all", "--limit", "0")
    subjects = {
        t["id"]: t["subject"]
        for t in json.loads(Run()("ticket", "list", "--status", "all", "--limit", "0", "-f", "json").stdout)
    }
    header = [h.strip() for h in text.splitlines()[0].split("┃")]
    assert header[:3] == ["id", "status", "priority"] and "subject" in header
    assert "first response" not in header and "category" not in header  # low-value columns dropped first
    rows = [[cell.strip() for cell in line.split("│")] for line in text.splitlines() if "│" in line]
    assert len(rows) == len(subjects)  # one line per ticket: nothing wraps
    for row in rows:
        assert row[1] in {"open", "pending", "closed"}
        shown, subject = row[header.index("subject")], subjects[int(row[0])]
        assert shown == subject or (shown.endswith("...") and subject.startswith(shown[:-3])), (shown, subject)


def test_times_lose_this_year_only_when_narrow(screen):
    assert re.search(r"│ \d\d-\d\d \d\d:\d\d", screen(80, "ticket", "list"))
    assert re.search(r"│ 2026-\d\d-\d\d \d\d:\d\d", screen(160, "ticket", "list"))


def test_key_value_views_have_no_header_row(screen):
    for args in (("ticket", "show", "4"), ("customer", "show", "1"), ("kpi",), ("db", "info"), ("today",)):
        first_lines = screen(100, *args).splitlines()[:3]
        assert not any("━" in line for line in first_lines), (args, first_lines)


def test_kpi_by_channel_has_the_channels_as_columns(screen):
    header = screen(80, "kpi", "--by", "channel").splitlines()[1]
    assert header.split("┃")[0].strip() == "figure"
    assert {"email", "phone"} <= {h.strip() for h in header.split("┃")}


def test_config_show_keeps_every_key_on_one_line(screen):
    from carecli.core.config import KEYS

    text = screen(80, "config", "show")
    shown = {line.split("│")[0].strip() for line in text.splitlines() if "│" in line}
    assert set(KEYS) <= shown
