"""The CSV cells SQLite builds for exports read back as the values stored, whatever the text."""

from __future__ import annotations

import csv
import io
import sqlite3
from dataclasses import replace

import pytest
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


def test_filters_bind_named_parameters_beside_the_fields_own():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, kind TEXT)")
    conn.executemany("INSERT INTO notes (body, kind) VALUES (?, ?)", [("a", "in"), ("o'clock", "out"), ("c", "x")])
    spec = replace(SPEC, filter_columns={"status": "n.kind"})
    spec = replace(spec, fields=(*spec.fields, Field("mark", ":mark || n.body")))
    sql, params = build_query(spec, "csv", ExportFilter(status=("out", "x")), params={"mark": "'"})
    assert "'out'" not in sql and params == {"filter_status_0": "out", "filter_status_1": "x", "mark": "'"}
    assert [r[0] for r in conn.execute(sql, params)] == ["2,o'clock,out,'o'clock", "3,c,x,'c"]
    with pytest.raises(ValueError, match="filter_status_0"):
        build_query(spec, "csv", ExportFilter(status=("out",)), params={"filter_status_0": 1})
