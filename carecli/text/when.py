"""Every way a user writes a time, a duration or a cadence -> aware datetime, timedelta or rrule.

Stored times are UTC text in one fixed format, ``YYYY-MM-DDTHH:MM:SS+00:00``, so text order is
time order. dateutil is imported inside the functions that need it: start-up time is Tab latency.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from dateutil.rrule import rrule

__all__ = [
    "TimeParseError",
    "now_utc",
    "get_zone",
    "parse_when",
    "is_date_only",
    "parse_duration",
    "parse_every",
    "parse_rrule",
    "next_occurrence",
    "to_db",
    "from_db",
    "local_day_bounds",
    "format_local",
    "humanize_seconds",
    "age_text",
]

WHEN_EXAMPLES = "2026-03-14, 2026-03-14 09:30, today, tomorrow, +3d, -2h, 2w, next monday"
DURATION_EXAMPLES = "90m, 1h30m, 2h 15m, 3d, 2w"
EVERY_EXAMPLES = "2w, 3 months, monthly, weekly on friday, 1y"
RRULE_EXAMPLE = "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1"
NOW_ENV_VAR = "CARECLI_NOW"


class TimeParseError(ValueError):
    """A time, duration or cadence the user wrote could not be read; the message says how to fix it."""


# ---------------------------------------------------------------------------------------------
# Vocabulary shared by the parsers
# ---------------------------------------------------------------------------------------------

_UNIT_WORDS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), "seconds"),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "minutes"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "hours"),
    **dict.fromkeys(("d", "day", "days"), "days"),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "weeks"),
    **dict.fromkeys(("mo", "mos", "month", "months"), "months"),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), "years"),
}
_CALENDAR_UNITS = ("months", "years")  # vary in length, so they are not durations

_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAYS = {
    **{name: index for index, name in enumerate(_WEEKDAY_NAMES)},
    **{name[:3]: index for index, name in enumerate(_WEEKDAY_NAMES)},
    "tues": 1,
    "weds": 2,
    "thur": 3,
    "thurs": 3,
}

# re.ASCII everywhere: \d must not match other scripts' digits, which int() and fromisoformat
# treat differently.
_AMOUNTS = re.compile(r"(?:\d+(?:\.\d+)?\s*[a-z]+\s*)+", re.ASCII)
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)", re.ASCII)
_BARE_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?", re.ASCII)
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
_DB_UNTIL = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.ASCII)


def _quote(text: str) -> str:
    """The user's text for an error message, cut short so one line stays one line."""
    shown = text.strip()
    return repr(shown if len(shown) <= 60 else shown[:57] + "...")


def _cannot_read_when(text: str) -> TimeParseError:
    return TimeParseError(f"cannot read {_quote(text)} as a time; try {WHEN_EXAMPLES}")


def _normalize(text: str) -> str:
    return " ".join(text.split()).lower()


# ---------------------------------------------------------------------------------------------
# Zones, now and conversions
# ---------------------------------------------------------------------------------------------


def now_utc() -> datetime:
    """Aware UTC now in whole seconds, or the pinned time in $CARECLI_NOW (naive text there is UTC)."""
    wall_clock = datetime.now(timezone.utc).replace(microsecond=0)
    pinned = os.environ.get(NOW_ENV_VAR, "").strip()
    if not pinned:
        return wall_clock
    try:
        return parse_when(pinned, now=wall_clock, tz=timezone.utc)
    except TimeParseError as error:
        raise TimeParseError(f"{NOW_ENV_VAR}: {error}") from None


def get_zone(name: str | None = None) -> tzinfo:
    """The IANA zone called ``name``; None or "" means the system's local zone."""
    name = (name or "").strip()
    if not name:
        return _system_zone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: malformed keys such as "../x"; OSError: a directory such as "Europe".
        raise TimeParseError(f"unknown time zone {_quote(name)}; use an IANA name such as Europe/Berlin") from None


def _system_zone() -> tzinfo:
    """The local zone as a ZoneInfo when we can name it, so DST rules apply to future dates too."""
    # TZ overrides /etc/localtime; either may be a path into the zoneinfo tree.
    source = os.environ.get("TZ", "").lstrip(":") or os.path.realpath("/etc/localtime")
    key = source.split("zoneinfo/", 1)[1] if "zoneinfo/" in source else source
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    # A fixed offset is right for today only, but it is all the platform tells us.
    return datetime.now().astimezone().tzinfo or timezone.utc


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value!r}")


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(microsecond=0)


