"""Durations users type (``1h30m``, ``3d``) -> timedelta, and seconds -> short human text."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import NamedTuple

from carecli.text.clock import from_db
from carecli.text.vocabulary import BARE_NUMBER, CALENDAR_UNITS, TimeParseError, normalize, quote, split_amounts

DURATION_EXAMPLES = "90m, 1h30m, 2h 15m, 3d, 2w"


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``1h30m``, ``2h 15m``, ``1.5h``, ``3d``, ``2w`` -> timedelta (never negative)."""
    words = normalize(text)
    if not words:
        raise TimeParseError(f"no duration given; try {DURATION_EXAMPLES}")
    if words.startswith("-"):
        raise TimeParseError(f"a duration cannot be negative: {quote(text)}; try {DURATION_EXAMPLES}")
    if BARE_NUMBER.fullmatch(words):
        raise TimeParseError(f"{quote(text)} has no unit; write 90m, 1h or 3d")
    amounts = split_amounts(words.removeprefix("+"))
    if amounts is None:
        raise TimeParseError(f"cannot read {quote(text)} as a duration; try {DURATION_EXAMPLES}")
    if any(unit in CALENDAR_UNITS for _, unit in amounts):
        raise TimeParseError(f"months and years vary in length, so {quote(text)} is not a duration; use days, e.g. 30d")
    try:
        return sum((timedelta(**{unit: value}) for value, unit in amounts), timedelta())
    except OverflowError:
        raise TimeParseError(f"{quote(text)} is too long a duration") from None


class DaysApart(NamedTuple):
    """A duration with its days and weeks kept apart from its hours, minutes and seconds."""

    weeks: float
    days: float
    rest: timedelta


def parse_days_apart(text: str) -> DaysApart:
    """``1d 4h`` -> (0 weeks, 1 day, 4h); ``36h`` -> (0, 0, 36h); ``2w`` -> (2, 0, 0): for targets
    whose days are opening days rather than 24 hours (the text is read as `parse_duration` reads it)."""
    parse_duration(text)  # the same errors, for the same mistakes
    amounts = split_amounts(normalize(text).removeprefix("+")) or []
    weeks = sum(value for value, unit in amounts if unit == "weeks")
    days = sum(value for value, unit in amounts if unit == "days")
    rest = sum((timedelta(**{unit: value}) for value, unit in amounts if unit not in ("weeks", "days")), timedelta())
    return DaysApart(weeks, days, rest)


def humanize_seconds(seconds: float | None) -> str:
    """``0s``, ``45s``, ``12m 5s``, ``2h 15m``, ``3d 4h``: the two most significant units; None -> ``—``."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    sign = "-" if seconds < 0 else ""
    remaining = int(abs(seconds))
    parts: list[tuple[int, str]] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count or parts:
            parts.append((count, unit))
    if not parts:
        return "0s"
    shown = [f"{count}{unit}" for count, unit in parts[:2] if count]
    return sign + " ".join(shown)


def age_text(since_text: str | None, now: datetime) -> str:
    """How long ago stored time ``since_text`` was, humanized (``3d 2h``); empty -> ``—``."""
    if not since_text:
        return "—"
    return humanize_seconds((now - from_db(since_text)).total_seconds())


def rough_span(seconds: float) -> str:
    """A span in its one largest natural unit, rounded down: ``40 minutes``, ``5 days``, ``7 months``."""
    whole = int(abs(seconds))
    days = whole // 86400
    for count, unit in (
        (days // 365, "year"),
        (days // 30 if days >= 60 else 0, "month"),
        (days, "day"),
        (whole // 3600, "hour"),
        (whole // 60, "minute"),
    ):
        if count:
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{whole} second{'s' if whole != 1 else ''}"
