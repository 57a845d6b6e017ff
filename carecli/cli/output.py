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
    # text | word | time | duration | int | number | pct | tags | bool | rule (RFC 5545) | match (text with MARKS)
    kind: str = "text"
    # Used by tables only: a function that turns the raw value into display text.
    show: Callable[[Any], str] | None = None
    # The name of the value in the rows handed over, when it is not `key` (a stored column's name).
    source: str = ""
    # When a terminal is too narrow: 0 never drops; otherwise 1 drops first, then 2... (schema/tables.py DROPS).
    drop: int = 0

    @property
    def field(self) -> str:
        return self.source or self.key

    @property
    def title(self) -> str:
        return self.header or self.key.replace("_", " ")

    @property
    def free(self) -> bool:
        """Free text (a subject, a note, a name): cut with `...` when narrow; every other kind never wraps."""
        return self.kind in FREE_KINDS


# Kinds cut to fit a terminal; `word` (a status, a channel: a short vocabulary) is shown whole.
FREE_KINDS = frozenset({"text", "tags", "match", "json", "rule"})
# The registry's kinds that render as plain words.
_TEXT_KINDS = {"code": "word", "word": "word", "json": "text"}


def columns_of(table: str, *keys: str) -> list[Column]:
    """Columns of a table from the column registry (carecli/schema/tables.py), in the order asked."""
    from carecli.schema.tables import cols, drop_rank

    return [
        Column(c.key, c.label, _TEXT_KINDS.get(c.kind, c.kind), source=c.name, drop=drop_rank(table, c.key))
        for c in cols(table, *keys)
    ]


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def use_rich(stream: TextIO) -> bool:
    """Rich tables only for a person at a terminal; plain text for cron, pipes and NO_COLOR."""
    return is_terminal(stream) and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def screen_width(stream: TextIO) -> int:
    """The terminal's width: $COLUMNS when set (as rich and the shells read it), else the terminal's own."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 80


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


def counted(count: int, singular: str, plural: str = "") -> str:
    """`1 ticket`, `2 tickets`: a count with its noun, in the number it needs."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


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
    if kind == "rule":
        from carecli.text.cadence import describe_rule

        return describe_rule(str(value))
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
        width = screen_width(stream)
        cells, columns, widths = fit(cells, columns, width, gap=3)  # rich puts " │ " between columns
        _rich_table(cells, columns, title, stream, widths=widths, width=width)
    else:
        if is_terminal(stream):  # NO_COLOR on a terminal: plain, but as wide as the terminal
            cells, columns, _ = fit(cells, columns, screen_width(stream), gap=2)
        _plain_table(cells, columns, title, stream)
    return len(materialised)


# ---------------------------------------------------------------- fitting a terminal

_MIN_FREE = 16  # free text is cut no shorter than this (or its header), columns drop instead
_DATE = re.compile(r"(\d{4})-(\d\d-\d\d)(?: (\d\d:\d\d))?")


def fit(
    cells: list[list[str]], columns: list[Column], width: int, *, gap: int
) -> tuple[list[list[str]], list[Column], list[int]]:
    """Cells, columns and column widths that fit `width`, `gap` characters between columns.

    Ids, times, words and numbers are never cut or wrapped. When the natural widths do not fit,
    in this order: times lose this year (`11-17 09:20`) or another year's clock time; columns with
    a `drop` rank drop out, rank 1 first, until the rest fit with free text at its minimum; free
    text shares what is left and is cut with `...`.
    """
    natural = _natural_widths(cells, columns)
    if _total(natural, gap) <= width:
        return cells, columns, natural
    times = [i for i, c in enumerate(columns) if c.kind == "time"]
    if times:
        year = _this_year()
        cells = [[_short_time(cell, year) if i in times else cell for i, cell in enumerate(row)] for row in cells]
        natural = _natural_widths(cells, columns)
    keep = list(range(len(columns)))

    def minimum(i: int) -> int:
        if not columns[i].free:
            return natural[i]
        return min(natural[i], max(len(columns[i].title), _MIN_FREE))

    droppable = sorted((c.drop, i) for i, c in enumerate(columns) if c.drop)
    while _total([minimum(i) for i in keep], gap) > width and droppable:
        keep.remove(droppable.pop(0)[1])
    widths = {i: minimum(i) for i in keep}
    spare = width - _total(list(widths.values()), gap)
    growing = [i for i in keep if widths[i] < natural[i]]
    while spare > 0 and growing:
        for i in list(growing):
            if spare == 0:
                break
            widths[i] += 1
            spare -= 1
            if widths[i] >= natural[i]:
                growing.remove(i)
    fitted = [[_cut(row[i], widths[i]) if columns[i].free else row[i] for i in keep] for row in cells]
    return fitted, [columns[i] for i in keep], [widths[i] for i in keep]


def _natural_widths(cells: list[list[str]], columns: list[Column]) -> list[int]:
    return [
        max([len(c.title), *(_cell_width(line) for row in cells for line in row[i].split("\n"))])
        for i, c in enumerate(columns)
    ]


def _cell_width(text: str) -> int:
    return len(text) - text.count(MARKS[0]) - text.count(MARKS[1])


def _total(widths: list[int], gap: int) -> int:
    return sum(widths) + gap * max(len(widths) - 1, 0)


def _this_year() -> str:
    from carecli.text.clock import now_utc

    return str(now_utc().year)


