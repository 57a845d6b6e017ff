"""How the root command reports failures: one line, escaped, never a traceback (regressions the fuzzer found)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import database_digest

CARECLI = Path(sys.executable).parent / "carecli"


@pytest.mark.parametrize("ref", ["99999999999999999999999", "#99999999999999999999", "²", "١٢"])
def test_customer_ids_too_big_or_not_ascii_are_not_found_not_a_crash(shop, db_path, ref):
    before = database_digest(db_path)
    result = shop("customer", "show", ref)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no customer") and "internal error" not in result.stderr
    assert database_digest(db_path) == before


def test_a_ticket_id_too_big_is_a_usage_error(shop):
    result = shop("ticket", "show", "99999999999999999999999")
    assert result.exit_code == 2


def test_control_characters_in_a_quoted_value_stay_on_one_escaped_line(shop):
    result = shop("customer", "show", "evil\r\n\x1b[2Jname")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "\\r\\n\\x1b[2Jname" in result.stderr


@pytest.mark.skipif(not CARECLI.exists(), reason="carecli is not installed next to this Python")
def test_a_reader_that_goes_away_is_not_an_error(shop, db_path):
    conn = sqlite3.connect(db_path)
    with conn:  # more than a pipe buffer of output
        conn.executemany(
            "INSERT INTO customers (name, created_at) VALUES (?, '2026-01-01T00:00:00+00:00')",
            [(f"Customer {n} " + "x" * 100,) for n in range(3000)],
        )
    conn.close()
    process = subprocess.Popen(
        [str(CARECLI), "customer", "list", "--format", "csv"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    process.stdout.read(10)
    process.stdout.close()  # like `| head -1`
    stderr = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "error" not in stderr and "Traceback" not in stderr


@pytest.mark.parametrize(
    "args",
    [
        ["db", "backup", "a\x00b"],
        ["--db", "a\x00b", "ticket", "list"],
        ["export", "tickets", "--output", "a\x00b"],
        ["import", "tickets", "a\x00b", "--preset", "carecli"],
    ],
)
def test_a_path_with_a_nul_character_is_a_usage_error(run, args):
    result = run(*args)
    assert result.exit_code == 2
    assert "cannot contain a NUL character" in result.stderr


def test_a_file_system_refusal_is_one_line_not_an_internal_error(shop, tmp_path):
    result = shop("db", "backup", str(tmp_path / ("x" * 300) / "b.db"))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "internal error" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("ticket", "reply", "1", "x", "--at", "+2d"),
        ("ticket", "open", "ada", "x", "--at", "next fri"),
        ("ticket", "close", "1", "--at", "tomorrow"),
        ("log", "ada", "called", "--at", "2027-01-01"),
        ("survey", "csat", "1", "5", "--at", "+1h"),
        ("customer", "lost", "ada", "--reason", "price", "--at", "+1d"),
    ],
)
def test_what_happened_cannot_be_in_the_future(shop, db_path, args):
    before = database_digest(db_path)
    result = shop(*args)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --at ") and "is in the future" in result.stderr
    assert "Traceback" not in result.stderr
    assert database_digest(db_path) == before


def test_a_time_within_a_minute_of_now_is_accepted(shop):
    shop("ticket", "reply", "1", "x", "--at", "+30s", ok=True)


def test_errors_show_times_as_local_minutes_not_stored_utc(run):
    result = run("kpi", "--since", "2026-03-05", "--until", "2026-03-01")
    assert result.stderr == (
        "error: the period is empty: --until (2026-03-02 00:00) is not after --since (2026-03-05 00:00);"
        " give an --until later than --since\n"
    )
    run("customer", "add", "Ada", ok=True)
    run("ticket", "open", "ada", "Vase", "--at", "2026-03-13 09:00", ok=True)
    result = run("ticket", "reply", "1", "On it", "--at", "2026-03-12 09:00")
    assert "at 2026-03-12 09:00: it was opened at 2026-03-13 09:00" in result.stderr
    assert "+00:00" not in result.stderr
