"""A customer is found by what people type, whatever the accents and case (issue 14)."""

from __future__ import annotations

import pytest

from carecli.text.folding import fold


def test_fold_removes_case_and_accents():
    assert fold("Café Nová") == "cafe nova" == fold("CAFE NOVA")
    assert fold("Straße") == "strasse" and fold(None) == ""


@pytest.mark.parametrize("typed", ["cafe nova", "CAFE NOVA", "Cafe", "nova", "café nova"])
def test_a_name_typed_without_its_accents_finds_the_customer(run, typed):
    run("customer", "add", "Café Nova", "--email", "shop@example.com", ok=True)
    run("customer", "add", "Ben Okafor", "--email", "ben@example.com", ok=True)
    assert run.json("customer", "show", typed)["name"] == "Café Nova"


def test_an_accent_typed_finds_a_name_written_without_it(run):
    run("customer", "add", "Zoe Martin", "--email", "zoe@example.com", ok=True)
    assert run.json("customer", "show", "Zoé")["name"] == "Zoe Martin"


def test_a_folded_part_that_fits_two_is_an_error_naming_both(run):
    run("customer", "add", "Café Nova", "--email", "nova@example.com", ok=True)
    run("customer", "add", "Café Alta", "--email", "alta@example.com", ok=True)
    result = run("customer", "show", "cafe")
    assert result.exit_code == 1 and "fits 2 customers" in result.stderr and "Café Alta" in result.stderr


def test_no_fit_is_still_not_found(run):
    run("customer", "add", "Café Nova", ok=True)
    result = run("customer", "show", "cafe rosa")
    assert result.exit_code == 1 and "no customer 'cafe rosa'" in result.stderr
