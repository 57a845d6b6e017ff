"""Every test runs against its own temporary database and config, at a fixed time in a fixed zone."""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
import typer.testing
from typer.testing import CliRunner

# Typer's CliRunner converts the whole app to a click command on every call (0.12 s, most of a
# CLI test's time); the app holds no state of a run, so each app is converted once per process.
_get_command = typer.testing._get_command
typer.testing._get_command = functools.cache(_get_command)  # type: ignore[attr-defined]

FIXED_NOW = "2026-03-14T10:00:00+00:00"  # a Saturday; 11:00 in Berlin


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No test touches real data: XDG dirs, database and clock all point at the test's own."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("CARECLI_DB", str(tmp_path / "care.db"))
    monkeypatch.setenv("CARECLI_NOW", FIXED_NOW)
    monkeypatch.setenv("CARECLI_TIMEZONE", "Europe/Berlin")
    for name in ("CARECLI_CONFIG", "CARECLI_DEBUG", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def db_path(isolated) -> Path:
    return isolated / "care.db"


class Run:
    """Invoke the CLI in-process; stdout and stderr stay separate."""

    def __init__(self) -> None:
        from carecli.cli import app

        self.app = app
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, ok: bool | None = None):
        result = self.runner.invoke(self.app, list(args), input=input)
        if ok is True:
            assert result.exit_code == 0, f"{args}: exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
        return result

    def json(self, *args: str):
        result = self(*args, "--format", "json", ok=True)
        return json.loads(result.stdout)


@pytest.fixture
def run(db_path) -> Run:
    """The CLI on a database made as `carecli init` makes it: other commands never create one."""
    from carecli.schema import database

    database.connect(db_path, create=True).close()
    return Run()


@pytest.fixture
def run_without_db() -> Run:
    """The CLI with no database made yet (CARECLI_DB names a missing file)."""
    return Run()


@pytest.fixture
def shop(run):
    """Two customers and one open ticket with a first message."""
    run("customer", "add", "Ada Lovelace", "--email", "ada@example.com", "--tag", "vip", "--at", "2026-03-01", ok=True)
    run("customer", "add", "Ben Okafor", "--email", "ben@example.com", "--at", "2026-03-02", ok=True)
    run(
        "ticket",
        "open",
        "ada",
        "Vase arrived cracked",
        "--channel",
        "email",
        "--priority",
        "high",
        "--message",
        "The vase is cracked",
        "--at",
        "2026-03-13 09:00",
        ok=True,
    )
    return run


def database_digest(path: Path) -> str:
    """A content hash of every table, to prove a failed command wrote nothing."""
    conn = sqlite3.connect(path)
    digest = hashlib.sha256()
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    for table in tables:
        digest.update(table.encode())
        # Sorted in Python: FTS5 shadow tables are WITHOUT ROWID.
        for text in sorted(repr(row) for row in conn.execute(f'SELECT * FROM "{table}"')):
            digest.update(text.encode())
    conn.close()
    return digest.hexdigest()
