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
    assert [csvfile.restore(c) for c in read] == cells
    assert all(r[:1] not in csvfile.FORMULA_STARTS for r in read)


@given(st.text(alphabet="'=+-@\t\rax1 ", max_size=6) | st.text())
def test_restore_undoes_neutralise_exactly_and_leaves_other_text_alone(text):
    assert csvfile.restore(csvfile.neutralise(text)) == text
    if csvfile.neutralise(text) == text:  # text the rule leaves alone is never taken for a neutralised cell
        assert csvfile.restore(text) == text


@given(st.text(alphabet="'=+-@\t\r\0ax1 ", max_size=6) | st.text())
def test_the_sql_rule_and_the_python_rule_agree(text):
    conn = sqlite3.connect(":memory:")
    (in_sql,) = conn.execute(f"SELECT {csvfile.sql_neutralised(':text')}", {"text": text}).fetchone()
    assert in_sql == csvfile.neutralise(text)


def test_an_apostrophe_before_a_formula_start_gets_one_more_so_it_reads_back():
    assert csvfile.neutralise("'=x") == "''=x" and csvfile.restore("''=x") == "'=x"
    assert csvfile.neutralise("'hello") == "'hello" and csvfile.restore("'hello") == "'hello"
    assert csvfile.neutralise("'") == "'" and csvfile.restore("'") == "'"


def test_numbers_are_not_text_and_stay_numbers():
    out = io.StringIO()
    csvfile.writer(out).writerow([-3, +2.5, -0.5, "-3"])
    assert out.getvalue() == "-3,2.5,-0.5,'-3\n"  # a number stored as text is text


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
