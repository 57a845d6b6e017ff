"""`carecli init` and the `carecli db ...` group: the database itself."""

from __future__ import annotations

import typer

from carecli.cli.state import STATE
from carecli.output import message

app = typer.Typer(no_args_is_help=True)


def init() -> None:
    """Create the database (safe to run again) and print its path."""
    STATE.conn  # opening creates it and applies any due migrations
    message("database ready")
    print(STATE.db_file)
