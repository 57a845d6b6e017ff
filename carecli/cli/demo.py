"""`carecli demo`: build a demo database and show what carecli does with it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from carecli.cli.options import YesOpt
from carecli.cli.output import message
from carecli.cli.state import STATE


def demo(
    seed: Annotated[int, typer.Option("--seed", help="random seed: the same seed gives the same shop")] = 7,
    days: Annotated[int, typer.Option("--days", min=7, max=3650, help="days of history")] = 120,
    yes: YesOpt = False,
) -> None:
    """Build a demo shop's history (in its own database unless --db is given here; never CARECLI_DB's) and tour it."""
    from carecli.core.config import data_dir
    from carecli.core.errors import InvalidInput
    from carecli.demo.shop import build_demo
    from carecli.schema.database import connect

    # CARECLI_DB points at the shop's real data: the demo never offers to replace it, only a --db typed here.
    typed = bool(STATE.db_path) and STATE.db_typed
    target = Path(STATE.db_path) if typed and STATE.db_path else data_dir() / "demo.db"
    if typed and target.exists() and target.stat().st_size > 0:
        if not yes:
            if not sys.stdin.isatty():
                raise InvalidInput(f"{target} already exists", "pass --yes to replace it with the demo")
            typer.confirm(f"Replace {target} with the demo database?", abort=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    STATE.db_path = str(target)
    conn = connect(target, create=True)
    STATE.prepare_writes(conn)
    counts = build_demo(conn, STATE.settings, end=STATE.now, days=days, seed=seed)
    conn.close()
    message(f"demo database: {target}")
    message(
        f"{counts['customers']} customers, {counts['tickets']} tickets, "
        f"{counts['interactions']} interactions over {days} days\n"
    )
    _tour(target)


def _tour(target: Path) -> None:
    """Run a few real commands against the demo and print what to try next."""
    from carecli.cli import app

    db = str(target)
    quoted = f"'{db}'" if " " in db else db
    steps = [
        ("What is waiting on us", ["ticket", "list", "--limit", "10"]),
        ("Today's agenda", ["today", "--limit", "5"]),
        ("One ticket's story", ["ticket", "show", "1"]),
        ("How the last 30 days went", ["kpi"]),
    ]
    for title, args in steps:
        print(f"$ carecli --db {quoted} {' '.join(args)}   # {title}", flush=True)
        app(["--db", db, *args], standalone_mode=False)
        print(flush=True)
    message("Try next:")
    for line in (
        "customer show 1",
        "customer health",
        "care suggest",
        "report daily",
        "kpi --by week --trend",
        "search vase",
        "export tickets --format csv",
        "config show",
    ):
        message(f"  carecli --db {quoted} {line}")
