"""Source cells -> typed field values through the mapping: text, choices, numbers, minutes, times.

Each field gets one compiled getter per import, so the per-row work is a few dictionary lookups.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from carecli.core.config import Settings
from carecli.core.errors import InvalidInput
from carecli.data.importing.mapping import Mapping
from carecli.data.importing.reading import SourceRow

SCORE_RANGES = {"csat": (1, 5), "ces": (1, 7)}


class RowError(Exception):
    def __init__(self, field_name: str, value: Any, reason: str):
        super().__init__(reason)
        self.field, self.value, self.reason = field_name, value, reason


# Formats tried, once, on a time only dateutil could read; one that reads it the same way is then used
# first for the rest of the file (dateutil costs ~50 µs a value, strptime a tenth of that).
LEARNABLE_FORMATS = (
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d %b %Y %H:%M",
    "%d %b %Y",
    "%b %d, %Y %I:%M %p",
    "%b %d, %Y",
    "%a, %d %b %Y %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S %Z",
)
_CACHE_LIMIT = 1000


def _none(record: list[str]) -> None:
    return None


def restoring_formulas(mapping: Mapping, get: Callable[[list[str]], str | None]) -> Callable[[list[str]], str | None]:
    """For carecli's own export (the `carecli` preset): the text before the CSV formula rule added its `'`.

    `'=SUM(A1)` reads back as `=SUM(A1)`; core/csvfile.restore undoes exactly what neutralise did, so
    an export without --raw re-imports as stored. (In a --raw export, or JSON, text stored as `'=x`
    reads back as `=x`.) Other presets keep every apostrophe: their files are not carecli's.
    """
    if mapping.preset != "carecli":
        return get
    from carecli.core.csvfile import NEUTRALISER, restore

    def restored(record: list[str]) -> str | None:
        value = get(record)
        if value is None or value[:1] != NEUTRALISER:
            return value
        return restore(value).strip() or None

    return restored


class Values:
    """Turns source records into typed field values, through the mapping.

    Each field gets a getter compiled once per import (cell positions, value table, parsers and small
    caches bound in a closure), so the per-row work is a few list lookups and C-level parsing.
    `text(name)` and friends read the current `record` for the less hot paths.
    """

    def __init__(self, mapping: Mapping, header: list[str] | None, settings: Settings, file_label: str):
        from carecli.text.clock import get_zone

        self.mapping, self.settings = mapping, settings
        if header is None:  # JSON Lines: each object may leave out keys
            header = list(dict.fromkeys(h for headers in mapping.columns.values() for h in headers))
        for name, headers in mapping.columns.items():
            if all(h not in header for h in headers):
                raise InvalidInput(
                    f"{file_label}: column '{headers[0]}' (mapped to {name}) is not in the header",
                    f"the file's columns are: {', '.join(header)}",
                )
        self.header = header
        position = {h: i for i, h in enumerate(header)}  # a repeated header: the last one wins
        self.columns = {name: [h for h in headers if h in position] for name, headers in mapping.columns.items()}
        self.positions = {name: tuple(position[h] for h in headers) for name, headers in self.columns.items()}
        self.zone = get_zone(mapping.timezone) if mapping.timezone else settings.tz
        self.learned_format: str | None = None
        self.record: list[str] = []
        self._getters: dict[str, Callable[[list[str]], str | None]] = {}

    def has(self, name: str) -> bool:
        return name in self.columns

    def header_of(self, name: str) -> str:
        headers = self.columns.get(name) or self.mapping.columns.get(name) or [name]
        return headers[0]

    def error(self, name: str, reason: str) -> RowError:
        return RowError(self.header_of(name), self.raw(name), reason)

    def raw(self, name: str) -> str:
        for i in self.positions.get(name, ()):
            if self.record[i].strip():
                return self.record[i]
        return ""

    # -------------------------------------------------------- compiled getters (record -> value)

    def getter(self, name: str) -> Callable[[list[str]], str | None]:
        """The field's text: first non-empty mapped cell, stripped, translated by [values.NAME]; None if empty."""
        get = self._getters.get(name)
        if get is None:
            get = self._getters[name] = restoring_formulas(self.mapping, self._compile_text(name))
        return get

    def _compile_text(self, name: str) -> Callable[[list[str]], str | None]:
        positions = self.positions.get(name, ())
        table = self.mapping.values.get(name)
        if not positions:
            return _none
        if len(positions) == 1 and not table:
            (i,) = positions

            def single(record: list[str]) -> str | None:
                return record[i].strip() or None

            return single
        table = table or {}

        def first(record: list[str]) -> str | None:
            for i in positions:
                value = record[i].strip()
                if value:
                    translated = table.get(value.lower())
                    if translated is not None:
                        return translated or None
                    return value
            return None

        return first

    def choice_getter(self, name: str, list_key: str, default_key: str) -> Callable[[list[str]], str]:
        get, allowed, default = self.getter(name), self.settings[list_key], self.settings[default_key]
        cache: dict[str, str] = {}

        def choice(record: list[str]) -> str:
            value = get(record)
            if value is None:
                return default
            known = cache.get(value)
            if known is None:
                known = value.lower()
                if known not in allowed:
                    raise self.error(
                        name, f"unknown {name}; map it in [values.{name}] or use one of: {', '.join(allowed)}"
                    )
                if len(cache) < _CACHE_LIMIT:
                    cache[value] = known
            return known

        return choice

    def integer_getter(
        self, name: str, low: int | None = None, high: int | None = None
    ) -> Callable[[list[str]], int | None]:
        get = self.getter(name)
        cache: dict[str, int] = {}

        def integer(record: list[str]) -> int | None:
            value = get(record)
            if value is None:
                return None
            number = cache.get(value)
            if number is None:
                try:
                    reading = float(value)  # real exports write scores as 3.0
                    if not reading.is_integer():
                        raise ValueError
                    number = int(reading)
                except (ValueError, OverflowError):
                    raise self.error(name, "not a whole number") from None
                if (low is not None and number < low) or (high is not None and number > high):
                    raise self.error(name, f"out of range {low}..{high}")
                if len(cache) < _CACHE_LIMIT:
                    cache[value] = number
            return number

        return integer

    def minutes_getter(self, name: str) -> Callable[[list[str]], timedelta | None]:
        get = self.getter(name)

        def minutes(record: list[str]) -> timedelta | None:
            value = get(record)
            if value is None:
                return None
            try:
                return timedelta(minutes=float(value))
            except (ValueError, OverflowError):
                raise self.error(name, "not a number of minutes") from None

        return minutes

    def amount_getter(self, name: str) -> Callable[[list[str]], float | None]:
        """A price or total as shops write it: `29.90`, `29,90`, `1,234.50` or `1.234,50` (the last
        separator is the decimal one), never negative."""
        get = self.getter(name)
        cache: dict[str, float] = {}

        def amount(record: list[str]) -> float | None:
            value = get(record)
            if value is None:
                return None
            number = cache.get(value)
            if number is None:
                number = read_amount(value)
                if number is None:
                    raise self.error(name, "not an amount (write it like 29.90)")
                if len(cache) < _CACHE_LIMIT:
                    cache[value] = number
            return number

        return amount

    def time_getter(self, name: str) -> Callable[[list[str]], tuple[datetime, str] | None]:
        """The field's time as (UTC datetime, stored text); text already in stored form is kept as it is."""
        get = self.getter(name)
        if get is _none:
            return _none
        parse, zone, utc = self.parse_time, self.zone, timezone.utc
        hint = (
            f"expected format {self.mapping.time_format}"
            if self.mapping.time_format
            else "write it like 2026-03-14 09:30 or set [time] format in the mapping"
        )

        def time(record: list[str]) -> tuple[datetime, str] | None:
            value = get(record)
            if value is None:
                return None
            try:
                moment = parse(value)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=zone)
                elif moment.microsecond == 0 and len(value) == 25 and value[10] == "T" and value[19:] == "+00:00":
                    return moment, value  # already how we store it
                moment = moment.astimezone(utc).replace(microsecond=0)
            except (ValueError, OverflowError):
                raise self.error(name, f"not a time ({hint})") from None
            return moment, moment.isoformat()

        return time

    def parse_time(self, value: str) -> datetime:
        """ISO text through the C parser, else the mapping's format, else a format learned from dateutil."""
        if self.mapping.time_format:
            return datetime.strptime(value, self.mapping.time_format)
        try:
            return datetime.fromisoformat(value[:-1] + "+00:00" if value[-1] in "Zz" else value)
        except ValueError:
            pass
        if self.learned_format:
            try:
                return datetime.strptime(value, self.learned_format)
            except ValueError:
                pass
        from dateutil import parser

        from carecli.text.when import reads_day_first  # the rule users' own typing follows

        moment = parser.parse(value, dayfirst=reads_day_first(value, self.settings["dayfirst"]))
        if self.learned_format is None:
            self.learned_format = ""  # learn once
            for candidate in LEARNABLE_FORMATS:
                try:
                    if datetime.strptime(value, candidate) == moment:
                        self.learned_format = candidate
                        break
                except ValueError:
                    continue
        return moment

    # -------------------------------------------------------- the current record (less hot paths)

    def text(self, name: str) -> str | None:
        return self.getter(name)(self.record)

    def choice(self, name: str, list_key: str, default_key: str) -> str:
        return self.choice_getter(name, list_key, default_key)(self.record)

    def integer(self, name: str, low: int | None = None, high: int | None = None) -> int | None:
        return self.integer_getter(name, low, high)(self.record)

    def minutes(self, name: str) -> timedelta | None:
        return self.minutes_getter(name)(self.record)

    def time(self, name: str) -> datetime | None:
        moment = self.time_getter(name)(self.record)
        return None if moment is None else moment[0]


