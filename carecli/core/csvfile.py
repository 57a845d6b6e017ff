"""The one CSV writer, and the one formula-safety rule every CSV carecli writes follows.

Spreadsheets run a cell that starts with = + - @ (or a tab or CR before one) as a formula
(OWASP "CSV injection"). Unless the caller asks for the stored text (`raw`), such a text cell is
written with a leading apostrophe, which spreadsheets show as text. Numbers (int, float) are not
text and are written as they are, so -3 stays a number. Text that already starts with apostrophes
before a formula start gets one more, so `restore` can undo the rule exactly (what
`import --preset carecli` does). The SQL export builds the same rule into its queries with
`sql_neutralised`, so both paths agree by construction.
"""

from __future__ import annotations

import csv
import io
import sys
from typing import Any, Iterable, TextIO

# Leading characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What goes in front of such a cell: spreadsheets show an apostrophe-led cell as plain text.
NEUTRALISER = "'"
# Python 3.10's csv module cannot write a NUL character at all ("need to escape"); 3.11 quotes it.
_CSV_REFUSES_NUL = sys.version_info < (3, 11)


def _formula_like(text: str) -> bool:
    """Starts with a formula start, perhaps after apostrophes (`=x`, `'=x`, `''=x`)."""
    first = text[:1]
    if first == NEUTRALISER:
        first = text.lstrip(NEUTRALISER)[:1]
    return first != "" and first in FORMULA_STARTS


def neutralise(text: str) -> str:
    """`=SUM(A1)` -> `'=SUM(A1)` (and `'=x` -> `''=x`, so that `restore` can undo it); others unchanged."""
    return NEUTRALISER + text if _formula_like(text) else text


def restore(text: str) -> str:
    """The text `neutralise` was given: `'=SUM(A1)` -> `=SUM(A1)`; a cell it did not change stays as it is."""
    return text[1:] if text[:1] == NEUTRALISER and _formula_like(text[1:]) else text


def sql_neutralised(expr: str) -> str:
    """SQL giving `neutralise(expr)` for a text expression (NULL stays NULL)."""
    codes = ", ".join(str(ord(c)) for c in FORMULA_STARTS)
    quoted = NEUTRALISER.replace("'", "''")
    # One unicode() for the common cell; the ltrim() only for the rare one starting with ' = + - @ TAB CR.
    return (
        f"CASE WHEN unicode({expr}) IN ({codes}, {ord(NEUTRALISER)}) AND unicode(ltrim({expr}, '{quoted}')) IN ({codes}) "
        f"THEN '{quoted}' || {expr} ELSE {expr} END"
    )


class CsvWriter:
    """csv.writer with carecli's dialect (\\n line ends) and the formula rule on every text cell."""

    def __init__(self, stream: TextIO, *, raw: bool = False) -> None:
        # csv.writer quotes only the line terminator's characters: with "\n" a lone CR would go out
        # unquoted and read back as a line break. So write "\r\n" rows to a buffer and end them "\n".
        self._stream = stream
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")
        self.raw = raw

    def writerow(self, cells: Iterable[Any]) -> None:
        cells = [neutralise(c) if isinstance(c, str) and not self.raw else c for c in cells]
        if _CSV_REFUSES_NUL and any(isinstance(c, str) and "\0" in c for c in cells):
            self._stream.write(",".join(_quoted(c) for c in cells) + "\n")  # as 3.11's writer would
            return
        self._writer.writerow(cells)
        self._stream.write(self._buffer.getvalue()[:-2] + "\n")
        self._buffer.seek(0)
        self._buffer.truncate()

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def _quoted(cell: Any) -> str:
    """One cell as 3.11's csv.writer writes it (minimal quoting; used only for the NUL case above)."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\r\n') else cell
    return str(cell)


def writer(stream: TextIO, *, raw: bool = False) -> CsvWriter:
    return CsvWriter(stream, raw=raw)
