"""Shared option types, so every command spells --format, --at, --since the same way."""

from __future__ import annotations

import re
from typing import Annotated, List, Optional

import typer

from carecli.cli import completing
from carecli.cli.output import FORMATS

TIME_HELP = (
    "e.g. 2026-03-14, '2026-03-14 09:30', now, today, yesterday, -2h, +3d, 'next monday'; see: carecli help times"
)


def check_format(value: str | None) -> str | None:
    if value is not None and value not in FORMATS:
        raise typer.BadParameter(f"'{value}' is not one of {', '.join(FORMATS)}")
    return value


def nul_argument(args: list[str]) -> str | None:
    """The first argument holding a NUL character, if any. Refused for every command (see CareGroup):
    SQLite, CSV readers and C programs end text at a NUL, so what was stored would be silently cut."""
    return next((arg for arg in args if isinstance(arg, str) and "\x00" in arg), None)


def check_path(value):
    """Paths the OS cannot take at all are usage errors, not crashes."""
    if value is not None and "\x00" in str(value):
        raise typer.BadParameter("a file path cannot contain a NUL character")
    return value


def record_id(value) -> int:
    """A record's id as people type it: the ASCII digits 0-9 only, from 1 to SQLite's largest
    integer. (int() also reads '١٢' and full-width '１２' as 12: not ids anyone wrote.)"""
    from carecli.core.store import MAX_ID

    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
        number = int(value.strip())
    else:
        raise typer.BadParameter(f"{value!r} is not an id: write it with the digits 0-9, e.g. 12")
    if not 1 <= number <= MAX_ID:
        raise typer.BadParameter(f"{number} is not an id: ids run from 1 to {MAX_ID}")
    return number


FormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        help="table, csv, json or jsonl",
        callback=check_format,
        shell_complete=completing.one_of(FORMATS),
        show_default=False,
    ),
]
AtOpt = Annotated[Optional[str], typer.Option("--at", help=f"when it happened (default now); {TIME_HELP}")]
SinceOpt = Annotated[Optional[str], typer.Option("--since", help=f"from this time on; {TIME_HELP}")]
UntilOpt = Annotated[
    Optional[str], typer.Option("--until", help=f"before this time (a date means up to its end); {TIME_HELP}")
]
LimitOpt = Annotated[int, typer.Option("--limit", "-n", min=0, help="show at most N rows (0 = all)")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")]
ChannelOpt = Annotated[
    Optional[str],
    typer.Option(
        "--channel", "-c", help="channel (from config 'channels')", shell_complete=completing.from_config("channels")
    ),
]
CategoryOpt = Annotated[
    Optional[str],
    typer.Option(
        "--category",
        "-k",
        help="category (from config 'categories')",
        shell_complete=completing.from_config("categories"),
    ),
]
PriorityOpt = Annotated[
    Optional[str],
    typer.Option(
        "--priority",
        "-p",
        help="priority (from config 'priorities')",
        shell_complete=completing.from_config("priorities"),
    ),
]
TagsOpt = Annotated[Optional[List[str]], typer.Option("--tag", "-t", help="a tag (repeat for more)")]
UntagOpt = Annotated[Optional[List[str]], typer.Option("--untag", help="remove a tag (repeat for more)")]
RawOpt = Annotated[
    bool,
    typer.Option("--raw", help="CSV: keep cells starting with = + - @ as they are (for scripts, not spreadsheets)"),
]
