"""Cadences users type (``monthly``, ``every 2 weeks on mon``) and RFC 5545 rules -> dateutil rrule.

Rules run in naive local time so a 09:00 reminder stays at 09:00 across DST. dateutil is imported
inside the functions that need it: start-up time is Tab latency.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING

from carecli.text.clock import local_naive, local_to_utc, require_aware
from carecli.text.vocabulary import WEEKDAYS, TimeParseError, normalize, quote, split_amounts

if TYPE_CHECKING:
    from dateutil.rrule import rrule

EVERY_EXAMPLES = "2w, 3 months, monthly, weekly on friday, 1y"
RRULE_EXAMPLE = "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1"
_DB_UNTIL = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.ASCII)

_NAMED_CADENCES = {
    "daily": (1, "days"),
    "weekly": (1, "weeks"),
    "fortnightly": (2, "weeks"),
    "monthly": (1, "months"),
    "quarterly": (3, "months"),
    "yearly": (1, "years"),
    "annually": (1, "years"),
    "day": (1, "days"),
    "week": (1, "weeks"),
    "month": (1, "months"),
    "year": (1, "years"),
}
_MONTH_DAY = re.compile(r"(?:the )?(?:day )?(\d{1,2})(?:st|nd|rd|th)?", re.ASCII)
_LAST_MONTH_DAY = re.compile(r"(?:the )?last(?: day)?")


def _cannot_read_every(spec: str, reason: str = "") -> TimeParseError:
    return TimeParseError(f"cannot read {quote(spec)} as a cadence{reason}; try {EVERY_EXAMPLES}")


def parse_every(spec: str, *, dtstart: datetime, tz: tzinfo) -> rrule:
    """A human cadence (``monthly``, ``every 2 weeks on mon,thu``, ``6 months``) -> rrule.

    The rule runs in naive LOCAL time of ``tz`` so a 09:00 reminder stays at 09:00 across DST;
    use next_occurrence() to get aware UTC back. Month ends are clamped: monthly from Jan 31 gives
    Feb 28/29, Mar 31, Apr 30; yearly from Feb 29 gives Feb 28 in common years. As in rrule,
    ``dtstart`` itself is an occurrence only if it matches the rule, and ``every 2 weeks on mon``
    counts weeks from the Monday-started week holding ``dtstart``, so it may skip that first week.
    """
    require_aware(dtstart, "dtstart")
    words = normalize(spec).removeprefix("every ")
    cadence, _, on_text = words.partition(" on ")
    interval, unit = _read_cadence(cadence, spec)
    local_start = local_naive(dtstart, tz).replace(microsecond=0)
    return _build_rule(interval, unit, on_text.strip(), local_start, spec)


def _read_cadence(cadence: str, spec: str) -> tuple[int, str]:
    if cadence in _NAMED_CADENCES:
        return _NAMED_CADENCES[cadence]
    amounts = split_amounts(cadence)
    if amounts is None or len(amounts) != 1:
        raise _cannot_read_every(spec)
    value, unit = amounts[0]
    if unit not in ("days", "weeks", "months", "years"):
        raise _cannot_read_every(spec, "; cadences count days, weeks, months or years")
    if not value.is_integer() or value < 1:
        raise _cannot_read_every(spec, "; the count must be a whole number of at least 1")
    return int(value), unit


def _build_rule(interval: int, unit: str, on_text: str, local_start: datetime, spec: str) -> rrule:
    from dateutil import rrule as rr

    if unit == "weeks":
        weekdays = _read_weekdays(on_text, spec) if on_text else None
        return rr.rrule(rr.WEEKLY, interval=interval, dtstart=local_start, byweekday=weekdays)
    if unit == "months":
        day = _read_month_day(on_text, spec) if on_text else local_start.day
        return rr.rrule(rr.MONTHLY, interval=interval, dtstart=local_start, **_clamped_month_day(day))
    if on_text:
        raise _cannot_read_every(spec, "; 'on ...' works with weekly or monthly cadences")
    if unit == "years" and (local_start.month, local_start.day) == (2, 29):
        return rr.rrule(rr.YEARLY, interval=interval, dtstart=local_start, bymonth=2, **_clamped_month_day(29))
    frequency = rr.YEARLY if unit == "years" else rr.DAILY
    return rr.rrule(frequency, interval=interval, dtstart=local_start)


def _clamped_month_day(day: int) -> dict:
    """rrule arguments for "day ``day`` of the month, or the month's last day if it is shorter".

    Plain BYMONTHDAY=31 skips short months. BYMONTHDAY=(31, -1) with BYSETPOS=1 picks the earlier
    of "the 31st" and "the last day": the 31st where it exists, else the last day.
    """
    if day == -1 or day <= 28:
        return {"bymonthday": day}
    return {"bymonthday": (day, -1), "bysetpos": 1}


def _read_weekdays(on_text: str, spec: str) -> list[int]:
    names = on_text.replace(",", " ").replace(" and ", " ").split()
    if not names or any(name not in WEEKDAYS for name in names):
        raise _cannot_read_every(spec, "; name weekdays like 'on friday' or 'on mon,thu'")
    return sorted({WEEKDAYS[name] for name in names})


def _read_month_day(on_text: str, spec: str) -> int:
    if _LAST_MONTH_DAY.fullmatch(on_text):
        return -1
    match = _MONTH_DAY.fullmatch(on_text)
    if match is None or not 1 <= int(match[1]) <= 31:
        raise _cannot_read_every(spec, "; name a day like 'on the 1st', 'on day 15' or 'on the last day'")
    return int(match[1])


def parse_rrule(text: str, *, dtstart: datetime, tz: tzinfo) -> rrule:
    """RFC 5545 rule text (``FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1``, ``RRULE:`` optional) -> rrule
    in naive local time of ``tz``, like parse_every."""
    from dateutil import rrule as rr

    require_aware(dtstart, "dtstart")
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    body = _DB_UNTIL.sub(lambda match: "UNTIL=" + _utc_until_to_local(match[1], tz), body.upper())
    error = TimeParseError(f"cannot read {quote(text)} as a recurrence rule; try {RRULE_EXAMPLE}")
    if not body or "\n" in body or ":" in body:  # one rule only, no DTSTART or EXDATE lines
        raise error
    try:
        rule = rr.rrulestr(body, dtstart=local_naive(dtstart, tz).replace(microsecond=0))
    except Exception:
        # rrulestr raises ValueError for most bad input, but others (TypeError, KeyError) exist.
        raise error from None
    if not isinstance(rule, rr.rrule):
        raise error
    return rule


def _utc_until_to_local(compact_utc: str, tz: tzinfo) -> str:
    """``UNTIL=...Z`` is UTC, but an aware UNTIL cannot combine with our naive local dtstart."""
    until = datetime.strptime(compact_utc, "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)
    return local_naive(until, tz).strftime("%Y%m%dT%H%M%S")


def next_occurrence(rule: rrule, *, after: datetime, tz: tzinfo) -> datetime | None:
    """First occurrence strictly after ``after`` (aware), as aware UTC; None when the rule ends.

    ``rule`` must be in naive local time of ``tz``, as parse_every and parse_rrule build it.
    """
    require_aware(after, "after")
    after_utc = after.astimezone(timezone.utc)
    # Start a little early: around a DST fold the local clock repeats an hour, so naive local
    # order is not quite time order there.
    probe = local_naive(after, tz) - timedelta(hours=3)
    for occurrence in rule.xafter(probe, inc=True):
        occurrence_utc = local_to_utc(occurrence, tz)
        if occurrence_utc > after_utc:
            return occurrence_utc
    return None
