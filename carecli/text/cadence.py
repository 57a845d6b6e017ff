"""Cadences users type (``monthly``, ``every 2 weeks on mon``) and RFC 5545 rules -> dateutil rrule.

Rules run in naive local time so a 09:00 reminder stays at 09:00 across DST. dateutil is imported
inside the functions that need it: start-up time is Tab latency.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Iterator

from carecli.text.clock import local_naive, local_to_utc, require_aware
from carecli.text.vocabulary import WEEKDAYS, TimeParseError, normalize, quote, split_amounts

if TYPE_CHECKING:
    from dateutil.rrule import rrule

EVERY_EXAMPLES = "2w, 3 months, monthly, weekly on friday, 1y"
RRULE_EXAMPLE = "FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1"
_DB_UNTIL = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.ASCII)
# Follow-ups are days with people; a rule firing every hour or minute is a typo, and a long
# series of them would make every `followup done` walk thousands of occurrences.
_TOO_FINE = ("HOURLY", "MINUTELY", "SECONDLY")
# A COUNT rule must be counted from its start; beyond this many, rules with BYxxx parts would
# cost too much to walk on every `followup done` (simple ones are counted arithmetically).
MAX_COUNT = 1000
_UNIT_SECONDS = {"DAILY": 86400, "HOURLY": 3600, "MINUTELY": 60, "SECONDLY": 1}

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
    parts = _rule_parts(rule)
    if parts.get("FREQ") in _TOO_FINE:
        raise TimeParseError(
            f"{quote(text)} repeats {parts['FREQ'].lower()}; follow-ups repeat at most daily, e.g. FREQ=DAILY"
        )
    if int(parts.get("COUNT", 0)) > MAX_COUNT:
        raise TimeParseError(
            f"{quote(text)} has COUNT above {MAX_COUNT}; end a long series with UNTIL=YYYYMMDD instead"
        )
    return rule


def _utc_until_to_local(compact_utc: str, tz: tzinfo) -> str:
    """``UNTIL=...Z`` is UTC, but an aware UNTIL cannot combine with our naive local dtstart."""
    until = datetime.strptime(compact_utc, "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)
    return local_naive(until, tz).strftime("%Y%m%dT%H%M%S")


def next_occurrence(rule: rrule, *, after: datetime, tz: tzinfo) -> datetime | None:
    """First occurrence strictly after ``after`` (aware), as aware UTC; None when the rule ends.

    ``rule`` must be in naive local time of ``tz``, as parse_every and parse_rrule build it.
    Bounded time whatever the rule's start: the walk begins near ``after`` (see _rule_near).
    """
    for occurrence in occurrences_after(rule, after=after, tz=tz):
        return occurrence
    return None


def occurrences_after(rule: rrule, *, after: datetime, tz: tzinfo) -> Iterator[datetime]:
    """Occurrences strictly after ``after`` (aware), in order, as aware UTC."""
    require_aware(after, "after")
    after_utc = after.astimezone(timezone.utc)
    # Start a little early: around a DST fold the local clock repeats an hour, so naive local
    # order is not quite time order there.
    probe = local_naive(after, tz) - timedelta(hours=3)
    for occurrence in _rule_near(rule, probe).xafter(probe, inc=True):
        occurrence_utc = local_to_utc(occurrence, tz)
        if occurrence_utc > after_utc:
            yield occurrence_utc


def _rule_parts(rule: rrule) -> dict[str, str]:
    """``FREQ``, ``INTERVAL``, ``COUNT``, ``BYDAY``... as written in the rule's RRULE line."""
    line = str(rule).rsplit("RRULE:", 1)[-1]
    return dict(part.split("=", 1) for part in line.split(";") if "=" in part)


