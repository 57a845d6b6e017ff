"""SQLite-only SQL lives in named modules below records (docs/sqlite-only.md); records and cli hold none."""

from __future__ import annotations

import re
from pathlib import Path

import carecli

SQLITE_ONLY = re.compile(
    r"\bPRAGMA\b|\bfts5\b|\bGLOB\b|\bprintf\(|\bstrftime\('|\bunixepoch\(|\bINDEXED BY\b"
    r"|\bjulianday\(|\bcreate_function\(|\bcreate_aggregate\(|\bMATCH \?",
    re.IGNORECASE,
)


def test_records_and_cli_hold_no_sqlite_only_sql():
    root = Path(carecli.__file__).parent
    found = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for package in ("records", "cli")
        for path in sorted((root / package).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SQLITE_ONLY.search(line)
    ]
    assert not found, "move these into core/store, schema, measure or data:\n" + "\n".join(found)
