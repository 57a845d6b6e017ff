"""Files carecli writes (--output, --rejects, backups) as users see them: the path given is written,
never replaced by something else, and nothing half-written or stale is left behind (issue 12)."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import database_digest

CARECLI = Path(sys.executable).parent / "carecli"  # the installed entry point
MAPPING = """
[columns]
external_id = "Ref"
customer_name = "Name"
customer_email = "Email"
subject = "Subject"
created_at = "Created"
"""
ROWS = (
    "Ref,Name,Email,Subject,Created\n"
    "T-1,Ada Lovelace,ada@example.com,Vase cracked,2026-03-01 09:00\n"
    "T-2,Ben Okafor,ben@example.com,Where is it,sometime soon\n"
)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "map.toml").write_text(MAPPING)
    (tmp_path / "in.csv").write_text(ROWS)
    return tmp_path


@pytest.fixture
def device(tmp_path):
    """A private copy of /dev/null or /dev/full: a test of a broken build must never replace the real
    ones (as root the old code did). Without root, the real one is safe: no one else may replace it."""

    def make(name: str) -> str:
        minor = {"null": 3, "full": 7}[name]
        path = tmp_path / f"dev-{name}"
        try:
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
        except PermissionError:
            if os.geteuid() == 0:
                pytest.skip("cannot make a device node here")
            return f"/dev/{name}"
        return str(path)

    return make


def _tickets(db_path) -> int:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
    finally:
        conn.close()


def _no_temps(directory: Path) -> bool:
    return not [name for name in os.listdir(directory) if "carecli-tmp" in name or name.endswith(".tmp")]


# ---------------------------------------------------------------- 1. what the path is


def test_export_to_dev_null_writes_into_it_and_leaves_it_a_device(shop, device):
    null = device("null")
    result = shop("export", "customers", "--output", null)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(os.stat(null).st_mode)
    assert f"exported 2 customers to {null}" in result.stderr


def test_export_to_a_fifo_feeds_its_reader(shop, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader waiting, as `cat pipe` would
    try:
        result = shop("export", "customers", "--output", str(fifo))
        assert result.exit_code == 0, result.stderr
        received = os.read(reader, 65536).decode()
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert "ada@example.com" in received


def test_export_to_an_open_descriptor_writes_the_file_a_shell_redirected_to(shop, db_path, tmp_path):
    redirected = tmp_path / "out.csv"
    with open(redirected, "w") as stdout:
        inode = os.fstat(stdout.fileno()).st_ino
        result = subprocess.run(
            [str(CARECLI), "--db", str(db_path), "export", "customers", "--output", "/dev/fd/1"],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert result.returncode == 0, result.stderr
    assert redirected.stat().st_ino == inode and "ada@example.com" in redirected.read_text()


def test_export_through_a_symlink_writes_its_target_and_keeps_the_link(shop, tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    shop("export", "customers", "--output", str(link), ok=True)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert "ada@example.com" in target.read_text()
    assert _no_temps(tmp_path)


def test_export_over_an_existing_file_keeps_its_stricter_mode_and_never_widens_it(shop, tmp_path):
    strict, loose = tmp_path / "strict.csv", tmp_path / "loose.csv"
    for path, mode in ((strict, 0o200), (loose, 0o644)):
        path.write_text("old\n")
        os.chmod(path, mode)
    shop("export", "customers", "--output", str(strict), ok=True)
    shop("export", "customers", "--output", str(loose), ok=True)
    assert stat.S_IMODE(strict.stat().st_mode) == 0o200
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600
    os.chmod(strict, 0o600)
    assert "ada@example.com" in strict.read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to someone else")
def test_export_over_another_users_file_keeps_its_owner(shop, tmp_path):
    target = tmp_path / "theirs.csv"
    target.write_text("old\n")
    os.chown(target, 4321, 4321)
    shop("export", "customers", "--output", str(target), ok=True)
    assert (target.stat().st_uid, target.stat().st_gid) == (4321, 4321)
    assert "ada@example.com" in target.read_text()


def test_export_to_a_directory_names_the_path_given_and_leaves_no_temporary_file(shop, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    result = shop("export", "customers", "--output", str(folder))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot write {folder}: a directory")
    assert "carecli-tmp" not in result.stderr
    assert _no_temps(tmp_path) and os.listdir(folder) == []


def test_export_to_a_full_device_says_so_about_the_path_given(shop, device):
    full = device("full")
    result = shop("export", "customers", "--output", full)
    assert result.exit_code == 1
    assert f"error: cannot write {full}: No space left on device" in result.stderr
    assert stat.S_ISCHR(os.stat(full).st_mode)


def test_rejects_to_dev_null_are_written_into_it(run, files, db_path, device):
    null = device("null")
    result = run(
        "import", "tickets", str(files / "in.csv"), "--map", str(files / "map.toml"), "--skip-bad",
        "--rejects", null,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(os.stat(null).st_mode)
    assert f"1 rejected row written to {null}" in result.stderr


# ---------------------------------------------------------------- 4. checked before anything is written


def test_an_unwritable_reject_file_fails_the_import_before_it_imports_anything(run, files, db_path):
    before = database_digest(db_path)
    args = ("import", "tickets", str(files / "in.csv"), "--map", str(files / "map.toml"), "--skip-bad")
    for _ in range(2):  # the retry does not duplicate either
        result = run(*args, "--rejects", str(files / "missing" / "rejects.csv"))
        assert result.exit_code == 1
        assert f"error: cannot write {files / 'missing' / 'rejects.csv'}: No such file or directory" in result.stderr
    assert database_digest(db_path) == before
    ok = run(*args, "--rejects", str(files / "rejects.csv"), "--format", "json", ok=True)
    assert json.loads(ok.stdout)["created"] == 1 and _tickets(db_path) == 1


def test_a_full_disk_under_the_reject_file_rolls_the_import_back(run, files, db_path, device):
    full = device("full")
    before = database_digest(db_path)
    result = run(
        "import", "tickets", str(files / "in.csv"), "--map", str(files / "map.toml"), "--skip-bad",
        "--rejects", full,
    )  # fmt: skip
    assert result.exit_code == 1
    assert f"error: cannot write {full}: No space left on device" in result.stderr
    assert database_digest(db_path) == before


def test_an_unwritable_export_file_fails_before_the_export_runs(shop, tmp_path, monkeypatch):
    from carecli.data import exporting

    def never(*args, **kwargs):
        raise AssertionError("the export ran before its output was checked")

    monkeypatch.setattr(exporting, "export_chunks", never)
    result = shop("export", "tickets", "--output", str(tmp_path / "missing" / "t.csv"))
    assert result.exit_code == 1 and "cannot write" in result.stderr


# ---------------------------------------------------------------- 6. never replace a file nobody named


def test_import_from_stdin_never_replaces_a_rejects_csv_it_was_not_told_to(run, files, db_path, monkeypatch):
    monkeypatch.chdir(files)
    (files / "rejects.csv").write_text("someone's own file\n")
    before = database_digest(db_path)
    args = ("import", "tickets", "-", "--map", "map.toml", "--skip-bad", "--input-format", "csv")
    result = run(*args, input=ROWS)
    assert result.exit_code == 1
    assert "error: rejects.csv already exists" in result.stderr and "--rejects PATH" in result.stderr
    assert (files / "rejects.csv").read_text() == "someone's own file\n"
    assert database_digest(db_path) == before
    run(*args, "--rejects", "mine.csv", input=ROWS, ok=True)
    assert [r["line"] for r in csv.DictReader(io.StringIO((files / "mine.csv").read_text()))] == ["3"]


# ---------------------------------------------------------------- 8. killed exports


def _dead_pid() -> int:
    return int(Path("/proc/sys/kernel/pid_max").read_text()) + 1  # no process can have it


def test_an_export_removes_the_temporary_files_killed_exports_left_and_only_those(shop, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / f".tickets.csv.carecli-tmp-{_dead_pid()}-0a1b2c3d"
    running = out / f".other.csv.carecli-tmp-{os.getpid()}-0a1b2c3d"  # an export still running
    unrelated = out / ".notes.tmp"
    for path in (stale, running, unrelated):
        path.write_text("partial")
    shop("export", "customers", "--output", str(out / "customers.csv"), ok=True)
    assert sorted(os.listdir(out)) == sorted(["customers.csv", running.name, unrelated.name])


def test_an_export_in_progress_is_a_hidden_file_no_one_takes_for_the_result(shop, tmp_path, monkeypatch):
    from carecli.cli import data

    seen: list[list[str]] = []
    write = data._write_chunks

    def looking(chunks, stream, progress):
        seen.append(os.listdir(tmp_path / "out"))
        return write(chunks, stream, progress)

    (tmp_path / "out").mkdir()
    monkeypatch.setattr(data, "_write_chunks", looking)
    shop("export", "customers", "--output", str(tmp_path / "out" / "customers.csv"), ok=True)
    [names] = seen
    [name] = names
    assert name.startswith(".customers.csv.carecli-tmp-") and not name.endswith(".csv")


# ---------------------------------------------------------------- 7. backups


def _padded(db_path, megabytes: int) -> None:
    """Make the database big enough that a backup takes a while (a table a user might have added)."""
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE padding (data BLOB)")
    conn.executemany("INSERT INTO padding VALUES (zeroblob(1048576))", [()] * megabytes)
    conn.commit()
    conn.close()


def test_a_killed_backup_leaves_nothing_that_stops_the_next_one(shop, db_path, tmp_path):
    _padded(db_path, 150)
    target = tmp_path / "backups" / "b.db"
    target.parent.mkdir()
    proc = subprocess.Popen([str(CARECLI), "--db", str(db_path), "db", "backup", str(target)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not [n for n in os.listdir(target.parent) if n.startswith(".b.db")] and time.monotonic() < deadline:
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not target.exists(), "the backup finished before it could be killed"
    left = os.listdir(target.parent)
    assert left and all(name.startswith(".b.db.carecli-tmp-") for name in left)  # hidden, never taken for b.db
    result = shop("db", "backup", str(target))
    assert result.exit_code == 0, result.stderr
    assert os.listdir(target.parent) == ["b.db"]


def _corrupt(db_path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'customers'").fetchone()[0]
    conn.close()
    with open(db_path, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * 16)


def test_a_damaged_database_is_not_backed_up(shop, db_path, tmp_path):
    _corrupt(db_path)
    result = shop("db", "backup", str(tmp_path / "b.db"))
    assert result.exit_code == 1
    assert f"error: {db_path} is damaged" in result.stderr and "no backup written" in result.stderr
    assert not (tmp_path / "b.db").exists() and _no_temps(tmp_path)


def test_a_full_disk_under_the_backup_is_blamed_on_the_backup(shop, db_path, tmp_path, monkeypatch):
    connect = sqlite3.connect

    def small_disk(path, *args, **kwargs):  # the backup's file can grow to one page: SQLite's "disk is full"
        conn = connect(path, *args, **kwargs)
        if "carecli-tmp" in str(path):
            conn.execute("PRAGMA max_page_count = 1")
        return conn

    monkeypatch.setattr(sqlite3, "connect", small_disk)
    result = shop("db", "backup", str(tmp_path / "b.db"))
    assert result.exit_code == 1
    assert f"error: the disk holding {tmp_path / 'b.db'} is full" in result.stderr
    assert str(db_path) not in result.stderr
    assert not (tmp_path / "b.db").exists() and _no_temps(tmp_path)


def test_a_backup_that_cannot_grow_names_the_backup_not_the_database(shop, db_path, tmp_path):
    import resource

    def limited() -> None:  # files may grow to 64 KiB only; the database is bigger
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))

    target = tmp_path / "b.db"
    result = subprocess.run(
        [str(CARECLI), "--db", str(db_path), "db", "backup", str(target)],
        preexec_fn=limited,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert f"cannot write the backup {target}" in result.stderr and "database error" not in result.stderr
    assert not target.exists() and _no_temps(tmp_path)


# ---------------------------------------------------------------- 6. NUL: refused, never cut short


@pytest.mark.parametrize(
    "args",
    [
        ["customer", "add", "Nul\x00Name"],
        ["customer", "add", "Cy", "--notes", "a\x00b"],
        ["ticket", "open", "ada", "Subject\x00cut"],
        ["ticket", "reply", "1", "body\x00cut"],
        ["search", "vase\x00"],
    ],
)
def test_a_nul_in_any_text_argument_is_one_error_line_and_writes_nothing(shop, db_path, args):
    before = database_digest(db_path)
    result = shop(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: an argument cannot contain a NUL character: ")
    assert "\\x00" in result.stderr and "\x00" not in result.stderr and result.stderr.count("\n") == 1
    assert database_digest(db_path) == before


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_imported_nul_is_refused_naming_its_line_and_column(run, files, db_path, fmt):
    if fmt == "csv":
        data = files / "nul.csv"
        data.write_text(ROWS.replace("sometime soon", "2026-03-02 10:00").replace("Ben Okafor", "Ben\x00Okafor"))
    else:
        data = files / "nul.jsonl"
        rows = [
            {"Ref": "T-1", "Name": "Ada", "Email": "ada@example.com", "Subject": "Fine", "Created": "2026-03-01 09:00"},
            {"Ref": "T-2", "Name": "Ben\x00Okafor", "Email": "b@example.com", "Subject": "x", "Created": "2026-03-02"},
        ]
        data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    before = database_digest(db_path)
    args = ("import", "tickets", str(data), "--map", str(files / "map.toml"))
    result = run(*args)
    assert result.exit_code == 1
    line = 3 if fmt == "csv" else 2
    if fmt == "csv" and sys.version_info < (3, 11):
        # Python 3.10's csv module refuses a NUL itself: the file cannot be read past that line.
        assert "line 3" in result.stderr and "NUL" in result.stderr
        assert database_digest(db_path) == before
        return
    assert f"{data}:{line}: column 'Name' value 'Ben\\x00Okafor': contains a NUL character" in result.stderr
    assert database_digest(db_path) == before
    run(*args, "--skip-bad", ok=True)
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT name FROM customers").fetchall() == [("Ada Lovelace" if fmt == "csv" else "Ada",)]
    conn.close()
