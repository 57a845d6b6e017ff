"""Every way a user writes a time (``2026-03-14 09:30``, ``+3d``, ``next monday``) -> aware UTC datetime.

dateutil is imported inside the function that needs it: start-up time is Tab latency.
"""

from __future__ import annotations

import re
import warnings
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Literal, NamedTuple

from carecli.text.clock import local_midnight_utc, local_naive, local_to_utc, require_aware, to_utc
from carecli.text.vocabulary import (
    BARE_NUMBER,
    CALENDAR_UNITS,
    WEEKDAYS,
    TimeParseError,
    normalize,
    quote,
    split_amounts,
)

WHEN_EXAMPLES = "2026-03-14, 2026-03-14 09:30, today, tomorrow, +3d, -2h, 2w, next monday"
# re.ASCII everywhere: \d must not match other scripts' digits, which int() and fromisoformat
# treat differently.
_ISO = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[t ](?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{3}(?:\d{3})?)?)?)"
    r" ?(?P<offset>z|[+-]\d{2}(?::?\d{2})?)?)?",
    re.ASCII,
)
_TIME_OF_DAY = re.compile(
    r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2}))?)? ?(?P<meridiem>am|pm)?",
    re.ASCII,
)


# A numeric date written day-first: 24/12, 24.12.2026, 24-12-26. Not part of a longer run of
# digits and separators, so the 12-04 inside 2026-12-04 (year-first, never day-first) is not one.
_DAY_FIRST_DATE = re.compile(r"(?<![\d/.-])\d{1,2}([/.-])\d{1,2}(?:\1\d{2}(?:\d{2})?)?(?![\d/.-])", re.ASCII)


def reads_day_first(text: str, dayfirst: bool) -> bool:
    """Whether to read `text` day first under the `dayfirst` setting: only a numeric date written
    day first with `/`, `.` or `-` (24/12/2026); a year-first date (2026-12-04) never is."""
    return dayfirst and _DAY_FIRST_DATE.search(text) is not None


# Times users type must fall in a shop's life; 9999-12-31 or 0001-01-02 is a typo.
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)
# A date without a year: its next occurrence (planning: --due, snooze) or its most recent past
# one (recording and reporting: --at, --since). Both count today. An offset without a sign (2w)
# goes the same way: ahead when planning, back when recording or reporting.
Yearless = Literal["next", "past"]
# A leap year, so that a probe default can take any month and day (29/02 included).
_PROBE_YEAR = 4


def _cannot_read_when(text: str) -> TimeParseError:
    return TimeParseError(f"cannot read {quote(text)} as a time; try {WHEN_EXAMPLES}")


def _outside_window(text: str) -> TimeParseError:
    return TimeParseError(
        f"{quote(text)} is outside {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d} (UTC); check the year, e.g. 2026-03-14"
    )


class _Reading(NamedTuple):
    """What the user wrote: a whole local day, or an exact instant (aware UTC)."""

    day: date | None = None
    instant: datetime | None = None


def parse_when(
    text: str,
    *,
    now: datetime,
    tz: tzinfo,
    yearless: Yearless,
    dayfirst: bool = False,
    end_of_day: bool = False,
) -> datetime:
    """A time as the user wrote it -> aware UTC datetime in whole seconds, within EARLIEST..LATEST.

    Naive input is local time in ``tz``. ``dayfirst`` reads numeric dates written with ``/``, ``.``
    or ``-`` day-first (``24/12/2026``); a date written year-first (``2026-12-04``) is never
    day-first. A date without a year (``24 dec``, ``03/04``) is its next occurrence on or after
    today with ``yearless="next"``, its most recent one on or before today with ``"past"``. A day without a time of day (``2026-03-14``, ``today``,
    ``next monday``) means its local midnight; with ``end_of_day=True`` it means the *next* local
    midnight, an exclusive upper bound, so ``--until 2026-03-14`` includes all of that day.
    ``eod``/``eow``/``eom``/``sow``/``som`` are instants and ignore ``end_of_day``.
    """
    require_aware(now, "now")
    try:
        reading = _read_when(text, now=now, tz=tz, dayfirst=dayfirst, yearless=yearless)
        if reading.day is None:
            assert reading.instant is not None  # a reading is a day or an instant
            moment = reading.instant
        else:
            moment = local_midnight_utc(reading.day + timedelta(days=1) if end_of_day else reading.day, tz)
    except TimeParseError:
        raise
    except (ValueError, OverflowError):
        # Dates past year 9999 or before year 1 after arithmetic or zone conversion.
        raise _cannot_read_when(text) from None
    if not EARLIEST <= moment <= LATEST:
        raise _outside_window(text)
    return moment


