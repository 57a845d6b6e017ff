"""Reading the file: CSV or JSON Lines records, each with the line it starts on."""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Iterator

from carecli.core.errors import InvalidInput

csv.field_size_limit(16 * 1024 * 1024)  # long descriptions are real


class SourceRow:
    """One record: the line it starts on and its cells in header order (a JSON Lines row keeps its object)."""

    __slots__ = ("line", "record", "header", "extra", "obj")

    def __init__(self, line: int, record: list[str] | None, header: list[str], extra: int = 0, obj: dict | None = None):
        self.line, self.record, self.header, self.extra, self.obj = line, record, header, extra, obj

    @property
    def values(self) -> dict[str, str]:
        if self.obj is not None:
            return self.obj
        return dict(zip(self.header, self.record or []))


def read_rows(stream: io.TextIOBase, input_format: str) -> tuple[list[str], Iterator[SourceRow]]:
    """The header and a stream of rows, each with the line it starts on."""
    if input_format == "jsonl":
        return _jsonl_rows(stream)
    reader = csv.reader(stream)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InvalidInput("the file is empty", "a CSV import needs a header row") from None
    except csv.Error as exc:
        raise InvalidInput(f"line 1: {exc}") from None
    except UnicodeDecodeError:
        raise _not_utf8(1) from None

    def rows() -> Iterator[SourceRow]:
        start = reader.line_num + 1
        width = len(header)
        padding = [""] * width
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InvalidInput(f"line {start}: unreadable CSV ({exc})", "check the quoting on that line") from None
            except UnicodeDecodeError:
                raise _not_utf8(start) from None
            if record:
                size = len(record)
                if size == width:
                    yield SourceRow(start, record, header)
                elif size < width:  # short rows: the missing cells are empty
                    record += padding[size:]
                    yield SourceRow(start, record, header)
                else:
                    extra = size - width if any(record[width:]) else 0
                    yield SourceRow(start, record[:width], header, extra)
            start = reader.line_num + 1

    return header, rows()


def _not_utf8(line: int) -> InvalidInput:
    # Text is decoded a block at a time, ahead of the CSV reader: the bad byte is on this line or a
    # few after it.
    return InvalidInput(f"line {line} or soon after: not UTF-8 text", "save the file as UTF-8 and import it again")


def _numbered_lines(stream) -> Iterator[tuple[int, str]]:
    number = 0
    try:
        for number, text in enumerate(stream, 1):
            yield number, text
    except UnicodeDecodeError:
        raise _not_utf8(number + 1) from None


def _jsonl_rows(stream) -> tuple[list[str], Iterator[SourceRow]]:
    lines = _numbered_lines(stream)
    first = None
    for number, text in lines:
        if text.strip():
            first = (number, text)
            break
    if first is None:
        raise InvalidInput("the file is empty")

    def parse(number: int, text: str) -> SourceRow:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"line {number}: not JSON ({exc.msg})", "each line must be one JSON object") from None
        if not isinstance(obj, dict):
            raise InvalidInput(f"line {number}: not a JSON object")
        values = {
            k: "" if v is None else (json.dumps(v) if isinstance(v, (list, dict)) else str(v)) for k, v in obj.items()
        }
        return SourceRow(number, None, [], obj=values)  # cells are laid out by the importer's header

    head = parse(*first)

    def rows() -> Iterator[SourceRow]:
        yield head
        for number, text in lines:
            if text.strip():
                yield parse(number, text)

    return list(head.values), rows()


# ---------------------------------------------------------------- value parsing


def open_input(path: str, stdin=None) -> io.TextIOBase:
    """The input as text: UTF-8 with or without a BOM, newlines left to the CSV reader."""
    if path == "-":
        raw = (stdin or sys.stdin).buffer
        return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    try:
        return open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise InvalidInput(f"{path} does not exist", "give the path of the CSV or JSONL file, or - for stdin") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None


def guess_format(path: str, given: str | None) -> str:
    if given:
        return given
    return "jsonl" if path.lower().endswith((".jsonl", ".ndjson")) else "csv"
