"""Surveys through the CLI: ranges, replacement, ticket close --csat/--ces, listing."""

from __future__ import annotations

import json

import pytest

from tests.conftest import database_digest


@pytest.mark.parametrize(
    "args, message",
    [
        (("survey", "csat", "1", "6"), "a CSAT score must be from 1 to 5, not 6"),
        (("survey", "csat", "1", "0"), "a CSAT score must be from 1 to 5, not 0"),
        (("survey", "ces", "1", "8"), "a CES score must be from 1 to 7, not 8"),
        (("survey", "nps", "ada", "11"), "an NPS score must be from 0 to 10, not 11"),
        (("ticket", "close", "1", "--csat", "9"), "a CSAT score must be from 1 to 5, not 9"),
        (("ticket", "close", "1", "--csat", "4", "--ces", "0"), "a CES score must be from 1 to 7, not 0"),
    ],
)
def test_a_score_out_of_range_names_the_range_and_writes_nothing(shop, db_path, args, message):
    before = database_digest(db_path)
    result = shop(*args)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {message}") and result.stderr.count("\n") == 1
    assert database_digest(db_path) == before


def test_a_second_csat_replaces_the_first_and_says_so(shop):
    shop("survey", "csat", "1", "2", ok=True)
    result = shop("survey", "csat", "1", "5", "--comment", "Lovely", ok=True)
    assert "replaced the earlier CSAT (2) for ticket #1" in result.stderr
    rows = shop.json("survey", "list")
    assert [(r["kind"], r["score"], r["comment"]) for r in rows] == [("csat", 5, "Lovely")]


def test_a_replaced_answer_is_kept_and_listed_with_all_with_the_time_it_was_replaced(shop, db_path):
    shop("survey", "csat", "1", "2", "--at", "2026-03-13 12:00", ok=True)
    shop("survey", "csat", "1", "5", "--at", "2026-03-14 09:00", ok=True)
    rows = shop.json("survey", "list", "--all")
    assert [(r["score"], r["at"], r["superseded_at"]) for r in rows] == [
        (5, "2026-03-14T08:00:00+00:00", None),
        (2, "2026-03-13T11:00:00+00:00", "2026-03-14T08:00:00+00:00"),
    ]
    table = shop("survey", "list", "--all", ok=True).stdout
    assert "replaced" in table.splitlines()[0]
    # Exports and the tickets' csat column read the current answer only.
    exported = shop("export", "surveys", "--format", "jsonl", ok=True).stdout.splitlines()
    assert [json.loads(line)["score"] for line in exported] == [5]
    assert [t["csat"] for t in shop.json("export", "tickets")] == [5]


def test_a_replacement_dated_before_the_answer_it_replaces_is_refused_naming_at_and_writes_nothing(shop, db_path):
    shop("survey", "csat", "1", "4", "--at", "2026-03-14 09:00", ok=True)
    before = database_digest(db_path)
    result = shop("survey", "csat", "1", "1", "--at", "2026-03-13 12:00")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: --at 2026-03-13 12:00 is before the CSAT it would replace for ticket #1")
    assert database_digest(db_path) == before


def test_close_records_csat_and_ces_with_the_close(shop):
    shop("ticket", "close", "1", "--csat", "4", "--ces", "6", "--at", "2026-03-13 12:00", ok=True)
    rows = shop.json("survey", "list", "--ticket", "1")
    assert sorted((r["kind"], r["score"], r["at"]) for r in rows) == [
        ("ces", 6, "2026-03-13T11:00:00+00:00"),
        ("csat", 4, "2026-03-13T11:00:00+00:00"),
    ]


def test_every_nps_response_counts_and_list_filters_by_kind_and_customer(shop):
    shop("survey", "nps", "ada", "9", "--at", "2026-03-01", ok=True)
    shop("survey", "nps", "ada", "10", ok=True)
    shop("survey", "nps", "ben", "3", ok=True)
    shop("survey", "csat", "1", "5", ok=True)
    assert len(shop.json("survey", "list", "--kind", "nps")) == 3
    assert [r["score"] for r in shop.json("survey", "list", "--kind", "nps", "--customer", "ada")] == [10, 9]
    assert len(shop.json("survey", "list", "--since", "2026-03-10")) == 3


def test_survey_on_a_missing_ticket_or_unknown_kind_is_an_error(shop):
    assert "no ticket #9" in shop("survey", "csat", "9", "5").stderr
    assert "unknown survey kind 'foo'" in shop("survey", "list", "--kind", "foo").stderr


def test_an_answer_dated_before_the_ticket_was_opened_is_refused_and_writes_nothing(shop, db_path):
    before = database_digest(db_path)
    result = shop("survey", "csat", "1", "2", "--at", "2026-03-12 09:00")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot record a CSAT answer for ticket #1 at 2026-03-12 09:00")
    assert database_digest(db_path) == before
