"""`carecli search`: OR, NOT, phrases, prefixes, English stemming and accents; what people type is
never an SQL error (issue 14)."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carecli.core.errors import InvalidInput
from carecli.data import searching
from carecli.schema import database


@pytest.fixture
def florist(run):
    run("customer", "add", "Café Nova", "--email", "nova@example.com", "--at", "2026-03-01", ok=True)
    run("customer", "add", "Ben Okafor", "--email", "ben@example.com", "--at", "2026-03-02", ok=True)
    run("ticket", "open", "nova@example.com", "Tulips wilted on arrival", "--at", "2026-03-03", ok=True)
    run("ticket", "open", "ben@example.com", "Wreath for the funeral", "--at", "2026-03-04", ok=True)
    run("ticket", "open", "ben@example.com", "Roses and a wreath, delivered late", "--at", "2026-03-05", ok=True)
    run("ticket", "open", "nova@example.com", "Roses for the counter", "--at", "2026-03-06", ok=True)
    return run


def _refs(run, *words):
    return sorted(hit["ref"] for hit in run.json("search", *words) if hit["kind"] == "ticket")


def test_or_finds_either_word(florist):
    assert _refs(florist, "tulips OR wreath") == ["#1", "#2", "#3"]


def test_not_excludes_the_word(florist):
    assert _refs(florist, "roses NOT wreath") == ["#4"]


def test_a_word_finds_its_other_english_forms(florist):
    assert _refs(florist, "rose") == ["#3", "#4"]
    assert _refs(florist, "deliver") == ["#3"]


def test_accents_and_case_never_matter(florist):
    hits = florist.json("search", "Cafe Nova")
    assert [(hit["kind"], hit["customer_name"]) for hit in hits][0] == ("customer", "Café Nova")


def test_lower_case_or_and_not_are_words_and_all_words_must_match(florist):
    assert _refs(florist, "roses or wreath") == []
    assert _refs(florist, "roses wreath") == ["#3"]


def test_phrase_and_prefix(florist):
    assert _refs(florist, '"for the counter"') == ["#4"]
    assert _refs(florist, '"the for counter"') == []
    assert _refs(florist, "tul*") == ["#1"]


@pytest.mark.parametrize("text", ["NOT wreath", "roses OR", "roses NOT", "roses OR NOT wreath", "AND roses"])
def test_a_dangling_operator_is_one_line_with_a_hint(florist, text):
    result = florist("search", text)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "needs a word" in lines[0] and "Traceback" not in result.stderr
    assert "roses" in result.stderr  # the hint shows how to write it


@pytest.mark.parametrize(
    "text", ["wreath)", '"wreath', "wreath-", "wreath:", "^wreath", "(wreath)", "{wreath}", "wreath!"]
)
def test_fts_syntax_characters_are_only_characters(florist, text):
    assert _refs(florist, text) == ["#2", "#3"]


def test_nothing_to_search_for_is_an_error(florist):
    result = florist("search", "!!! ---")
    assert result.exit_code == 1 and "nothing to search for" in result.stderr


_PIECE = st.one_of(
    st.sampled_from(list("\"*()-+:^{}[],.'\\ ") + ["OR", "NOT", "AND", "NEAR", "rose", "é"]),
    st.text(max_size=3),
)
_TEXT = st.lists(_PIECE, max_size=12).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_TEXT)
def test_any_text_gives_results_or_a_clean_invalid_input(florist, db_path, text):
    conn = database.connect(db_path)
    try:
        searching.search(conn, text)
    except InvalidInput:
        pass
    except sqlite3.Error as error:  # pragma: no cover - the failure this test looks for
        pytest.fail(f"{text!r}: {error}")
    finally:
        conn.close()


def test_m019_keeps_every_record_findable_and_the_triggers_working(florist, db_path):
    conn = database.connect(db_path)
    tokenizers = conn.execute("SELECT sql FROM sqlite_master WHERE name LIKE '%_fts' AND type = 'table'").fetchall()
    assert len(tokenizers) == 3 and all("porter unicode61 remove_diacritics 2" in row[0] for row in tokenizers)
    conn.execute("UPDATE tickets SET subject = 'Orchids arrived frozen' WHERE id = 1")
    assert [hit["ref"] for hit in searching.search(conn, "orchid")] == ["#1"]
    assert searching.search(conn, "tulips") == []
