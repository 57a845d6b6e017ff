"""`carecli config show|path`: the effective settings and where each came from."""

from __future__ import annotations

import os

import typer

from carecli.cli.options import FormatOpt
from carecli.cli.output import Column, emit_rows
from carecli.cli.state import STATE

app = typer.Typer(no_args_is_help=True)


@app.command("show")
def show(fmt: FormatOpt = "table") -> None:
    """Every setting, its effective value and its source (default, file, environment)."""
    from carecli.core.config import KEYS

    settings = STATE.settings
    rows = [
        {"key": name, "value": _text(settings[name]), "source": settings.sources[name], "help": KEYS[name].help}
        for name in KEYS
    ]
    # A key is never cut (it is what one types into the file); the help text drops out first when narrow.
    columns = [Column("key", kind="word"), Column("value"), Column("source"), Column("help", drop=1)]
    emit_rows(rows, columns, fmt)


def _text(value) -> str:
    if isinstance(value, list):
        return ", ".join(value)
    if isinstance(value, dict):
        import json

        return json.dumps(value, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@app.command("path")
def path(fmt: FormatOpt = "table") -> None:
    """The config file and database in use."""
    settings = STATE.settings
    config_path = settings.config_path
    rows = [
        {"what": "config", "path": str(config_path), "exists": config_path.exists()},
        {"what": "database", "path": STATE.db_file, "exists": os.path.exists(STATE.db_file)},
    ]
    emit_rows(rows, [Column("what"), Column("path"), Column("exists", kind="bool")], fmt)
