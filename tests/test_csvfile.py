"""The one CSV writer and its formula rule (carecli/core/csvfile.py)."""

from __future__ import annotations

import csv
import io
import sqlite3
import sys

from hypothesis import given
from hypothesis import strategies as st

from carecli.core import csvfile


def _round_trip(cells: list[str], *, raw: bool) -> list[str]:
    out = io.StringIO()
    csvfile.writer(out, raw=raw).writerow(cells)
    return next(csv.reader(io.StringIO(out.getvalue(), newline="")))


# Python 3.10's csv.reader refuses NUL characters ("line contains NUL"), so only 3.11+ reads them back.
TEXT = st.text() if sys.version_info >= (3, 11) else st.text(alphabet=st.characters(blacklist_characters="\0"))


@given(st.lists(TEXT, min_size=1, max_size=5))
def test_any_text_round_trips_through_the_writer_and_csv_reader(cells):
    assert _round_trip(cells, raw=True) == cells
    read = _round_trip(cells, raw=False)
    unprefixed = [
        c[1:] if c[:1] == csvfile.NEUTRALISER and o[:1] in csvfile.FORMULA_STARTS else c for c, o in zip(read, cells)
    ]
    assert unprefixed == cells


@given(st.text())
def test_the_sql_rule_and_the_python_rule_agree(text):
    conn = sqlite3.connect(":memory:")
    (in_sql,) = conn.execute(f"SELECT {csvfile.sql_neutralised('?1')}", (text,)).fetchone()
    assert in_sql == csvfile.neutralise(text)


def test_only_formula_starts_are_neutralised():
    assert [csvfile.neutralise(v) for v in ("=1", "+1", "-2", "@x", "\tA", "\rB", "Ada", "", "1-2")] == [
        "'=1",
        "'+1",
        "'-2",
        "'@x",
        "'\tA",
        "'\rB",
        "Ada",
        "",
        "1-2",
    ]


def test_a_nul_character_is_written_the_same_on_every_python():
    out = io.StringIO()
    csvfile.writer(out).writerow(["a\0b", "c\0,d", 3, None, '=x"y'])
    assert out.getvalue() == 'a\0b,"c\0,d",3,,"\'=x""y"\n'
