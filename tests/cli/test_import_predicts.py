"""`carecli import`: a file named in carecli's own fields needs no mapping, and --dry-run predicts
the real run's outcome and exit code on any file (issue 14)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import database_digest


def test_customers_with_carecli_field_names_import_without_a_mapping(run, tmp_path):
    file = tmp_path / "people.csv"
    file.write_text("name,email,phone,tags,notes\nCafé Nova,nova@example.com,+49 30 1234,vip,corner shop\n")
    run("import", "customers", str(file), ok=True)
    [customer] = run.json("customer", "list")
    assert customer["name"] == "Café Nova" and customer["email"] == "nova@example.com"


def test_tickets_with_carecli_field_names_import_without_a_mapping(run, tmp_path):
    file = tmp_path / "tickets.csv"
    file.write_text(
        "customer_email,customer_name,subject,channel,created_at\n"
        "nova@example.com,Café Nova,Tulips wilted,email,2026-03-01 09:00\n"
    )
    run("import", "tickets", str(file), ok=True)
    assert [t["subject"] for t in run.json("ticket", "list")] == ["Tulips wilted"]


def test_a_header_that_is_not_our_field_names_still_needs_a_mapping(run, tmp_path):
    file = tmp_path / "people.csv"
    file.write_text("Full Name,email\nAda,ada@example.com\n")
    result = run("import", "customers", str(file))
    assert result.exit_code == 1
    assert "no mapping given and Full Name is not a customers field" in result.stderr and "--map" in result.stderr


BAD_FILES = {
    "a bad row among good ones": "name,email\nAda,ada@example.com\nBo,not-an-email\nBen,ben@example.com\n",
    "a bad e-mail": "name,email\nAda,not-an-email\n",
    "unknown header": "name,email,shoe size\nAda,ada@example.com,38\n",
    "empty": "",
    "header only": "name,email\n",
    "unreadable quoting": 'name,email\n"Ada,ada@example.com\n',
    "a duplicate header": "name,name\nAda,Ada\n",
}


def _outcome(run, file, *extra):
    result = run("import", "customers", str(file), *extra)
    first_error = next((line for line in result.stderr.splitlines() if line.startswith("error")), None)
    return result.exit_code, first_error


@pytest.mark.parametrize("content", BAD_FILES.values(), ids=BAD_FILES.keys())
@pytest.mark.parametrize(
    "extra",
    [(), ("--skip-bad",), ("--map", "MAP"), ("--map", "MAP", "--skip-bad")],
    ids=["strict", "skip-bad", "mapped", "mapped-skip-bad"],
)
def test_dry_run_predicts_the_real_run(run, tmp_path, db_path, content, extra):
    file = tmp_path / "people.csv"
    file.write_text(content)
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\nname = "name"\nemail = "email"\n')
    extra = tuple(str(mapping) if arg == "MAP" else arg for arg in extra)
    before = database_digest(db_path)
    predicted = _outcome(run, file, "--dry-run", *extra)
    assert database_digest(db_path) == before
    assert _outcome(run, file, *extra) == predicted


def test_dry_run_from_stdin_refuses_like_the_real_run_when_rejects_csv_exists(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rejects.csv").write_text("someone's file\n")
    content = "name,email\nAda,ada@example.com\n,x@example.com\n"
    dry = run("import", "customers", "-", "--skip-bad", "--dry-run", input=content)
    real = run("import", "customers", "-", "--skip-bad", input=content)
    assert dry.exit_code == real.exit_code == 1
    assert "rejects.csv already exists" in dry.stderr


_CELL = st.sampled_from(["Ada", "", "ada@example.com", "not-mail", '"', "vip", "2026-03-01", "x,y"])
_HEADER = st.lists(st.sampled_from(["name", "email", "tags", "notes", "created_at", "colour", "name"]), max_size=4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=_HEADER, rows=st.lists(st.lists(_CELL, max_size=4), max_size=4))
def test_dry_run_predicts_the_real_run_on_any_small_file(run, tmp_path, header, rows):
    file = tmp_path / "any.csv"
    file.write_text("\n".join([",".join(header)] + [",".join(row) for row in rows]) + "\n")
    dry_exit, dry_error = _outcome(run, file, "--dry-run")
    real_exit, real_error = _outcome(run, file)
    assert (dry_exit, dry_error) == (real_exit, real_error)
