"""Now, time zones, and the one stored form of a time.

Stored times are UTC text in one fixed format, ``YYYY-MM-DDTHH:MM:SS+00:00``, so text order is
time order. This is the lowest layer because the config validates zones with it; `now_utc`
honours ``$CARECLI_NOW`` so tests and benchmarks can pin the clock.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from carecli.text.vocabulary import TimeParseError, quote

NOW_ENV_VAR = "CARECLI_NOW"
# What already happened cannot be later than now; a minute of slack for clocks a little apart.
FUTURE_SLACK = timedelta(minutes=1)


def now_utc() -> datetime:
    """Aware UTC now in whole seconds, or the pinned time in $CARECLI_NOW (naive text there is UTC)."""
    wall_clock = datetime.now(timezone.utc).replace(microsecond=0)
    pinned = os.environ.get(NOW_ENV_VAR, "").strip()
    if not pinned:
        return wall_clock
    # Read like any time the user types; imported here because when.py builds on this module.
    from carecli.text.when import parse_when

    try:
        return parse_when(pinned, now=wall_clock, tz=timezone.utc, yearless="past")
    except TimeParseError as error:
        raise TimeParseError(f"{NOW_ENV_VAR}: {error}") from None


def get_zone(name: str | None = None) -> tzinfo:
    """The IANA zone called ``name``; None or "" means the system's local zone."""
    name = (name or "").strip()
    if not name:
        return system_zone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # ValueError: malformed keys such as "../x"; OSError: a directory such as "Europe".
        raise TimeParseError(f"unknown time zone {quote(name)}; use an IANA name such as Europe/Berlin") from None


def system_zone() -> tzinfo:
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


def require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value!r}")


def to_utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(microsecond=0)


def local_to_utc(local: datetime, tz: tzinfo) -> datetime:
    """Naive local wall time -> aware UTC.

    fold=0 makes gaps and repeats deterministic: a repeated time means its first occurrence,
    a skipped time is read with the offset in force before the jump (zoneinfo semantics).
    """
    return to_utc(local.replace(tzinfo=tz, fold=0))


def local_naive(moment: datetime, tz: tzinfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def local_midnight_utc(day: date, tz: tzinfo) -> datetime:
    return local_to_utc(datetime.combine(day, time()), tz)


def to_db(dt: datetime) -> str:
    """Aware datetime -> the one stored format, ``YYYY-MM-DDTHH:MM:SS+00:00`` (sub-seconds dropped)."""
    require_aware(dt, "to_db")
    return to_utc(dt).isoformat()


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
    return local_midnight_utc(day, tz), local_midnight_utc(day + timedelta(days=1), tz)


def format_local(text_or_dt: str | datetime | None, tz: tzinfo, *, with_seconds: bool = False) -> str:
    """Stored text or a datetime (naive means UTC) -> ``2026-03-14 09:30`` in ``tz``; empty -> ""."""
    if text_or_dt is None or text_or_dt == "":
        return ""
    moment = from_db(text_or_dt) if isinstance(text_or_dt, str) else text_or_dt
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def latest_past(now: datetime) -> datetime:
    """The latest moment at which something may already have happened, as of `now`."""
    return now + FUTURE_SLACK


def in_the_future(moment: datetime, now: datetime) -> bool:
    """True when `moment` is after `latest_past(now)`: too late for something that happened."""
    return moment > latest_past(now)