def _short_time(cell: str, year: str) -> str:
    """`2026-11-17 09:20` -> `11-17 09:20` this year; `2025-11-17 09:20` -> `2025-11-17` another year."""
    match = _DATE.fullmatch(cell)
    if not match:
        return cell
    if match.group(1) == year:
        return match.group(2) + (f" {match.group(3)}" if match.group(3) else "")
    return f"{match.group(1)}-{match.group(2)}"


def _cut(cell: str, width: int) -> str:
    """Each line of a free-text cell cut to `width`, ending in `...` where something was cut."""
    return "\n".join(line if _cell_width(line) <= width else _cut_line(line, width) for line in cell.split("\n"))


def _cut_line(line: str, width: int) -> str:
    if width <= 3:
        return line[:width]
    kept, count = [], 0
    for char in line:
        if char not in MARKS:
            if count == width - 3:
                break
            count += 1
        kept.append(char)
    # A cut inside a marked word closes the mark, so the bold does not run on.
    text = "".join(kept).rstrip()
    if text.count(MARKS[0]) > text.count(MARKS[1]):
        text += MARKS[1]
    return text + "..."


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
            writer.writerow([_csv_cell(row[c.field], c.kind) for c in columns])
        count += 1
    return count


def _csv_cell(value: Any, kind: str = "") -> Any:
    if kind == "rule" and isinstance(value, str):
        return one_line_rule(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (list, tuple)):
        return json.dumps(value, ensure_ascii=False)
    return value


def one_line_rule(recurrence: str) -> str:
    """A stored recurrence (`DTSTART:...` newline `RRULE:...`) as one CSV line: the lines joined by `;`."""
    return ";".join(line.strip() for line in recurrence.splitlines() if line.strip())


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


def _rich_table(
    cells: list[list[str]],
    columns: list[Column],
    title: str | None,
    stream: TextIO,
    *,
    widths: list[int],
    width: int,
    header: bool = True,
) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold", show_edge=False, pad_edge=False, show_header=header)
    last = len(columns) - 1
    for i, (column, column_width) in enumerate(zip(columns, widths)):
        numeric = column.kind in ("int", "number", "pct", "duration")
        # Only a key/value view's value (its last column) wraps; `fit` already made the others fit.
        wraps = not header and i == last
        table.add_column(
            column.title,
            justify="right" if numeric else "left",
            no_wrap=not wraps,
            overflow="fold" if wraps else "ellipsis",
            min_width=None if wraps else column_width,
            max_width=None if wraps else column_width,
        )
    marked = [c.kind == "match" for c in columns]
    for row in cells:
        # Cells hold customer text: Text() keeps "[bold]" in a message from becoming markup.
        table.add_row(*(_marked(cell, Text) if m else Text(cell) for cell, m in zip(row, marked)))
    console = Console(file=stream, width=width)
    if title:
        # Above the table, not its title: a table's title wraps to the table's width.
        console.print(Text(visible(title), no_wrap=True, overflow="ellipsis"))
    console.print(table)


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
    section_titles: Mapping[str, str] | None = None,
    tz=None,
    title: str | None = None,
    stream: TextIO | None = None,
    raw: bool = False,
) -> None:
    """Render one record: JSON object, one flattened CSV/JSONL row, or a key/value view.

    `fields` lists the scalar fields shown in the key/value view (and renames a stored column
    to its machine key where they differ); `sections` names nested lists of rows (a ticket's
    timeline) rendered as tables beneath it, titled from their names unless `section_titles` says.
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
    emit_pairs([(c.title, shown(record.get(c.key), c, tz)) for c in columns], title=title, stream=stream)
    for name, section_columns in (sections or {}).items():
        rows = record.get(name) or []
        heading = (section_titles or {}).get(name) or section_title(name)
        stream.write("\n")
        if not rows:
            stream.write(f"{heading}: none\n")
            continue
        emit_rows(rows, section_columns, "table", tz=tz, title=heading, stream=stream)


def emit_pairs(pairs: list[tuple[str, str]], *, title: str | None = None, stream: TextIO | None = None) -> None:
    """A key/value view: names on the left, values wrapped to the terminal's width; no header row."""
    stream = stream or sys.stdout
    name_width = max((len(name) for name, _ in pairs), default=0)
    if use_rich(stream):
        width = screen_width(stream)
        value_width = max(width - name_width - 3, 10)
        _rich_table(
            [list(p) for p in pairs],
            [Column("field", " "), Column("value", " ")],
            title,
            stream,
            widths=[name_width, value_width],
            width=width,
            header=False,
        )
        return
    if title:
        stream.write(visible(title) + "\n")
    room = screen_width(stream) - name_width - 2 if is_terminal(stream) else 0
    for name, value in pairs:
        lines = value.split("\n")
        if room > 10:
            import textwrap

            lines = [part for line in lines for part in (textwrap.wrap(line, room) or [""])]
        # A multi-line value (notes) continues under its first line.
        text = ("\n" + " " * (name_width + 2)).join(lines)
        stream.write(f"{name.ljust(name_width)}  {text}".rstrip() + "\n")


def section_title(key: str) -> str:
    """`followups_overdue` -> `Follow-ups overdue`, `sla_breaching` -> `SLA breaching`."""
    words = [_SECTION_WORDS.get(word, word) for word in key.split("_")]
    words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words)


_SECTION_WORDS = {"followups": "follow-ups", "sla": "SLA"}
