"""Bad input users typed (issue 12, from the fuzzing): each is one error line naming what to fix."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# A mapping mistake, and a word the error must contain to name the key at fault.
BAD_MAPPINGS = [
    ('columns = "Subject"', "'columns' must be a section"),
    ('columns = ["Subject"]', "'columns' must be a section"),
    ("values = 3", "'values' must be a section"),
    ('time = "UTC"', "'time' must be a section"),
    ("[columns]\nsubject = 5", "[columns] subject"),
    ("[columns]\nsubject = []", "[columns] subject"),
    ('[columns]\nsubjekt = "Subject"', "unknown field 'subjekt'"),
    ('[values]\npriority = "high"', "[values] priority"),
    ('[values.priority]\nhigh = ["urgent"]', "[values.priority] 'high'"),
    ("[values.priority]\nhigh = { a = 1 }", "[values.priority] 'high'"),
    ("[time]\ntimezone = 5", "[time] timezone"),
    ('[time]\ntimezone = "Mars/Base"', "[time] timezone"),
    ("[time]\nformat = 5", "[time] format"),
    ("[time]\nformat = true", "[time] format"),
]


@pytest.mark.parametrize(("mapping", "names"), BAD_MAPPINGS, ids=[m for m, _ in BAD_MAPPINGS])
def test_every_mapping_mistake_names_the_key_and_the_fix(run, tmp_path, mapping, names):
    (tmp_path / "in.csv").write_text("Subject,Name,Created\nVase,Ada,2026-03-01\n")
    complete = '\n[columns]\nsubject = "Subject"\ncustomer_name = "Name"\ncreated_at = "Created"\n'
    (tmp_path / "m.toml").write_text(mapping + ("" if "columns" in mapping else complete))
    result = run("import", "tickets", str(tmp_path / "in.csv"), "--map", str(tmp_path / "m.toml"), "--dry-run")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "internal error" not in lines[0]
    assert names in lines[0] and "; " in lines[0], "the key and, after it, the fix"


# ---------------------------------------------------------------- config values: type and range, or an error naming the key

BAD_CONFIG = [
    ("[care]\nrecovery_csat_max = 2.7", "care.recovery_csat_max"),  # was cut to 2
    ("[care]\nrecovery_csat_max = true", "care.recovery_csat_max"),  # was 1
    ("[care]\nrecovery_csat_max = 9", "care.recovery_csat_max"),  # CSAT is 1-5
    ("[care]\nrecovery_ces_max = 0", "care.recovery_ces_max"),
    ("[care]\nrecovery_nps_max = -1", "care.recovery_nps_max"),
    ("[care]\nthank_you_nps_min = 11", "care.thank_you_nps_min"),
    ("[care]\nrepeat_contact_tickets = 0", "care.repeat_contact_tickets"),
    ('channels = ["email", " "]', "channels"),  # was a channel named ''
    ('channels = ["email", "Email"]', "channels"),
    ('default_channel = "fax"', "default_channel"),
    ('priorities = ["low", "high"]', "default_priority"),  # the default 'normal' is gone
    ('[business_hours]\ndays = ["monkey"]', "business_hours.days"),  # was read as 'mon'
    ('[business_hours]\nstart = "0٩:00"', "business_hours.start"),
    ('[business_hours]\nholidays = ["２０２６-12-25"]', "business_hours.holidays"),
]


@pytest.mark.parametrize(("text", "key"), BAD_CONFIG, ids=[t for t, _ in BAD_CONFIG])
def test_a_config_value_of_the_wrong_type_or_out_of_range_is_an_error_naming_the_key(run, tmp_path, text, key):
    (tmp_path / "bad.toml").write_text(text + "\n")
    result = run("--config", str(tmp_path / "bad.toml"), "ticket", "list")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert f"'{key}'" in lines[0] and "internal error" not in lines[0]


def test_config_values_in_range_are_kept_as_written(tmp_path):
    from carecli.core import config

    path = tmp_path / "ok.toml"
    path.write_text(
        'default_channel = "Chat"\n[care]\nrecovery_csat_max = 5\nrecovery_nps_max = 0\n'
        '[business_hours]\ndays = ["Monday", "tue"]\n'
    )
    settings = config.load(path, env={"CARECLI_CARE_RECOVERY_CES_MAX": " 7 "})
    assert settings["care.recovery_csat_max"] == 5 and settings["care.recovery_nps_max"] == 0
    assert settings["care.recovery_ces_max"] == 7 and settings["business_hours.days"] == ["mon", "tue"]


@given(st.text(max_size=8))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_whole_number_from_the_environment_is_ascii_digits_in_range_or_an_error_naming_the_key(text):
    from carecli.core import config
    from carecli.core.errors import ConfigError

    try:
        value = config.load(None, env={"CARECLI_CARE_RECOVERY_CSAT_MAX": text})["care.recovery_csat_max"]
    except ConfigError as exc:
        assert "'care.recovery_csat_max'" in str(exc)
        return
    digits = text.strip().lstrip("+-")
    assert digits.isascii() and digits.isdigit(), f"{text!r} accepted as {value}"
    assert value == int(text.strip()) and 1 <= value <= 5  # str.strip(): Unicode whitespace such as \x1f too


# ---------------------------------------------------------------- ids: ASCII digits only

# Every place an id is typed: (command before the id, command after it).
ID_PLACES = [
    (["ticket", "show"], []),
    (["ticket", "reply"], ["thanks"]),
    (["ticket", "close"], []),
    (["followup", "show"], []),
    (["followup", "done"], []),
    (["survey", "csat"], ["5"]),
    (["survey", "list", "--ticket"], []),
    (["followup", "add", "ada", "--due", "tomorrow", "--ticket"], []),
]


@pytest.mark.parametrize("digits", ["١", "１", "١٢", "𝟏", "²"])
@pytest.mark.parametrize(("before", "after"), ID_PLACES, ids=[" ".join(b) for b, _ in ID_PLACES])
def test_an_id_written_with_other_scripts_digits_is_refused_and_changes_nothing(shop, db_path, before, after, digits):
    from tests.conftest import database_digest

    before_digest = database_digest(db_path)
    result = shop(*before, digits, *after)
    assert result.exit_code == 2, result.stdout
    assert "is not an id: write it with the digits 0-9" in result.stderr
    assert database_digest(db_path) == before_digest


@given(st.text(min_size=1, max_size=6))
@settings(max_examples=300, deadline=None)
def test_an_id_is_read_only_from_ascii_digits(text):
    import typer

    from carecli.cli.options import record_id

    try:
        number = record_id(text)
    except typer.BadParameter:
        return
    digits = text.strip()
    assert digits.isascii() and digits.isdigit() and number == int(digits) >= 1


# ---------------------------------------------------------------- customer references: % and _ are characters, not wildcards


def test_percent_and_underscore_in_a_customer_reference_are_literal(shop):
    assert shop("customer", "show", "a_a").exit_code == 1  # '_' matched the 'd' of "Ada"
    assert "no customer 'a_a'" in shop("customer", "show", "a_a").stderr
    assert "no customer '%'" in shop("customer", "show", "%").stderr  # '%' fitted every customer
    assert shop("ticket", "open", "_", "Wildcard", "--at", "2026-03-10").exit_code == 1
    shop("customer", "add", "100% Flowers", "--at", "2026-03-03", ok=True)
    assert shop.json("customer", "show", "100%")["name"] == "100% Flowers"
    assert [c["name"] for c in shop.json("customer", "list", "--search", "%")] == ["100% Flowers"]
    assert shop.json("customer", "list", "--search", "_") == []


def test_an_underscore_in_a_tag_filter_matches_only_that_tag(shop):
    shop("customer", "add", "Cleo", "--tag", "a_b", "--at", "2026-03-03", ok=True)
    shop("customer", "add", "Dev", "--tag", "axb", "--at", "2026-03-03", ok=True)
    shop("ticket", "open", "Cleo", "Order late", "--tag", "a_b", "--at", "2026-03-10", ok=True)
    shop("ticket", "open", "Dev", "Order lost", "--tag", "axb", "--at", "2026-03-10", ok=True)
    assert [c["name"] for c in shop.json("customer", "list", "--tag", "a_b")] == ["Cleo"]
    assert [t["subject"] for t in shop.json("ticket", "list", "--tag", "a_b")] == ["Order late"]


# ---------------------------------------------------------------- kpi --by day over a century: a bound, not seconds and 526 MB


def test_kpi_by_day_over_decades_is_refused_at_once_naming_a_coarser_unit(shop):
    import time

    started = time.monotonic()
    result = shop("kpi", "--by", "day", "--since", "1971-01-01")
    assert time.monotonic() - started < 3
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "more than 3660" in lines[0] and "use --by week" in lines[0], result.stderr
    rows = shop.json("kpi", "--by", "month", "--since", "1971-01-01")
    assert rows[0]["group"] == "1971-01" and rows[-1]["group"] == "2026-03"