def _local_to_utc(local: datetime, tz: tzinfo) -> datetime:
    """Naive local wall time -> aware UTC.

    fold=0 makes gaps and repeats deterministic: a repeated time means its first occurrence,
    a skipped time is read with the offset in force before the jump (zoneinfo semantics).
    """
    return _to_utc(local.replace(tzinfo=tz, fold=0))


def _local_naive(moment: datetime, tz: tzinfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def _local_midnight_utc(day: date, tz: tzinfo) -> datetime:
    return _local_to_utc(datetime.combine(day, time()), tz)


def to_db(dt: datetime) -> str:
    """Aware datetime -> the one stored format, ``YYYY-MM-DDTHH:MM:SS+00:00`` (sub-seconds dropped)."""
    _require_aware(dt, "to_db")
    return _to_utc(dt).isoformat()


def from_db(text: str) -> datetime:
    """Stored text -> aware UTC datetime. Text without an offset is taken as UTC."""
    text = text.strip()
    if text[-1:] in ("Z", "z"):  # Python 3.10's fromisoformat rejects the Z suffix
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def local_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[local midnight, next local midnight) of ``day`` as aware UTC; 23 or 25 hours on DST days."""
    return _local_midnight_utc(day, tz), _local_midnight_utc(day + timedelta(days=1), tz)


def format_local(text_or_dt: str | datetime | None, tz: tzinfo, *, with_seconds: bool = False) -> str:
    """Stored text or a datetime (naive means UTC) -> ``2026-03-14 09:30`` in ``tz``; empty -> ""."""
    if text_or_dt is None or text_or_dt == "":
        return ""
    moment = from_db(text_or_dt) if isinstance(text_or_dt, str) else text_or_dt
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


# ---------------------------------------------------------------------------------------------
# parse_when
# ---------------------------------------------------------------------------------------------


class _Reading(NamedTuple):
    """What the user wrote: a whole local day, or an exact instant (aware UTC)."""

    day: date | None = None
    instant: datetime | None = None


def parse_when(
    text: str,
    *,
    now: datetime,
    tz: tzinfo,
    dayfirst: bool = False,
    end_of_day: bool = False,
) -> datetime:
    """A time as the user wrote it -> aware UTC datetime in whole seconds.

    Naive input is local time in ``tz``. A day without a time of day (``2026-03-14``, ``today``,
    ``next monday``) means its local midnight; with ``end_of_day=True`` it means the *next* local
    midnight, an exclusive upper bound, so ``--until 2026-03-14`` includes all of that day.
    ``eod``/``eow``/``eom``/``sow``/``som`` are instants and ignore ``end_of_day``.
    """
    _require_aware(now, "now")
    try:
        reading = _read_when(text, now=now, tz=tz, dayfirst=dayfirst)
        if reading.day is None:
            assert reading.instant is not None  # a reading is a day or an instant
            return reading.instant
        day = reading.day + timedelta(days=1) if end_of_day else reading.day
        return _local_midnight_utc(day, tz)
    except TimeParseError:
        raise
    except (ValueError, OverflowError):
        # Dates past year 9999 or before year 1 after arithmetic or zone conversion.
        raise _cannot_read_when(text) from None


def is_date_only(text: str) -> bool:
    """True when ``text`` names a day without a time of day (``2026-03-14``, ``today``,
    ``next monday``), so "due 2026-03-14" can mean the whole day. Relative offsets such as
    ``+3d`` are instants. Unreadable text -> False."""
    reference_now = datetime(2000, 1, 1, tzinfo=timezone.utc)
    try:
        return _read_when(text, now=reference_now, tz=timezone.utc, dayfirst=False).day is not None
    except (ValueError, OverflowError):
        return False


def _read_when(text: str, *, now: datetime, tz: tzinfo, dayfirst: bool) -> _Reading:
    words = _normalize(text)
    if not words:
        raise TimeParseError(f"no time given; try {WHEN_EXAMPLES}")
    if words == "now":
        return _Reading(instant=_to_utc(now))
    for reader in (_read_iso, _read_offset, _read_day_phrase):
        reading = reader(words, now=now, tz=tz)
        if reading is not None:
            return reading
    # dateutil gets the user's own casing so its error message quotes what they wrote.
    return _read_with_dateutil(" ".join(text.split()), now=now, tz=tz, dayfirst=dayfirst)


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
        return _Reading(instant=_local_to_utc(parsed, tz))
    return _Reading(instant=_to_utc(parsed))


def _read_offset(words: str, *, now: datetime, tz: tzinfo) -> _Reading | None:
    """``+3d``, ``-2h``, ``2w`` (unsigned is future), ``in 2 days``, ``3 days ago``, ``1h30m``."""
    direction, body = 1, words
    if body.startswith("in "):
        body = body[3:]
    elif body.endswith(" ago"):
        direction, body = -1, body[:-4]
    elif body.startswith(("+", "-")):
        direction, body = (-1 if body[0] == "-" else 1), body[1:].lstrip()
    amounts = _split_amounts(body)
    if amounts is None:
        return None
    return _Reading(instant=_shift(now, amounts, direction, tz))


def _split_amounts(text: str) -> list[tuple[float, str]] | None:
    """``1h 30m`` -> [(1.0, "hours"), (30.0, "minutes")]; None unless all of it is amounts."""
    if not _AMOUNTS.fullmatch(text):
        return None
    amounts = []
    for number, unit_word in _AMOUNT.findall(text):
        unit = _UNIT_WORDS.get(unit_word)
        if unit is None:
            return None
        amounts.append((float(number), unit))
    return amounts


def _shift(now: datetime, amounts: list[tuple[float, str]], direction: int, tz: tzinfo) -> datetime:
    """Days and longer move the local calendar (so ``+1d`` at 09:00 is 09:00 across DST);
    hours and shorter are exact elapsed time."""
    months, days, exact = 0, 0.0, timedelta()
    for value, unit in amounts:
        if unit in _CALENDAR_UNITS:
            if not value.is_integer():
                raise TimeParseError(f"months and years must be whole numbers, not {value:g}; try 1mo, 6 months, 1y")
            months += int(value) * (12 if unit == "years" else 1)
        elif unit in ("days", "weeks"):
            days += value * (7 if unit == "weeks" else 1)
        else:
            exact += timedelta(**{unit: value})
    moved = now.astimezone(timezone.utc)  # aware arithmetic is only exact in UTC
    if months or days:
        local = _add_months(_local_naive(now, tz), direction * months)
        local += timedelta(days=direction * days)
        moved = local.replace(tzinfo=tz, fold=0).astimezone(timezone.utc)
    return _to_utc(moved + direction * exact)


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
        return _Reading(instant=_local_midnight_utc(bound, tz))

    time_of_day = _read_time_of_day(words.removeprefix("at "))
    if time_of_day is not None:
        return _Reading(instant=_local_to_utc(datetime.combine(today, time_of_day), tz))

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
    return _Reading(instant=_local_to_utc(datetime.combine(day, time_of_day), tz))


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
    weekday = _WEEKDAYS.get(name)
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


def _read_with_dateutil(text: str, *, now: datetime, tz: tzinfo, dayfirst: bool) -> _Reading:
    """Everything else (``14 march 2026``, ``03/14/2026 9:30``), guarded against dateutil's habit
    of reading plain words or lone numbers as dates."""
    if not any("0" <= ch <= "9" for ch in text) or _BARE_NUMBER.fullmatch(text):
        raise _cannot_read_when(text)

    from dateutil import parser

    local_midnight = datetime.combine(now.astimezone(tz).date(), time())
    try:
        with warnings.catch_warnings():
            # An unknown zone name ("10:00 CET") would otherwise be dropped silently.
            warnings.simplefilter("error", parser.UnknownTimezoneWarning)
            parsed = parser.parse(text, dayfirst=dayfirst, default=local_midnight)
            # Fields the user left out come from the default; a second default tells whether
            # the hour was one of them.
            probe = parser.parse(text, dayfirst=dayfirst, default=local_midnight.replace(hour=1))
    except Exception:
        # dateutil's parser raises a wide, undocumented range of errors on odd input
        # (ValueError, OverflowError, TypeError, IndexError, warnings); all mean "unreadable".
        raise _cannot_read_when(text) from None

    if parsed.hour != probe.hour:
        return _Reading(day=parsed.date())
    if parsed.tzinfo is None:
        return _Reading(instant=_local_to_utc(parsed, tz))
    return _Reading(instant=_to_utc(parsed))


# ---------------------------------------------------------------------------------------------
# Durations
# ---------------------------------------------------------------------------------------------


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``1h30m``, ``2h 15m``, ``1.5h``, ``3d``, ``2w`` -> timedelta (never negative)."""
    words = _normalize(text)
    if not words:
        raise TimeParseError(f"no duration given; try {DURATION_EXAMPLES}")
    if words.startswith("-"):
        raise TimeParseError(f"a duration cannot be negative: {_quote(text)}; try {DURATION_EXAMPLES}")
    if _BARE_NUMBER.fullmatch(words):
        raise TimeParseError(f"{_quote(text)} has no unit; write 90m, 1h or 3d")
    amounts = _split_amounts(words.removeprefix("+"))
    if amounts is None:
        raise TimeParseError(f"cannot read {_quote(text)} as a duration; try {DURATION_EXAMPLES}")
    if any(unit in _CALENDAR_UNITS for _, unit in amounts):
        raise TimeParseError(
            f"months and years vary in length, so {_quote(text)} is not a duration; use days, e.g. 30d"
        )
    try:
        return sum((timedelta(**{unit: value}) for value, unit in amounts), timedelta())
    except OverflowError:
        raise TimeParseError(f"{_quote(text)} is too long a duration") from None


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


# ---------------------------------------------------------------------------------------------
# Recurrence
# ---------------------------------------------------------------------------------------------

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
    return TimeParseError(f"cannot read {_quote(spec)} as a cadence{reason}; try {EVERY_EXAMPLES}")


def parse_every(spec: str, *, dtstart: datetime, tz: tzinfo) -> rrule:
    """A human cadence (``monthly``, ``every 2 weeks on mon,thu``, ``6 months``) -> rrule.

    The rule runs in naive LOCAL time of ``tz`` so a 09:00 reminder stays at 09:00 across DST;
    use next_occurrence() to get aware UTC back. Month ends are clamped: monthly from Jan 31 gives
    Feb 28/29, Mar 31, Apr 30; yearly from Feb 29 gives Feb 28 in common years. As in rrule,
    ``dtstart`` itself is an occurrence only if it matches the rule, and ``every 2 weeks on mon``
    counts weeks from the Monday-started week holding ``dtstart``, so it may skip that first week.
    """
    _require_aware(dtstart, "dtstart")
    words = _normalize(spec).removeprefix("every ")
    cadence, _, on_text = words.partition(" on ")
    interval, unit = _read_cadence(cadence, spec)
    local_start = _local_naive(dtstart, tz).replace(microsecond=0)
    return _build_rule(interval, unit, on_text.strip(), local_start, spec)


def _read_cadence(cadence: str, spec: str) -> tuple[int, str]:
    if cadence in _NAMED_CADENCES:
        return _NAMED_CADENCES[cadence]
    amounts = _split_amounts(cadence)
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
    if not names or any(name not in _WEEKDAYS for name in names):
        raise _cannot_read_every(spec, "; name weekdays like 'on friday' or 'on mon,thu'")
    return sorted({_WEEKDAYS[name] for name in names})


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

    _require_aware(dtstart, "dtstart")
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    body = _DB_UNTIL.sub(lambda match: "UNTIL=" + _utc_until_to_local(match[1], tz), body.upper())
    error = TimeParseError(f"cannot read {_quote(text)} as a recurrence rule; try {RRULE_EXAMPLE}")
    if not body or "\n" in body or ":" in body:  # one rule only, no DTSTART or EXDATE lines
        raise error
    try:
        rule = rr.rrulestr(body, dtstart=_local_naive(dtstart, tz).replace(microsecond=0))
    except Exception:
        # rrulestr raises ValueError for most bad input, but others (TypeError, KeyError) exist.
        raise error from None
    if not isinstance(rule, rr.rrule):
        raise error
    return rule


def _utc_until_to_local(compact_utc: str, tz: tzinfo) -> str:
    """``UNTIL=...Z`` is UTC, but an aware UNTIL cannot combine with our naive local dtstart."""
    until = datetime.strptime(compact_utc, "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)
    return _local_naive(until, tz).strftime("%Y%m%dT%H%M%S")


def next_occurrence(rule: rrule, *, after: datetime, tz: tzinfo) -> datetime | None:
    """First occurrence strictly after ``after`` (aware), as aware UTC; None when the rule ends.

    ``rule`` must be in naive local time of ``tz``, as parse_every and parse_rrule build it.
    """
    _require_aware(after, "after")
    after_utc = after.astimezone(timezone.utc)
    # Start a little early: around a DST fold the local clock repeats an hour, so naive local
    # order is not quite time order there.
    probe = _local_naive(after, tz) - timedelta(hours=3)
    for occurrence in rule.xafter(probe, inc=True):
        occurrence_utc = _local_to_utc(occurrence, tz)
        if occurrence_utc > after_utc:
            return occurrence_utc
    return None
