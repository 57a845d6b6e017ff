"""`carecli db ...`: backups, checks, facts and explicit migrations."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time

from carecli.schema import migrations


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
