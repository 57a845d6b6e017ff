"""The store opens every database the same safe way, and says in one line when it cannot."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from carecli.core import store
from carecli.core.errors import StoreError
from carecli.schema import database, migrations
from tests.conftest import database_digest

TABLES = {
    "customers": {"id", "name", "email", "tags", "created_at", "lost_at", "lost_reason", "external_id"},
    "tickets": {
        "id",
        "customer_id",
        "status",
        "created_at",
        "first_response_at",
        "first_closed_at",
        "closed_at",
        "reopen_count",
        "reply_count",
        "first_response_s",
        "first_resolution_s",
        "resolution_s",
    },
    "interactions": {"id", "customer_id", "ticket_id", "followup_id", "direction", "channel", "body", "at"},
    "events": {"id", "customer_id", "ticket_id", "kind", "at", "detail"},
    "followups": {"id", "customer_id", "ticket_id", "kind", "due_at", "recurrence", "status", "previous_id"},
    "surveys": {"id", "kind", "customer_id", "ticket_id", "score", "at"},
}
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
SETPRIV = shutil.which("setpriv")


class Unprivileged:
    """Runs the installed carecli as `nobody`, because root ignores file permissions (CI runs as root).

    As any other user the checks run in-process through CliRunner, as the rest of the suite does.
    """

    def __init__(self, home: Path) -> None:
        self.home = home

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.home / "data"),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "CARECLI_NOW": os.environ["CARECLI_NOW"],
            "CARECLI_TIMEZONE": "Europe/Berlin",
        }
        command = [sys.executable, "-m", "carecli", *args]
        return subprocess.run(
            [SETPRIV, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", *command],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture
def nobody(isolated):
    """A folder owned by `nobody`, and a runner that runs carecli as `nobody` in it."""
    if not SETPRIV:
        pytest.skip("setpriv (util-linux) is needed to drop root's privileges")
    home = Path(tempfile.mkdtemp(prefix="carecli-nobody-"))
    try:
        os.chown(home, pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid)
        runner = Unprivileged(home)
        probe = runner("--help")
        if probe.returncode != 0 and "error while loading shared libraries" in probe.stderr:
            # e.g. a pyenv Python under /root: its libpython is out of nobody's reach
            pytest.skip(f"this Python cannot run as nobody: {probe.stderr.strip()[-200:]}")
        if probe.returncode != 0:
            pytest.fail(f"carecli cannot run as nobody (is the venv readable by all?): {probe.stderr[-500:]}")
        yield runner
    finally:
        shutil.rmtree(home, ignore_errors=True)


def error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines and lines[0].startswith("error:"), stderr
    return lines[0]


def columns(conn, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def test_a_new_database_gets_every_migration_and_the_schema(db_path):
    conn = database.connect(db_path, create=True)
    assert [name for name, _ in database.applied_migrations(conn)] == migrations.NAMES
    for table, expected in TABLES.items():
        assert expected <= columns(conn, table), table


def test_reopening_applies_nothing_again(db_path):
    database.connect(db_path, create=True).close()
    before = database_digest(db_path)
    conn = database.connect(db_path)
    assert database.pending_migrations(conn) == []
    assert database.apply_migrations(conn) == []
    conn.close()
    assert database_digest(db_path) == before


def test_connections_use_wal_a_busy_timeout_and_foreign_keys(db_path):
    conn = database.connect(db_path, create=True)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == store.BUSY_TIMEOUT_S * 1000
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO tickets (customer_id, subject, channel, category, priority, status, created_at, "
            "updated_at) VALUES (99, 's', 'email', 'other', 'normal', 'open', 'x', 'x')"
        )


def test_the_database_file_is_private(db_path):
    database.connect(db_path, create=True).close()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


def test_only_a_creating_connect_makes_a_database(tmp_path):
    path = tmp_path / "florst" / "shop.db"
    with pytest.raises(StoreError, match="no carecli database at"):
        database.connect(path)
    assert not path.parent.exists()
    database.connect(path, create=True).close()
    conn = database.connect(path)
    assert database.pending_migrations(conn) == []
    conn.close()


@pytest.mark.parametrize("create", [False, True])
def test_another_programs_database_is_refused_before_anything_is_written(tmp_path, create):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    content = path.read_bytes()
    with pytest.raises(StoreError, match="is not a carecli database"):
        database.connect(path, create=create)
    assert path.read_bytes() == content
    assert [p.name for p in tmp_path.iterdir()] == ["other.db"]


def test_an_sqlite_file_with_nothing_in_it_is_completed_only_by_a_creating_connect(db_path):
    """What a first `init` killed after switching to WAL leaves (or a second process sees meanwhile)."""
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    assert db_path.stat().st_size > 0
    with pytest.raises(StoreError, match="no carecli database at"):
        database.connect(db_path)
    conn = database.connect(db_path, create=True)
    assert database.pending_migrations(conn) == []
    conn.close()


@pytest.mark.parametrize("create", [False, True])
def test_an_in_memory_database_is_refused(tmp_path, monkeypatch, create):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match="would keep nothing"):
        database.connect(":memory:", create=create)
    assert list(tmp_path.iterdir()) == []


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


@pytest.mark.parametrize(
    "content", [b"hello, this is a text file" * 20, os.urandom(4096), b"SQLite format 3\0" + b"\xff" * 200]
)
@pytest.mark.parametrize("command", [["ticket", "list"], ["init"]], ids=" ".join)
def test_a_file_that_is_not_a_database_gives_one_line(run, db_path, content, command):
    db_path.write_bytes(content)
    result = run(*command)
    assert result.exit_code == 1
    assert "not a carecli database" in one_error_line(result)
    assert db_path.read_bytes() == content
    assert sorted(p.name for p in db_path.parent.iterdir() if p.name.startswith("care.db")) == ["care.db"]


def test_a_database_path_under_a_file_gives_one_line(run, isolated):
    blocker = isolated / "plain-file"
    blocker.write_text("x")
    result = run("--db", str(blocker / "care.db"), "ticket", "list")
    assert result.exit_code == 1
    one_error_line(result)


def test_init_in_a_read_only_directory_gives_one_line(run, isolated, request):
    if IS_ROOT:
        nobody = request.getfixturevalue("nobody")
        folder = nobody.home / "locked"
        folder.mkdir()
        os.chown(folder, pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid)
        folder.chmod(0o500)
        result = nobody("--db", str(folder / "care.db"), "init")
        assert result.returncode == 1, result.stderr
        assert "cannot create database" in error_line(result.stderr)
        return
    folder = isolated / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        result = run("--db", str(folder / "care.db"), "init")
    finally:
        folder.chmod(0o700)
    assert result.exit_code == 1
    assert "cannot create database" in one_error_line(result)


def test_a_read_only_database_can_be_read_but_a_write_gives_one_line(run, db_path, request):
    if IS_ROOT:
        nobody = request.getfixturevalue("nobody")
        db = str(nobody.home / "care.db")
        assert nobody("--db", db, "init").returncode == 0
        assert nobody("--db", db, "customer", "add", "Ada").returncode == 0
        os.chmod(db, 0o400)
        listed = nobody("--db", db, "customer", "list")
        assert listed.returncode == 0, listed.stderr
        assert "Ada" in listed.stdout
        result = nobody("--db", db, "customer", "add", "Ben")
        assert result.returncode == 1, result.stderr
        assert "cannot write to database" in error_line(result.stderr)
        return
    run("customer", "add", "Ada", ok=True)
    db_path.chmod(0o400)
    try:
        assert run("customer", "list").exit_code == 0
        result = run("customer", "add", "Ben")
    finally:
        db_path.chmod(0o600)
    assert result.exit_code == 1
    assert "cannot write to database" in one_error_line(result)


def test_two_processes_creating_the_same_database_both_succeed(db_path):
    code = "import sys; from carecli.schema import database; database.connect(sys.argv[1], create=True).close()"
    for _ in range(3):
        for suffix in ("", "-wal", "-shm"):
            db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
        processes = [
            subprocess.Popen([sys.executable, "-c", code, str(db_path)], stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        for process in processes:
            assert process.wait(timeout=60) == 0, process.stderr.read()
        conn = sqlite3.connect(db_path)
        assert conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == len(migrations.NAMES)
        conn.close()


def test_connections_keep_temporary_tables_in_memory(run, db_path):
    """A read builds temporary tables (business-hours offsets, sorts): never on a disk that may be full."""
    from carecli.cli.state import STATE

    assert database.connect(db_path).execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
    assert store.open_connection(db_path).execute("PRAGMA temp_store").fetchone()[0] == 2
    run("customer", "list", ok=True)
    assert STATE.conn.execute("PRAGMA temp_store").fetchone()[0] == 2


BUSINESS_HOURS_AND_SLA = '[business_hours]\nenabled = true\n[sla.normal]\nfirst_response = "4h"\nresolution = "2d"\n'


def test_an_export_with_business_hours_and_an_sla_reads_a_read_only_database(run, db_path, isolated, request):
    """Its offsets table is a temporary one, in memory. (The first read after a [business_hours]
    change still stores the business-time cache: that is issue 12's point 10, not tested here.)"""
    if IS_ROOT:
        nobody = request.getfixturevalue("nobody")
        db, config = str(nobody.home / "care.db"), nobody.home / "config.toml"
        config.write_text(BUSINESS_HOURS_AND_SLA)
        config.chmod(0o644)
        setup = (["init"], ["customer", "add", "Ada"], ["ticket", "open", "ada", "Vase cracked"], ["export", "tickets"])
        for args in setup:
            assert nobody("--db", db, "--config", str(config), *args).returncode == 0
        os.chmod(db, 0o400)
        result = nobody("--db", db, "--config", str(config), "export", "tickets")
        assert result.returncode == 0, result.stderr
        assert "Vase cracked" in result.stdout
        return
    config = isolated / "config.toml"
    config.write_text(BUSINESS_HOURS_AND_SLA)
    run("--config", str(config), "customer", "add", "Ada", ok=True)
    run("--config", str(config), "ticket", "open", "ada", "Vase cracked", ok=True)
    run("--config", str(config), "export", "tickets", ok=True)
    db_path.chmod(0o400)
    try:
        result = run("--config", str(config), "export", "tickets")
    finally:
        db_path.chmod(0o600)
    assert result.exit_code == 0, result.stderr
    assert "Vase cracked" in result.stdout


def test_a_read_only_shm_left_by_a_read_is_named_as_what_blocks_a_write(run, db_path, request):
    """A read of a read-only database leaves -wal and -shm as read-only as it was; once the database
    is writable again a write fails, and the hint must name those files, not the database."""
    if IS_ROOT:
        nobody = request.getfixturevalue("nobody")
        db = nobody.home / "care.db"
        assert nobody("--db", str(db), "init").returncode == 0
        assert nobody("--db", str(db), "customer", "add", "Ada").returncode == 0
        for side in (f"{db}-wal", f"{db}-shm"):
            Path(side).unlink(missing_ok=True)  # as after the last connection closed cleanly
        db.chmod(0o400)
        assert nobody("--db", str(db), "customer", "list").returncode == 0
        db.chmod(0o600)
        result = nobody("--db", str(db), "customer", "add", "Ben")
        assert result.returncode == 1
        line = error_line(result.stderr)
        assert "care.db-shm" in line and f"chmod u+w {db}-shm" in line and "even to read" not in line
        os.chmod(f"{db}-shm", 0o600)
        os.chmod(f"{db}-wal", 0o600)
        assert nobody("--db", str(db), "customer", "add", "Ben").returncode == 0
        return
    run("customer", "add", "Ada", ok=True)
    shm = Path(f"{db_path}-shm")
    shm.chmod(0o400)
    try:
        result = run("customer", "add", "Ben")
    finally:
        shm.chmod(0o600)
    assert result.exit_code == 1
    line = one_error_line(result)
    assert "care.db-shm" in line and f"chmod u+w {shm}" in line
