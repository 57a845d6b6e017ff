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
    """Build a demo shop's history (in its own database unless --db is given here; never CARECLI_DB's),
    with its own config beside it (two care plans), and tour it."""
    from carecli.core.config import data_dir, load
    from carecli.core.errors import InvalidInput
    from carecli.demo import settings as demo_settings
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
    config_file = demo_settings.config_path(target)
    demo_settings.check_free(config_file)
    target.parent.mkdir(parents=True, exist_ok=True)
    demo_settings.write(config_file)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    STATE.db_path = str(target)
    conn = connect(target, create=True)
    STATE.prepare_writes(conn)
    counts = build_demo(conn, load(config_file), end=STATE.now, days=days, seed=seed)
    conn.close()
    message(f"demo database: {target}")
    message(f"demo config: {config_file}")
    message(
        f"{counts['customers']} customers, {counts['tickets']} tickets, "
        f"{counts['interactions']} interactions over {days} days, {counts['orders']} orders"
    )
    message("")  # a blank line; message() would show a newline inside its text escaped
    _tour(target, config_file)


def _tour(target: Path, config_file: Path) -> None:
    """Run a few real commands against the demo (with its config) and print what to try next."""
    import shlex

    from carecli.cli import app

    db, config = str(target), str(config_file)
    export = f"export CARECLI_DB={shlex.quote(db)} CARECLI_CONFIG={shlex.quote(config)}"
    steps = [
        ("What is waiting on us", ["ticket", "list", "--limit", "10"]),
        ("Today's agenda", ["today", "--limit", "5"]),
        ("One ticket's story", ["ticket", "show", "1"]),
        ("How the last 30 days went", ["kpi"]),
        ("What the care plans did", ["plan", "list"]),
    ]
    print(f"# The demo's database and config, for the commands below:\n$ {export}\n", flush=True)
    for title, args in steps:
        print(f"$ carecli {' '.join(args)}   # {title}", flush=True)
        app(["--db", db, "--config", config, *args], standalone_mode=False)
        print(flush=True)
    message("Try next (after that export line, in your shell):")
    for line in (
        "customer show 1",
        "customer health",
        "care suggest",
        "followup list --kind service-reminder",
        "kpi --since 90d --all",
        "report daily",
        "kpi --by week --trend",
        "search vase",
        "export tickets --format csv",
        "config show",
    ):
        message(f"  carecli {line}")
