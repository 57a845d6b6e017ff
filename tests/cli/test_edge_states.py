"""Edge states users met (issue 12): an empty shop with business hours and an SLA, a corrupt page."""

from __future__ import annotations

import json
import sqlite3

BUSINESS_HOURS_AND_SLA = '[business_hours]\nenabled = true\n[sla.normal]\nfirst_response = "4h"\nresolution = "2d"\n'


def test_exporting_tickets_of_a_shop_without_tickets_with_business_hours_and_an_sla_gives_no_rows(run, isolated):
    config = isolated / "config.toml"
    config.write_text(BUSINESS_HOURS_AND_SLA)
    result = run("--config", str(config), "export", "tickets")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("id,") and len(result.stdout.splitlines()) == 1
    listed = run("--config", str(config), "export", "tickets", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    assert json.loads(listed.stdout) == []


def _damage(db_path, table: str | None) -> None:
    """Scribble over the page holding `table`'s rows (None: the first page, the schema's), as a disk fault would."""
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every row in the main file
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = (
        1
        if table is None
        else conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    )
    conn.close()
    with open(db_path, "r+b") as file:
        file.seek((root - 1) * page_size + (100 if root == 1 else 0))  # page 1 starts with the file header
        file.write(b"\xde\xad\xbe\xef" * 300)


def _findings(result) -> list[str]:
    assert result.exit_code == 1, result.stderr
    assert "pass --db" not in result.stderr and "not a carecli database" not in result.stderr
    findings = result.stdout.splitlines()
    assert findings and all(line.startswith(("integrity: ", "foreign keys: ", "migrations: ")) for line in findings)
    assert f"{len(findings)} problem" in result.stderr
    return findings


def test_db_check_on_a_damaged_page_lists_the_problems_and_exits_1(shop, db_path):
    _damage(db_path, "tickets")
    findings = _findings(shop("db", "check"))
    assert any(line.startswith("integrity: ") and "page" in line.lower() for line in findings)


def test_db_check_on_a_damaged_schema_page_still_lists_what_it_found(shop, db_path):
    _damage(db_path, None)
    findings = _findings(shop("db", "check"))
    assert any(line.startswith("integrity: ") for line in findings)


def test_other_commands_on_a_damaged_database_say_so_and_name_db_check(shop, db_path):
    _damage(db_path, "tickets")
    result = shop("ticket", "list")
    assert result.exit_code == 1
    assert "is damaged" in result.stderr and "carecli db check" in result.stderr and "pass --db" not in result.stderr
