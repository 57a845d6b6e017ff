"""The CSV cells SQLite builds for exports read back as the values stored, whatever the text."""

from __future__ import annotations

import csv
import io
import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from carecli.data.exporting import Entity, ExportFilter, Field, build_query

SPEC = Entity(
    "notes", "notes n", (Field("id", "n.id", "int"), Field("body", "n.body"), Field("kind", "n.kind", "word")), "n.id"
)


def _export(body: str | None, *, raw: bool) -> list[str]:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, kind TEXT)")
    conn.execute("INSERT INTO notes (body, kind) VALUES (?, 'in')", (body,))
    sql, params = build_query(SPEC, "csv", ExportFilter(), raw=raw)
    line = conn.execute(sql, params).fetchone()[0]
    return next(csv.reader(io.StringIO(line, newline="")))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(',"\n\r\t=+-@ abc\u00e9\u20ac')), max_size=12))
def test_a_raw_cell_reads_back_as_the_stored_text(body):
    assert _export(body, raw=True) == ["1", body, "in"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(',"\n\r\t=+-@ abc')), min_size=1, max_size=12))
def test_a_safe_cell_is_the_stored_text_with_a_quote_before_a_formula_start(body):
    expected = "'" + body if body[0] in "=+-@\t\r" else body
    assert _export(body, raw=False) == ["1", expected, "in"]


def test_null_is_an_empty_cell():
    assert _export(None, raw=False) == ["1", "", "in"]
