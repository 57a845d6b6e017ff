"""The renderer: machine formats parse, tables are plain off a terminal, customer text is never markup."""

from __future__ import annotations

import csv
import io
import json

import pytest

from carecli.cli.output import Column, emit_record, emit_rows, flatten

COLUMNS = [Column("id", kind="int"), Column("name"), Column("tags", kind="tags"), Column("wait", kind="duration")]
ROWS = [
    {"id": 1, "name": 'Ada "the first", Lovelace', "tags": "vip,wedding", "wait": 8100},
    {"id": 2, "name": "Line\nbreak [bold]x[/bold]", "tags": "", "wait": None},
]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def render(fmt: str, rows=ROWS, stream=None) -> str:
    stream = stream or io.StringIO()
    emit_rows(iter(rows), COLUMNS, fmt, stream=stream)
    return stream.getvalue()


def test_csv_round_trips_through_the_csv_module():
    parsed = list(csv.DictReader(io.StringIO(render("csv"))))
    assert parsed[0]["name"] == 'Ada "the first", Lovelace'
    assert parsed[1]["name"] == "Line\nbreak [bold]x[/bold]"
    assert parsed[1]["wait"] == ""


def test_json_is_one_array_with_tags_as_lists_and_nulls():
    parsed = json.loads(render("json"))
    assert parsed[0]["tags"] == ["vip", "wedding"]
    assert parsed[1]["wait"] is None


def test_json_of_no_rows_is_an_empty_array():
    assert json.loads(render("json", rows=[])) == []


def test_jsonl_is_one_object_per_line():
    lines = render("jsonl").splitlines()
    assert [json.loads(line)["id"] for line in lines] == [1, 2]


def test_plain_table_humanizes_durations_and_shows_a_dash_for_no_data():
    text = render("table")
    assert "\x1b[" not in text
    assert "2h 15m" in text and "—" in text


def test_rich_table_on_a_terminal_keeps_customer_text_literal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    text = render("table", stream=FakeTerminal())
    assert "[bold]x[/bold]" in text


def test_no_color_gives_plain_text_even_on_a_terminal(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    text = render("table", stream=FakeTerminal())
    assert "\x1b[" not in text and "--" in text  # the plain table's rule


def test_flatten_uses_dotted_keys_for_nested_figures():
    assert flatten({"a": {"b": 1, "c": {"d": None}}, "e": [1, 2]}) == {"a.b": 1, "a.c.d": None, "e": "[1, 2]"}


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_record_in_machine_formats_parses(fmt):
    stream = io.StringIO()
    emit_record({"id": 3, "figures": {"median": 1.5}}, fmt, stream=stream)
    text = stream.getvalue()
    if fmt == "csv":
        assert list(csv.DictReader(io.StringIO(text)))[0]["figures.median"] == "1.5"
    else:
        assert json.loads(text.splitlines()[0] if fmt == "jsonl" else text)["figures"]["median"] == 1.5


def test_visible_escapes_controls_c1_and_bidi_but_keeps_spaces_and_joiners():
    from carecli.cli.output import visible

    assert visible("a\x1b]52;c;eA==\x07b") == "a\\x1b]52;c;eA==\\x07b"
    assert visible("\x9b2J \u202eevil") == "\\x9b2J \\u202eevil"
    assert visible("no\u00a0break, family 👨\u200d👩\u200d👧") == "no\u00a0break, family 👨\u200d👩\u200d👧"
    assert visible("one\nline\t\r") == "one\\nline\\t\\r"
    assert visible("two\r\nlines\tand\x1b[2J", multiline=True) == "two\nlines   and\\x1b[2J"


def test_a_multi_line_cell_continues_in_its_column_in_plain_tables():
    lines = render("table").splitlines()
    at = next(i for i, line in enumerate(lines) if "Line" in line)
    assert lines[at + 1].strip() == "break [bold]x[/bold]"
    assert lines[at + 1].index("break") == lines[at].index("Line")


def test_match_cells_keep_only_their_marks_on_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    stream = FakeTerminal()
    rows = [{"snippet": "a \x02word\x03 and \x02\x1b[2J"}]
    emit_rows(rows, [Column("snippet", kind="match")], "table", stream=stream)
    text = stream.getvalue()
    assert "\\x1b[2J" in text and "\x1b[2J" not in text and "\x02" not in text


def test_json_escapes_the_controls_json_itself_leaves_raw_and_keeps_the_data():
    from carecli.cli.output import json_text

    value = {"name": "Zoë\x9b2J\x1b]0;t\x07\u202eok\x7f", "family": "👨\u200d👩"}
    text = json_text(value)
    assert "\x9b" not in text and "\u202e" not in text and "\x7f" not in text and "\x1b" not in text
    assert "\\u009b2J" in text and "Zoë" in text and "\u200d" in text
    assert json.loads(text) == value
