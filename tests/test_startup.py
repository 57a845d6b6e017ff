"""Start-up stays light: simple commands load no heavy library, every module imports on its own,
and the lazily built command tree of the installed entry point behaves like the full one."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import typer.testing
from typer.testing import CliRunner

import carecli
from carecli.cli import app
from carecli.cli.lazy import lazy_root
from carecli.schema import database

CARECLI = Path(sys.executable).parent / "carecli"  # the installed entry point
HEAVY = {"rich", "sqlite_utils", "dateutil", "pydantic", "jinja2", "smtplib"}
PROBE = """
import json, sys
args, watched = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
sys.argv = ["carecli", *args]
from carecli.cli import main
try:
    main()
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & watched)
print("LOADED=" + json.dumps(heavy), file=sys.stderr)
"""


def loaded_heavy_modules(args: list[str], extra_env: dict[str, str] | None = None) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(sorted(HEAVY))],
        capture_output=True,
        text=True,
        env={**os.environ, **(extra_env or {})},
        timeout=60,
    )
    line = [text for text in result.stderr.splitlines() if text.startswith("LOADED=")]
    assert line, result.stderr
    return json.loads(line[-1].split("=", 1)[1])


@pytest.fixture
def initialised_db(db_path):
    # The first open of a new database runs the migrations, which need sqlite-utils.
    database.connect(db_path, create=True).close()
    return db_path


@pytest.mark.parametrize(
    "args",
    [
        ["ticket", "list", "--format", "csv"],
        ["ticket", "list"],
        ["customer", "list", "--format", "json"],
        ["--help"],
        ["ticket", "--help"],
    ],
)
def test_simple_commands_load_no_heavy_library(initialised_db, args):
    assert loaded_heavy_modules(args) == []


@pytest.mark.parametrize(
    ("words", "cword"),
    [
        ("carecli ticket list --channel e", "4"),
        ("carecli ticket list --status ", "4"),
        ("carecli ticket reply ", "3"),
        ("carecli customer show a", "3"),
        ("carecli followup done ", "3"),
    ],
)
def test_tab_completion_loads_no_heavy_library(initialised_db, words, cword):
    env = {"_CARECLI_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
    assert loaded_heavy_modules([], env) == []


def all_modules() -> list[str]:
    names = ["carecli"]
    for info in pkgutil.walk_packages(carecli.__path__, "carecli."):
        names.append(info.name)
    return names


@pytest.mark.parametrize("module", all_modules())
def test_every_module_imports_in_a_fresh_interpreter(module):
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def invoke_lazily(monkeypatch, args: list[str]):
    """CliRunner on the tree `main()` builds (the runner itself builds the full one)."""
    monkeypatch.setattr(typer.testing, "_get_command", lazy_root)
    return CliRunner().invoke(app, args)


def command_paths(command, prefix=()):
    """Every group and command of the full tree, as argument lists."""
    yield list(prefix)
    for name, sub in getattr(command, "commands", {}).items():
        yield from command_paths(sub, (*prefix, name))


@pytest.mark.parametrize("path", list(command_paths(typer.main.get_command(app))), ids=" ".join)
def test_the_lazy_entry_point_shows_the_same_help_as_the_full_tree(path, monkeypatch):
    runner = CliRunner()
    eager = runner.invoke(app, [*path, "--help"])
    lazy = invoke_lazily(monkeypatch, [*path, "--help"])
    assert (lazy.exit_code, lazy.stdout) == (eager.exit_code, eager.stdout)


@pytest.mark.parametrize("args", [["tickt"], ["ticket", "lst"], ["ticket", "list", "--frmat", "csv"], []])
def test_the_lazy_entry_point_gives_the_same_usage_errors(args, monkeypatch):
    eager = CliRunner().invoke(app, args)
    lazy = invoke_lazily(monkeypatch, args)
    assert (lazy.exit_code, lazy.stdout, lazy.stderr) == (eager.exit_code, eager.stdout, eager.stderr)


@pytest.mark.skipif(not CARECLI.exists(), reason="carecli is not installed next to this Python")
def test_the_installed_command_completes_groups_and_subcommands(initialised_db):
    def complete(words: str, cword: int) -> list[str]:
        env = {**os.environ, "_CARECLI_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
        out = subprocess.run([str(CARECLI)], env=env, capture_output=True, text=True, timeout=60).stdout
        return out.split()

    assert complete("carecli tic", 1) == ["ticket"]
    assert "list" in complete("carecli ticket l", 2)
    assert complete("carecli ticket list --channel e", 4) == ["email"]