def is_date_only(text: str, *, dayfirst: bool) -> bool:
    """True when ``text`` names a day without a time of day (``2026-03-14``, ``today``,
    ``next monday``), so "due 2026-03-14" can mean the whole day. Relative offsets such as
    ``+3d`` are instants. Unreadable text -> False. ``dayfirst`` as for parse_when: with it,
    ``24/12`` is a day; without it, it is unreadable."""
    reference_now = datetime(2000, 1, 1, tzinfo=timezone.utc)
    try:
        reading = _read_when(text, now=reference_now, tz=timezone.utc, dayfirst=dayfirst, yearless="next")
        return reading.day is not None
    except (ValueError, OverflowError):
        return False


def _read_when(text: str, *, now: datetime, tz: tzinfo, dayfirst: bool, yearless: Yearless) -> _Reading:
    words = normalize(text)
    if not words:
        raise TimeParseError(f"no time given; try {WHEN_EXAMPLES}")
    if words == "now":
        return _Reading(instant=to_utc(now))
    reading = _read_iso(words, now=now, tz=tz) or _read_offset(words, now=now, tz=tz, yearless=yearless)
    if reading is None:
        reading = _read_day_phrase(words, now=now, tz=tz)
    if reading is not None:
        return reading
    # dateutil gets the user's own casing so its error message quotes what they wrote.
    return _read_with_dateutil(" ".join(text.split()), now=now, tz=tz, dayfirst=dayfirst, yearless=yearless)


def _read_iso(words: str, *, now: datetime, tz: tzinfo) -> _Reading | None:
    """The fast path: ISO 8601 through fromisoformat, limited to what Python 3.10 accepts."""
    match = _ISO.fullmatch(words)
    if match is None:
        return None
    if match["time"] is None:
        return _Reading(day=date.fromisoformat(match["date"]))
    offset = match["offset"] or ""
    if offset == "z":
        offset = "+00:00"
    elif len(offset) == 5:  # +0100 -> +01:00
        offset = f"{offset[:3]}:{offset[3:]}"
    elif len(offset) == 3:  # +01 -> +01:00
        offset += ":00"
    parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}{offset}")
    if parsed.tzinfo is None:
        return _Reading(instant=local_to_utc(parsed, tz))
    return _Reading(instant=to_utc(parsed))


def _read_offset(words: str, *, now: datetime, tz: tzinfo, yearless: Yearless) -> _Reading | None:
    """``+3d``, ``-2h``, ``in 2 days``, ``3 days ago``, ``1h30m``. Without a sign (``2w``), the
    way the option looks: ahead when planning (``yearless="next"``: --due 2w), back when recording
    or reporting (``"past"``: --since 2w is two weeks ago), as for a date without a year."""
    direction, body = (1 if yearless == "next" else -1), words
    if body.startswith("in "):
        direction, body = 1, body[3:]
    elif body.endswith(" ago"):
        direction, body = -1, body[:-4]
    elif body.startswith(("+", "-")):
        direction, body = (-1 if body[0] == "-" else 1), body[1:].lstrip()
    amounts = split_amounts(body)
    if amounts is None:
        return None
    return _Reading(instant=_shift(now, amounts, direction, tz))


def _shift(now: datetime, amounts: list[tuple[float, str]], direction: int, tz: tzinfo) -> datetime:
    """Days and longer move the local calendar (so ``+1d`` at 09:00 is 09:00 across DST);
    hours and shorter are exact elapsed time."""
    months, days, exact = 0, 0.0, timedelta()
    for value, unit in amounts:
        if unit in CALENDAR_UNITS:
            if not value.is_integer():
                raise TimeParseError(f"months and years must be whole numbers, not {value:g}; try 1mo, 6 months, 1y")
            months += int(value) * (12 if unit == "years" else 1)
        elif unit in ("days", "weeks"):
            days += value * (7 if unit == "weeks" else 1)
        else:
            exact += timedelta(**{unit: value})
    moved = now.astimezone(timezone.utc)  # aware arithmetic is only exact in UTC
    if months or days:
        local = _add_months(local_naive(now, tz), direction * months)
        local += timedelta(days=direction * days)
        moved = local.replace(tzinfo=tz, fold=0).astimezone(timezone.utc)
    return to_utc(moved + direction * exact)


def _add_months(moment: datetime, months: int) -> datetime:
    """Calendar month arithmetic, clamping the day: Jan 31 + 1 month -> Feb 28 (or 29)."""
    year, month_index = divmod(moment.year * 12 + moment.month - 1 + months, 12)
    month = month_index + 1
    return moment.replace(year=year, month=month, day=min(moment.day, _days_in_month(year, month)))


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (date(year, month + 1, 1) - timedelta(days=1)).day


