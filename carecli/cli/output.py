"""The one renderer: rows and records to a rich table, plain text, CSV, JSON or JSON Lines.

Commands hand over data and column specs; this module alone decides how it looks.
Machine formats stream row by row, so memory does not grow with the data.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, TextIO

from carecli.core.csvfile import writer as csv_writer

FORMATS = ("table", "csv", "json", "jsonl")
# Around the matched words of a `match` cell (search snippets): bold on a terminal.
MARKS = ("\x02", "\x03")
EMPTY = "—"  # a figure with no data, in tables


@dataclass(frozen=True)
class Column:
    key: str
    header: str = ""
    kind: str = "text"  # text | time | duration | int | number | pct | tags | bool | match (text with MARKS)
    # Used by tables only: a function that turns the raw value into display text.
    show: Callable[[Any], str] | None = None
    # The name of the value in the rows handed over, when it is not `key` (a stored column's name).
    source: str = ""

    @property
    def field(self) -> str:
        return self.source or self.key

    @property
    def title(self) -> str:
        return self.header or self.key.replace("_", " ")


# The registry's kinds that render as plain text.
_TEXT_KINDS = {"code": "text", "word": "text", "json": "text"}


def columns_of(table: str, *keys: str) -> list[Column]:
    """Columns of a table from the column registry (carecli/schema/tables.py), in the order asked."""
    from carecli.schema.tables import cols

    return [Column(c.key, c.label, _TEXT_KINDS.get(c.kind, c.kind), source=c.name) for c in cols(table, *keys)]


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def use_rich(stream: TextIO) -> bool:
    """Rich tables only for a person at a terminal; plain text for cron, pipes and NO_COLOR."""
    return is_terminal(stream) and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


# ---------------------------------------------------------------- text for people


def visible(text: str, *, multiline: bool = False) -> str:
    """Text safe to show on a terminal: every control or invisible character written as an escape.

    Customer text may carry terminal sequences (ESC]52 writes the clipboard, ESC]0 the window
    title, ESC[2J clears the screen; C1 controls U+0080-U+009F act alike on some terminals) and
    bidi overrides that reorder what is seen. They are shown as `\\x1b`, `\\x9b`, `\\u202e`.
    With `multiline`, line breaks stay line breaks (CRLF counts as one) and tabs become spaces;
    otherwise they are escaped too, so that one value stays on one line.
    """
    if text.isprintable():  # the common case, decided in C
        return text
    if multiline:
        return "\n".join(visible(line.expandtabs(4)) for line in text.replace("\r\n", "\n").split("\n"))
    return "".join(c if _shown_as_is(c) else c.encode("unicode_escape").decode("ascii") for c in text)


def _shown_as_is(char: str) -> bool:
    # Spaces (no-break, thin...) and joiners (emoji sequences, Persian and Indic scripts) are harmless.
    if char.isprintable() or char in "\u200c\u200d":
        return True
    import unicodedata

    return unicodedata.category(char) == "Zs"


def message(text: str) -> None:
    """A message for the person, never for a pipe: always stderr, its customer text made visible."""
    print(visible(text), file=sys.stderr)


# ---------------------------------------------------------------- machine values


def machine_value(value: Any, kind: str) -> Any:
    """The JSON value of a cell: tags become lists, everything else stays as stored."""
    if kind == "tags":
        return split_tags(value)
    if kind == "bool" and value is not None:
        return bool(value)
    return value


def split_tags(value: str | None) -> list[str]:
    return [t for t in (value or "").split(",") if t]


# What JSON itself leaves raw but a terminal may act on: DEL, C1 controls, invisible format and bidi
# characters, line and paragraph separators. JSON's own escapes (\u009b) keep the data exact.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\xad\u061c\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]")


def json_text(value: Any, *, indent: int | None = None) -> str:
    """One JSON document (no line end): UTF-8 text as is, but control characters always escaped."""
    text = json.dumps(value, ensure_ascii=False, indent=indent, default=str)
    return _JSON_UNSAFE.sub(_json_escape, text)


def _json_escape(match: re.Match) -> str:
    return f"\\u{ord(match.group()):04x}"


def emit_json(value: Any, *, lines: bool = False, stream: TextIO | None = None) -> None:
    """A JSON document (indented), or with `lines` one compact line per item of a list."""
    stream = stream or sys.stdout
    if lines:
        for item in value:
            stream.write(json_text(item) + "\n")
    else:
        stream.write(json_text(value, indent=2) + "\n")


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts become dotted keys (`first_response_s.median`); lists become JSON text."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, name + "."))
        elif isinstance(value, (list, tuple)):
            flat[name] = json.dumps(value, ensure_ascii=False, default=str)
        else:
            flat[name] = value
    return flat


# ---------------------------------------------------------------- display values


def shown(value: Any, column: Column, tz, *, marks: bool = False) -> str:
    """A cell as people see it: its display text with control characters made visible.

    With `marks`, a `match` cell keeps its MARKS (and only those) for the rich table to style.
    """
    text = display_value(value, column, tz)
    if marks and column.kind == "match":
        start, end = MARKS
        return start.join(
            end.join(visible(piece, multiline=True) for piece in part.split(end)) for part in text.split(start)
        )
    return visible(text, multiline=True)


def display_value(value: Any, column: Column, tz) -> str:
    if column.show is not None:
        return column.show(value)
    if value is None or value == "":
        return EMPTY if column.kind in ("duration", "int", "number", "pct") else ""
    kind = column.kind
    if kind == "time":
        from carecli.text.clock import format_local

        return format_local(value, tz)
    if kind == "duration":
        from carecli.text.durations import humanize_seconds

        return humanize_seconds(value)
    if kind == "pct":
        return f"{value:.1f}%" if isinstance(value, (int, float)) else str(value)
    if kind == "number":
        return f"{value:.2f}" if isinstance(value, float) else str(value)
    if kind == "tags":
        return ", ".join(split_tags(value))
    if kind == "bool":
        return "yes" if value else "no"
    return str(value)


# ---------------------------------------------------------------- rows


def emit_rows(
    rows: Iterable[Any],
    columns: list[Column],
    fmt: str,
    *,
    tz=None,
    title: str | None = None,
    empty: str | None = None,
    stream: TextIO | None = None,
    raw: bool = False,
) -> int:
    """Render rows (mappings, or tuples in column order) and return how many there were.

    CSV cells that a spreadsheet would run as formulas are neutralised unless `raw`.
    """
    stream = stream or sys.stdout
    if fmt == "csv":
        return _csv_rows(rows, columns, stream, raw=raw)
    if fmt in ("json", "jsonl"):
        return _json_rows(rows, columns, stream, lines=fmt == "jsonl")
    materialised = [_as_mapping(row, columns) for row in rows]
    if not materialised:
        if empty:
            message(empty)
        return 0
    rich = use_rich(stream)
    cells = [[shown(row[c.field], c, tz, marks=rich) for c in columns] for row in materialised]
    if rich:
        _rich_table(cells, columns, title, stream)
    else:
        _plain_table(cells, columns, title, stream)
    return len(materialised)


def _as_mapping(row: Any, columns: list[Column]) -> Mapping[str, Any]:
    if isinstance(row, tuple):
        return dict(zip((c.field for c in columns), row))
    return row


def _csv_rows(rows: Iterable[Any], columns: list[Column], stream: TextIO, *, raw: bool) -> int:
    writer = csv_writer(stream, raw=raw)
    writer.writerow([c.key for c in columns])
    count = 0
    for row in rows:
        if isinstance(row, tuple):
            writer.writerow(row)
        else:
            writer.writerow([_csv_cell(row[c.field]) for c in columns])
        count += 1
    return count


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (list, tuple)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _json_rows(rows: Iterable[Any], columns: list[Column], stream: TextIO, *, lines: bool) -> int:
    dumps = json_text
    count = 0
    if not lines:
        stream.write("[")
    for row in rows:
        row = _as_mapping(row, columns)
        obj = {c.key: machine_value(row[c.field], c.kind) for c in columns}
        if lines:
            stream.write(dumps(obj) + "\n")
        else:
            stream.write(("\n  " if count == 0 else ",\n  ") + dumps(obj))
        count += 1
    if not lines:
        stream.write("\n]\n" if count else "]\n")
    return count


def _plain_table(cells: list[list[str]], columns: list[Column], title: str | None, stream: TextIO) -> None:
    headers = [c.title for c in columns]
    # A multi-line cell (a message body) continues on the next lines, in its own column.
    split = [[cell.split("\n") for cell in row] for row in cells]
    widths = [max(len(h), *(len(line) for row in split for line in row[i])) for i, h in enumerate(headers)]
    right = [c.kind in ("int", "number", "pct", "duration") for c in columns]

    def line(values: list[str]) -> str:
        parts = [v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)]
        return "  ".join(parts).rstrip()

    if title:
        stream.write(visible(title) + "\n")
    stream.write(line(headers) + "\n")
    stream.write("  ".join("-" * w for w in widths) + "\n")
    for row in split:
        for i in range(max(len(lines) for lines in row)):
            stream.write(line([lines[i] if i < len(lines) else "" for lines in row]) + "\n")


def _rich_table(cells: list[list[str]], columns: list[Column], title: str | None, stream: TextIO) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=Text(visible(title)) if title else None,
        title_justify="left",
        header_style="bold",
        show_edge=False,
        pad_edge=False,
    )
    for column in columns:
        numeric = column.kind in ("int", "number", "pct", "duration")
        table.add_column(column.title, justify="right" if numeric else "left", overflow="fold")
    marked = [c.kind == "match" for c in columns]
    for row in cells:
        # Cells hold customer text: Text() keeps "[bold]" in a message from becoming markup.
        table.add_row(*(_marked(cell, Text) if m else Text(cell) for cell, m in zip(row, marked)))
    Console(file=stream).print(table)


def _marked(cell: str, Text):
    """A `match` cell with its marked words in bold."""
    text = Text()
    start, end = MARKS
    for i, part in enumerate(cell.replace(end, start).split(start)):
        text.append(part, style="bold yellow" if i % 2 else None)
    return text


# ---------------------------------------------------------------- prose


def emit_text(lines: Iterable[str], stream: TextIO | None = None) -> None:
    """Lines of prose for people (reports): each one line, its control characters made visible."""
    stream = stream or sys.stdout
    for line in lines:
        stream.write(visible(line) + "\n")


# ---------------------------------------------------------------- one record


def emit_record(
    record: Mapping[str, Any],
    fmt: str,
    *,
    fields: list[Column] | None = None,
    sections: Mapping[str, list[Column]] | None = None,
    tz=None,
    title: str | None = None,
    stream: TextIO | None = None,
    raw: bool = False,
) -> None:
    """Render one record: JSON object, one flattened CSV/JSONL row, or a key/value view.

    `fields` lists the scalar fields shown in the key/value view (and renames a stored column
    to its machine key where they differ); `sections` names nested lists of rows (a ticket's
    timeline) rendered as tables beneath it.
    """
    stream = stream or sys.stdout
    renames = {c.source: c.key for c in (fields or []) if c.source and c.source != c.key}
    if renames:
        record = {renames.get(k, k): v for k, v in record.items()}
    kinds = {c.key: c.kind for c in (fields or [])}
    machine = {k: (machine_value(v, kinds[k]) if k in kinds else v) for k, v in record.items()}
    if fmt in ("json", "jsonl"):
        stream.write(json_text(machine, indent=2 if fmt == "json" else None) + "\n")
        return
    if fmt == "csv":
        flat = flatten(machine)
        writer = csv_writer(stream, raw=raw)
        writer.writerow(list(flat))
        writer.writerow([_csv_cell(v) for v in flat.values()])
        return
    columns = fields or [Column(k) for k, v in record.items() if not isinstance(v, (list, dict))]
    pairs = [[c.title, shown(record.get(c.key), c, tz)] for c in columns]
    pair_columns = [Column("field", " "), Column("value", " ")]
    if use_rich(stream):
        _rich_table(pairs, pair_columns, title, stream)
    else:
        if title:
            stream.write(visible(title) + "\n")
        width = max((len(p[0]) for p in pairs), default=0)
        for name, value in pairs:
            # A multi-line value (notes) continues under its first line.
            text = value.replace("\n", "\n" + " " * (width + 2))
            stream.write(f"{name.ljust(width)}  {text}".rstrip() + "\n")
    for name, section_columns in (sections or {}).items():
        rows = record.get(name) or []
        stream.write("\n")
        if not rows:
            stream.write(f"{section_title(name)}: none\n")
            continue
        emit_rows(rows, section_columns, "table", tz=tz, title=section_title(name), stream=stream)


def section_title(key: str) -> str:
    """`followups_overdue` -> `Follow-ups overdue`, `sla_breaching` -> `SLA breaching`."""
    words = [_SECTION_WORDS.get(word, word) for word in key.split("_")]
    words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words)


_SECTION_WORDS = {"followups": "follow-ups", "sla": "SLA"}
