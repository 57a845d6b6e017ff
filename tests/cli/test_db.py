"""`carecli db ...`: backups, checks, facts and explicit migrations."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from carecli.schema import migrations

CARECLI = Path(sys.executable).parent / "carecli"  # the installed entry point


def test_backup_is_a_private_consistent_copy_next_to_the_database(shop, db_path):
    result = shop("db", "backup", ok=True)
    target = result.stdout.strip()
    assert os.path.dirname(target) == str(db_path.parent)
    assert "care-backup-2026" in target and (os.stat(target).st_mode & 0o777) == 0o600
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT name FROM customers ORDER BY id").fetchall() == [("Ada Lovelace",), ("Ben Okafor",)]
    again = shop("db", "backup", target)
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_backup_taken_while_another_process_writes_is_consistent(run, db_path, tmp_path):
    run("init", ok=True)
    writer = textwrap.dedent(f"""
        import time
        from carecli.core import store
        from carecli.schema import database
        conn = database.connect({str(db_path)!r})
        deadline = time.time() + 4
        i = 0
        while time.time() < deadline:
            with store.transaction(conn):  # a customer and their ticket, always together
                cid = conn.execute("INSERT INTO customers (name, created_at) VALUES (?, '2026-03-01T00:00:00+00:00')",
                                   (f"Writer {{i}}",)).lastrowid
                conn.execute("INSERT INTO tickets (customer_id, subject, channel, category, priority, status, "
                             "created_at, updated_at) VALUES (?, 's', 'email', 'other', 'normal', 'open', "
                             "'2026-03-01T00:00:00+00:00', '2026-03-01T00:00:00+00:00')", (cid,))
            i += 1
    """)
    proc = subprocess.Popen([sys.executable, "-c", writer])
    try:
        time.sleep(0.7)
        targets = []
        for n in range(3):
            targets.append(tmp_path / f"b{n}.db")
            result = run("db", "backup", str(targets[-1]))
            assert result.exit_code == 0, result.stderr
            time.sleep(0.2)
        assert proc.poll() is None, "the writer stopped before the backups were taken"
    finally:
        proc.wait()
    for target in targets:
        copy = sqlite3.connect(target)
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        customers, tickets = copy.execute(
            "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM tickets)"
        ).fetchone()
        assert customers == tickets > 0


def test_check_passes_on_a_healthy_database_and_fails_on_a_broken_reference(shop, db_path):
    assert shop("db", "check", ok=True).stderr.strip() == "database ok"
    conn = sqlite3.connect(db_path)  # foreign keys are off by default in a plain connection
    conn.execute(
        "INSERT INTO interactions (customer_id, direction, channel, body, at) "
        "VALUES (99, 'in', 'email', 'orphan', '2026-03-01T00:00:00+00:00')"
    )
    conn.commit()
    result = shop("db", "check")
    assert result.exit_code == 1
    assert "foreign key: interactions row" in result.stdout and "error: 1 problem" in result.stderr


def test_info_reports_path_schema_and_row_counts(shop, db_path):
    facts = shop.json("db", "info")
    assert facts["path"] == str(db_path.resolve())
    assert facts["schema_version"] == migrations.NAMES[-1] and facts["migrations_pending"] == []
    assert facts["rows"]["customers"] == 2 and facts["rows"]["tickets"] == 1


def _unapply_search(db_path):
    conn = sqlite3.connect(db_path)
    for name, kind in conn.execute(
        "SELECT name, type FROM sqlite_master WHERE name LIKE '%fts%' AND type IN ('trigger', 'table') "
        "AND sql IS NOT NULL AND (type = 'trigger' OR sql LIKE 'CREATE VIRTUAL%')"
    ).fetchall():
        conn.execute(f"DROP {'TRIGGER' if kind == 'trigger' else 'TABLE'} IF EXISTS {name}")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm004_search'")
    conn.commit()
    conn.close()


def test_migrate_backs_up_a_database_with_data_before_changing_its_schema(shop, db_path):
    _unapply_search(db_path)
    check = shop("db", "check")
    assert check.exit_code == 1 and "migrations not applied: m004_search" in check.stdout
    result = shop("db", "migrate", ok=True)
    assert "backed up to" in result.stderr and "applied m004_search" in result.stderr
    backups = [p for p in os.listdir(db_path.parent) if p.startswith("care-backup-")]
    assert len(backups) == 1
    assert shop("db", "migrate", ok=True).stderr.strip() == "schema up to date"
    assert shop.json("search", "vase")[0]["ref"] == "#1"  # the new index covers the old rows


def test_migrate_on_a_new_database_needs_no_backup(run, db_path):
    result = run("db", "migrate", ok=True)
    assert "backed up" not in result.stderr
    assert not [p for p in os.listdir(db_path.parent) if "backup" in p]
    assert json.loads(run("db", "info", "--format", "json", ok=True).stdout)["migrations_pending"] == []


# ---------------------------------------------------------------- opening: only init, demo and import create

# Every kind of command that reads or writes the database, none of which may create it.
NON_CREATING = [
    ["report", "daily", "--fail-on-breach"],
    ["ticket", "list"],
    ["customer", "add", "Ada"],
    ["today"],
    ["kpi"],
    ["search", "vase"],
    ["export", "tickets"],
    ["db", "info"],
    ["db", "check"],
    ["db", "migrate"],
    ["db", "backup"],
]
CUSTOMERS_CSV = (  # as `carecli export customers --raw` writes it, for `import --preset carecli`
    "external_id,name,email,phone,tags,notes,created_at,lost_at,lost_reason\n"
    "C1,Ada Lovelace,ada@example.com,,,,2026-03-01T09:00:00+00:00,,\n"
)


def only_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("args", NON_CREATING, ids=" ".join)
def test_a_mistyped_database_path_is_an_error_and_creates_nothing(run_without_db, tmp_path, args):
    before = files_under(tmp_path)
    path = tmp_path / "florst" / "shop.db"
    result = run_without_db("--db", str(path), *args)
    assert result.exit_code == 1
    assert only_error_line(result) == (
        f"error: no carecli database at {path}; check the path, or create one with carecli init --db {path}"
    )
    assert files_under(tmp_path) == before  # no folder, no file, no -wal or -shm


def test_an_import_dry_run_creates_no_database(run_without_db, db_path, tmp_path):
    source = tmp_path / "customers.csv"
    source.write_text(CUSTOMERS_CSV)
    result = run_without_db("import", "customers", str(source), "--preset", "carecli", "--dry-run")
    assert result.exit_code == 1
    assert only_error_line(result).startswith(f"error: no carecli database at {db_path};")
    assert not db_path.exists()


@pytest.mark.skipif(not CARECLI.exists(), reason="carecli is not installed next to this Python")
def test_cron_with_a_mistyped_path_fails_instead_of_reporting_zeros(tmp_path):
    path = tmp_path / "florst" / "shop.db"
    result = subprocess.run(
        [str(CARECLI), "--db", str(path), "report", "daily", "--fail-on-breach"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},  # cron's bare environment
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"error: no carecli database at {path};")
    assert f"carecli init --db {path}" in result.stderr
    assert not path.parent.exists()


def test_an_empty_file_is_refused_by_every_command_but_init(run_without_db, db_path):
    db_path.touch()
    result = run_without_db("ticket", "list")
    assert result.exit_code == 1
    assert only_error_line(result).startswith(f"error: no carecli database at {db_path};")
    assert db_path.stat().st_size == 0
    assert files_under(db_path.parent) == ["care.db"]
    run_without_db("init", ok=True)
    assert run_without_db("ticket", "list", ok=True).exit_code == 0


def another_programs_database(path: Path) -> bytes:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("INSERT INTO notes (body) VALUES ('not carecli data')")
    conn.commit()
    conn.close()
    return path.read_bytes()


@pytest.mark.parametrize(
    "args",
    [*NON_CREATING, ["init"], ["import", "customers", "-", "--preset", "carecli"]],
    ids=" ".join,
)
def test_another_programs_sqlite_file_is_refused_and_left_untouched(run_without_db, db_path, args):
    content = another_programs_database(db_path)
    result = run_without_db(*args, input=CUSTOMERS_CSV)
    assert result.exit_code == 1
    assert only_error_line(result) == (
        f"error: {db_path} is not a carecli database (an SQLite file that carecli did not make); "
        "pass --db with a carecli database, or a new path to carecli init"
    )
    assert db_path.read_bytes() == content  # no carecli tables, not switched to WAL
    assert files_under(db_path.parent) == ["care.db"]  # no -wal, no -shm, no backup


@pytest.mark.parametrize(
    "args",
    [["customer", "add", "Ada"], ["ticket", "list"], ["init"], ["demo", "--yes"], ["config", "show"]],
    ids=" ".join,
)
def test_an_in_memory_database_is_refused_by_every_command(run_without_db, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    before = files_under(tmp_path)
    result = run_without_db("--db", ":memory:", *args)
    assert result.exit_code == 1
    assert only_error_line(result).startswith("error: --db :memory: would keep nothing")
    assert result.stdout == ""
    assert files_under(tmp_path) == before  # today's bug also left an empty file named ':memory:'


def test_init_creates_the_database_and_its_folder(run_without_db, tmp_path):
    path = tmp_path / "new" / "folder" / "shop.db"
    result = run_without_db("--db", str(path), "init", ok=True)
    assert result.stdout.strip() == str(path)
    assert (path.stat().st_mode & 0o777) == 0o600
    assert run_without_db("--db", str(path), "customer", "add", "Ada", ok=True).exit_code == 0


def test_import_into_a_new_path_creates_the_database(run_without_db, tmp_path):
    path = tmp_path / "new" / "shop.db"
    result = run_without_db("--db", str(path), "import", "customers", "-", "--preset", "carecli", input=CUSTOMERS_CSV)
    assert result.exit_code == 0, result.stderr
    assert run_without_db.json("--db", str(path), "customer", "list")[0]["name"] == "Ada Lovelace"


def test_demo_never_touches_the_database_carecli_db_names(run, db_path, monkeypatch, tmp_path):
    run("customer", "add", "Ada", ok=True)
    before = db_path.read_bytes()
    result = run("demo", "--days", "7")  # no --yes, no terminal: nothing to confirm either
    assert result.exit_code == 0, result.stderr
    demo = tmp_path / "data" / "carecli" / "demo.db"
    assert f"demo database: {demo}" in result.stderr
    assert db_path.read_bytes() == before
    assert [c["name"] for c in run.json("customer", "list")] == ["Ada"]


def test_demo_into_a_new_path_creates_the_database(run_without_db, tmp_path):
    path = tmp_path / "new" / "demo.db"
    run_without_db("--db", str(path), "demo", "--days", "7", ok=True)
    assert run_without_db.json("--db", str(path), "db", "info")["rows"]["customers"] > 0