def _read_day_phrase(words: str, *, now: datetime, tz: tzinfo) -> _Reading | None:
    """``today``, ``next friday 14:00``, ``last mon``, ``eow``, ``5pm`` (today at 17:00)..."""
    today = now.astimezone(tz).date()
    bound = _read_bound(words, today)
    if bound is not None:
        return _Reading(instant=local_midnight_utc(bound, tz))

    time_of_day = _read_time_of_day(words.removeprefix("at "))
    if time_of_day is not None:
        return _Reading(instant=local_to_utc(datetime.combine(today, time_of_day), tz))

    parts = words.split(" ")
    day_word_count = 2 if parts[0] in ("next", "last") else 1
    day = _read_day_word(" ".join(parts[:day_word_count]), today)
    if day is None:
        return None
    rest = parts[day_word_count:]
    if not rest:
        return _Reading(day=day)
    time_of_day = _read_time_of_day(" ".join(rest).removeprefix("at "))
    if time_of_day is None:
        return None
    return _Reading(instant=local_to_utc(datetime.combine(day, time_of_day), tz))


def _read_bound(words: str, today: date) -> date | None:
    """Week and month bounds as the local day whose midnight they are (weeks start on Monday)."""
    start_of_week = today - timedelta(days=today.weekday())
    start_of_month = today.replace(day=1)
    bounds = {
        "eod": lambda: today + timedelta(days=1),
        "eow": lambda: start_of_week + timedelta(days=7),
        "eom": lambda: start_of_month + timedelta(days=_days_in_month(today.year, today.month)),
        "sow": lambda: start_of_week,
        "som": lambda: start_of_month,
    }
    compute = bounds.get(words)
    return compute() if compute else None


def _read_day_word(words: str, today: date) -> date | None:
    if words == "today":
        return today
    if words == "tomorrow":
        return today + timedelta(days=1)
    if words == "yesterday":
        return today - timedelta(days=1)
    direction, _, name = words.rpartition(" ")
    weekday = WEEKDAYS.get(name)
    if weekday is None or direction not in ("", "next", "last"):
        return None
    if direction == "last":  # the most recent such day strictly before today
        return today - timedelta(days=(today.weekday() - weekday - 1) % 7 + 1)
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)  # strictly after


def _read_time_of_day(words: str) -> time | None:
    """``09:30``, ``9:30:15``, ``5pm``, ``5:30 pm``; a bare ``9`` is too ambiguous to accept."""
    match = _TIME_OF_DAY.fullmatch(words)
    if match is None or (match["minute"] is None and match["meridiem"] is None):
        return None
    hour, minute, second = int(match["hour"]), int(match["minute"] or 0), int(match["second"] or 0)
    if match["meridiem"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if match["meridiem"] == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def _read_with_dateutil(text: str, *, now: datetime, tz: tzinfo, dayfirst: bool, yearless: Yearless) -> _Reading:
    """Everything else (``14 march 2026``, ``03/14/2026 9:30``, ``24 dec``), guarded against
    dateutil's habit of reading plain words or lone numbers as dates."""
    if not any("0" <= ch <= "9" for ch in text) or BARE_NUMBER.fullmatch(text):
        raise _cannot_read_when(text)

    from dateutil import parser

    # dateutil's dayfirst also swaps year-first dates (2026-12-04 -> 12 April): only a date
    # written day-first may be read day-first.
    dayfirst = reads_day_first(text, dayfirst)
    today = now.astimezone(tz).date()
    try:
        with warnings.catch_warnings():
            # An unknown zone name ("10:00 CET") would otherwise be dropped silently.
            warnings.simplefilter("error", parser.UnknownTimezoneWarning)
            # Fields the user left out come from the default. The probe's default differs in
            # year and hour from the real one, which tells whether the user gave those.
            probe = parser.parse(text, dayfirst=dayfirst, default=datetime(_PROBE_YEAR, today.month, 1, 1))
            default_day = today
            if probe.year == _PROBE_YEAR:
                default_day = _year_for(probe.month, probe.day, today, yearless)
            else:
                probe = parser.parse(text, dayfirst=dayfirst, default=datetime.combine(today, time(1)))
            parsed = parser.parse(text, dayfirst=dayfirst, default=datetime.combine(default_day, time()))
    except Exception:
        # dateutil's parser raises a wide, undocumented range of errors on odd input
        # (ValueError, OverflowError, TypeError, IndexError, warnings); all mean "unreadable".
        raise _cannot_read_when(text) from None

    if parsed.hour != probe.hour:
        return _Reading(day=parsed.date())
    if parsed.tzinfo is None:
        return _Reading(instant=local_to_utc(parsed, tz))
    return _Reading(instant=to_utc(parsed))


def _year_for(month: int, day: int, today: date, yearless: Yearless) -> date:
    """The day ``month``/``day`` in the year ``yearless`` asks for (29 February: a leap year)."""
    step = 1 if yearless == "next" else -1
    year = today.year
    while True:
        try:
            candidate = date(year, month, day)
        except ValueError:  # 29 February outside a leap year
            year += step
            continue
        if (candidate >= today) if yearless == "next" else (candidate <= today):
            return candidate
        year += step