def _rule_near(rule: rrule, moment: datetime) -> rrule:
    """The same series, restarted on its own grid at a start close to (and not after) naive local
    ``moment``, so walking to ``moment`` takes a few steps instead of one per occurrence since the
    rule began. rrule fills BYxxx parts the rule leaves out from its start (the day of the month,
    the weekday, the time), so the new start keeps those: it moves by whole periods of the rule.
    """
    start = _rule_start(rule)
    if start is None or moment <= start:
        return rule
    parts = _rule_parts(rule)
    freq, interval = parts.get("FREQ", ""), int(parts.get("INTERVAL", 1))
    by_parts = any(key.startswith("BY") for key in parts)
    count = int(parts["COUNT"]) if "COUNT" in parts else None
    # With COUNT, the occurrences before the new start must be counted: arithmetic when each
    # period holds exactly one (no BYxxx, and the start's day exists in every month or year);
    # otherwise walk from the start, which COUNT bounds.
    one_per_period = not by_parts and not (freq == "MONTHLY" and start.day > 28) and (start.month, start.day) != (2, 29)
    if count is not None and not one_per_period:
        return rule
    # One period fewer than fits, so the new start is not after `moment`.
    if freq in ("YEARLY", "MONTHLY"):
        months_per_period = interval * (12 if freq == "YEARLY" else 1)
        elapsed = (moment.year - start.year) * 12 + moment.month - start.month
        periods = max(0, elapsed // months_per_period - 1)
        for _ in range(48):  # 31st or 29 February: step back to a period that has that day
            shifted = _shift_months(start, periods * months_per_period)
            if shifted is not None or periods == 0:
                break
            periods -= 1
        if shifted is None:
            return rule
    elif freq == "WEEKLY" or freq in _UNIT_SECONDS:
        step = timedelta(seconds=_UNIT_SECONDS.get(freq, 7 * 86400) * interval)
        periods = max(0, (moment - start) // step - 1)
        shifted = start + periods * step
    else:
        return rule
    if periods == 0:
        return rule
    if count is None:
        return rule.replace(dtstart=shifted)
    if count <= periods:  # every occurrence lies before the new start, so before `moment`
        return rule.replace(dtstart=shifted, count=None, until=shifted - timedelta(seconds=1))
    return rule.replace(dtstart=shifted, count=count - periods)


def _rule_start(rule: rrule) -> datetime | None:
    """The rule's DTSTART (naive local), read from its text."""
    first_line = str(rule).split("\n", 1)[0]
    if not first_line.startswith("DTSTART:"):
        return None
    return datetime.strptime(first_line[len("DTSTART:") :], "%Y%m%dT%H%M%S")


def _shift_months(moment: datetime, months: int) -> datetime | None:
    """``moment`` ``months`` later on the same day of the month, or None if that month lacks it."""
    year, month_index = divmod(moment.year * 12 + moment.month - 1 + months, 12)
    try:
        return moment.replace(year=year, month=month_index + 1)
    except ValueError:
        return None


# ---------------------------------------------------------------- cadences in words

_FREQ_WORDS = {"DAILY": ("daily", "day"), "WEEKLY": ("weekly", "week"), "MONTHLY": ("monthly", "month")}
_FREQ_WORDS["YEARLY"] = ("yearly", "year")
_DAY_NAMES = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday", "FR": "Friday"}
_DAY_NAMES.update({"SA": "Saturday", "SU": "Sunday"})
_MONTH_NAMES = ("January February March April May June July August September October November December").split()


def describe_rule(rule_text: str) -> str:
    """An RRULE (``FREQ=MONTHLY;BYMONTHDAY=20``) in words: ``monthly on the 20th``.

    Parts with no short wording are left out of the sentence rather than guessed at, ending it in
    `(more rules)`; unreadable text comes back as it is, so a person still sees the rule.
    """
    parts = {}
    for piece in rule_text.rsplit("RRULE:", 1)[-1].strip().split(";"):
        name, _, value = piece.partition("=")
        if name:
            parts[name.upper()] = value.upper()
    words = _FREQ_WORDS.get(parts.pop("FREQ", ""))
    interval = parts.pop("INTERVAL", "1")
    if words is None or not interval.isdigit() or int(interval) < 1:
        return rule_text
    text = words[0] if interval == "1" else f"every {interval} {words[1]}s"
    parts.pop("WKST", None)
    on = []
    months = [_month_name(m) for m in parts.pop("BYMONTH").split(",")] if "BYMONTH" in parts else []
    if "BYMONTHDAY" in parts:
        days = parts.pop("BYMONTHDAY").split(",")
        if parts.get("BYSETPOS") == "1" and len(days) == 2 and "-1" in days:  # how _clamped_month_day writes the 31st
            parts.pop("BYSETPOS")
            day = _ordinal(days[0] if days[1] == "-1" else days[1])
            on.append(f"the {day} (or the last day)")
        elif months and len(days) == 1:
            on.append(f"{_joined(months)} {days[0].lstrip('+')}")
            months = []
        else:
            on.append("the " + _joined([_ordinal(d) for d in days]))
    if months:
        on.insert(0, "in " + _joined(months))
    if "BYDAY" in parts:
        on.append(_joined([_weekday(d) for d in parts.pop("BYDAY").split(",")]))
    if on:
        text += " " + " ".join(part if part.startswith("in ") else "on " + part for part in on)
    if "COUNT" in parts:
        count = parts.pop("COUNT")
        text += f", {count} time{'' if count == '1' else 's'}"
    if "UNTIL" in parts:
        until = parts.pop("UNTIL")
        text += f", until {until[:4]}-{until[4:6]}-{until[6:8]}" if len(until) >= 8 else ""
    for name in ("BYHOUR", "BYMINUTE", "BYSECOND"):
        parts.pop(name, None)  # the follow-up's time of day already says when
    return text + (" (more rules)" if parts else "")


def _joined(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _ordinal(day: str) -> str:
    if not day.lstrip("-").isdigit():
        return day
    number = int(day)
    if number == -1:
        return "last day"
    if number < 0:
        return f"{_ordinal(str(-number))} last day"
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _weekday(code: str) -> str:
    match = re.fullmatch(r"([+-]?\d+)?([A-Z]{2})", code)
    if not match or match.group(2) not in _DAY_NAMES:
        return code
    name = _DAY_NAMES[match.group(2)]
    if match.group(1):
        return f"the {_ordinal(match.group(1).lstrip('+'))} {name}".replace("last day", "last")
    return name


def _month_name(month: str) -> str:
    return _MONTH_NAMES[int(month) - 1] if month.isdigit() and 1 <= int(month) <= 12 else month
