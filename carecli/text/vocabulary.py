"""Words and amounts shared by the time, duration and cadence parsers, and the one error they raise."""

from __future__ import annotations

import re


class TimeParseError(ValueError):
    """A time, duration or cadence the user wrote could not be read; the message says how to fix it."""


UNIT_WORDS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), "seconds"),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "minutes"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "hours"),
    **dict.fromkeys(("d", "day", "days"), "days"),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "weeks"),
    **dict.fromkeys(("mo", "mos", "month", "months"), "months"),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), "years"),
}
CALENDAR_UNITS = ("months", "years")  # vary in length, so they are not durations

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAYS = {
    **{name: index for index, name in enumerate(WEEKDAY_NAMES)},
    **{name[:3]: index for index, name in enumerate(WEEKDAY_NAMES)},
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}

# re.ASCII everywhere: \d must not match other scripts' digits, which int() and fromisoformat
# treat differently.
AMOUNTS = re.compile(r"(?:\d+(?:\.\d+)?\s*[a-z]+\s*)+", re.ASCII)
AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)", re.ASCII)
BARE_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?", re.ASCII)


def quote(text: str) -> str:
    """The user's text for an error message, cut short so one line stays one line."""
    shown = text.strip()
    return repr(shown if len(shown) <= 60 else shown[:57] + "...")


def normalize(text: str) -> str:
    return " ".join(text.split()).lower()


def split_amounts(text: str) -> list[tuple[float, str]] | None:
    """``1h 30m`` -> [(1.0, "hours"), (30.0, "minutes")]; None unless all of it is amounts."""
    if not AMOUNTS.fullmatch(text):
        return None
    amounts = []
    for number, unit_word in AMOUNT.findall(text):
        unit = UNIT_WORDS.get(unit_word)
        if unit is None:
            return None
        amounts.append((float(number), unit))
    return amounts