def stored(moment: datetime | None) -> str | None:
    """A parsed time as stored (the getters already give UTC in whole seconds)."""
    return None if moment is None else moment.isoformat()


def tag_list(text: str | None) -> str:
    """Tags as a source writes them (`a, b` or `a b`) -> stored tag text; a bad tag is InvalidInput."""
    from carecli.records.customers import normalize_tags

    if not text:
        return ""
    return normalize_tags(t for t in text.replace(",", " ").split() if t)


def describe(exc: RowError, row: SourceRow, file_label: str) -> str:
    """`file:line: column 'X' value 'v': reason` — what a person needs to find and fix it."""
    where = f"{file_label}:{row.line}"
    if exc.field:
        value = exc.value if len(str(exc.value)) <= 60 else str(exc.value)[:57] + "..."
        return f"{where}: column '{exc.field}' value {value!r}: {exc.reason}"
    return f"{where}: {exc.reason}"


def read_amount(text: str) -> float | None:
    """`29.90`, `29,90`, `1,234.50`, `1.234,50` -> 29.9, 29.9, 1234.5, 1234.5; None for anything
    else (a sign, a currency symbol, letters, infinity). A lone comma is a decimal comma."""
    import math

    value = text.replace(" ", "").replace("\u00a0", "")
    if "," in value:
        if "." in value:  # the separator that comes last is the decimal one
            thousands = "," if value.rfind(",") < value.rfind(".") else "."
            value = value.replace(thousands, "")
        value = value.replace(",", ".")
    if not value or value[0] not in "0123456789.":
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
