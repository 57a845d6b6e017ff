"""Settings: built-in defaults < config file < environment < flags, with the source of every value.

Every key lives in the KEYS registry below, so `config show`, `config.example.toml` and the
drift test all read from one place.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from carecli.core.errors import ConfigError

ENV_PREFIX = "CARECLI_"


@dataclass(frozen=True)
class Key:
    """One setting: its type (`kind`) and, where it has one, its range; `_check` enforces both."""

    name: str  # dotted: "care.silent_after" is [care] silent_after
    default: Any
    kind: str  # str | bool | int | number | list | folders | duration | size | timezone | clock | weekdays | dates | table | rules | plans
    help: str
    low: int | None = None  # int: the smallest value allowed
    high: int | None = None  # int: the largest value allowed
    among: str | None = None  # str: must be one of this list key's values
    choices: tuple[str, ...] = ()  # str: must be one of these words


KEYS: dict[str, Key] = {}


def _key(
    name: str,
    default: Any,
    kind: str,
    help: str,
    *,
    low: int | None = None,
    high: int | None = None,
    among: str | None = None,
    choices: tuple[str, ...] = (),
) -> None:
    KEYS[name] = Key(name, default, kind, help, low, high, among, choices)


_key("timezone", "", "timezone", "IANA time zone used to show times and to read local dates; empty = the system's")
_key(
    "dayfirst",
    False,
    "bool",
    "read numeric dates like 03/04/2026 day first, as 3 April (true), or as March 4 (false); 2026-12-04 is always year first",
)
_key(
    "channels",
    ["email", "chat", "phone", "social", "web", "in-person"],
    "list",
    "channels a ticket or interaction may come through",
)
_key(
    "categories",
    ["question", "technical", "billing", "delivery", "returns", "complaint", "other"],
    "list",
    "ticket categories",
)
_key("priorities", ["low", "normal", "high", "urgent"], "list", "ticket priorities, least urgent first")
_key("default_channel", "email", "str", "channel used when a command is given none", among="channels")
_key("default_category", "other", "str", "category used when `ticket open` is given none", among="categories")
_key("default_priority", "normal", "str", "priority used when `ticket open` is given none", among="priorities")

_key(
    "tickets.after_reply",
    "pending",
    "str",
    "after `ticket reply` the ticket is pending, waiting on the customer (pending), or stays open (open);"
    " `ticket reply --open` / `--pending` decide for one reply",
    choices=("pending", "open"),
)

# --- the shop, as mail templates name it (issue 16)
_key("shop.name", "", "str", "the shop's name, for templates ({{ shop.name }})")
_key("shop.signature", "", "str", "the signature templates end with ({{ shop.signature }}); empty = the shop's name")
_key("shop.address", "", "str", "the shop's postal address ({{ shop.address }}), e.g. for the footer of care mail")

# --- care: follow-ups, agenda, churn, suggestions (issue 3)
_key(
    "care.followup_after_close",
    "",
    "duration",
    "closing a ticket schedules a check-in this long after the close (e.g. 7d); empty = off",
)
_key(
    "care.pending_nudge_after",
    "3d",
    "duration",
    "`today` lists pending tickets waiting on the customer longer than this",
)
_key(
    "care.lost_reasons",
    ["service", "price", "product", "moved", "competitor", "other"],
    "list",
    "reasons a customer may be recorded as lost for",
)
_key("care.silent_after", "90d", "duration", "suggest a check-in (and lower health) after this long without contact")
_key("care.survey_window", "30d", "duration", "`care suggest` looks at survey scores this recent")
# Survey scales: CSAT 1-5, CES 1-7, NPS 0-10 (records/surveys.py).
_key("care.recovery_csat_max", 2, "int", "a CSAT at or below this suggests a recovery follow-up", low=1, high=5)
_key("care.recovery_ces_max", 3, "int", "a CES at or below this suggests a recovery follow-up", low=1, high=7)
_key(
    "care.recovery_nps_max",
    6,
    "int",
    "an NPS at or below this (a detractor) suggests a recovery follow-up",
    low=0,
    high=10,
)
_key(
    "care.repeat_contact_tickets",
    3,
    "int",
    "this many tickets from one customer within repeat_contact_window suggests a check-in",
    low=1,
    high=1_000_000,
)
_key("care.repeat_contact_window", "30d", "duration", "the window counted by repeat_contact_tickets")
_key("care.thank_you_nps_min", 9, "int", "an NPS at or above this (a promoter) suggests a thank-you", low=0, high=10)
_key("care.thank_you_quiet", "90d", "duration", "no thank-you suggestion if one was done or made this recently")
_key(
    "care.win_back_within",
    "90d",
    "duration",
    "`care suggest` proposes a win-back for a customer lost this recently (not for price); empty = off",
)
_key("care.health_window", "90d", "duration", "`customer health` reads survey scores and reopens this recent")
# `care run` (issue 16): [[care.rules]] tables, checked by _check_care_rules.
CARE_ACTIONS = ("csat", "nudge", "followups", "thank", "recover")
_key(
    "care.rules",
    [],
    "rules",
    "what `care run` does by itself: [[care.rules]] name, action (csat | nudge | followups | thank | recover),"
    " after, close_after (nudge), template, survey (csat: csat | nps | ces)",
)
# Care plans (issue 17): [[care.plans]] tables, checked by _check_care_plans; records/plans.py
# schedules their steps. The follow-up kinds live here, below records, so a plan's kind is checked
# when the config is read (records/followups.py takes them from here).
FOLLOWUP_KINDS = ("check-in", "tip", "service-reminder", "recovery", "thank-you", "win-back", "offer", "other")
_key(
    "care.plans_backfill_days",
    30,
    "int",
    "a plan's one-off step due longer ago than this many days (an old order added or imported) is not scheduled;"
    " one due more recently is scheduled for today",
    low=0,
    high=36500,
)
_key(
    "care.plans",
    [],
    "plans",
    "care plans: [[care.plans]] name, products (case-insensitive globs of line-item names), asset (true: a"
    " matching line item also creates an asset), and [[care.plans.steps]] after (one-off) or every (a cadence),"
    " kind, note, template",
)
_key(
    "care.health_stale_ticket_after",
    "3d",
    "duration",
    "`customer health` counts tickets waiting on us longer than this",
)

# --- measurement: surveys, KPIs, business hours, SLAs, reports (issue 4)
_key(
    "business_hours.enabled",
    False,
    "bool",
    "true: SLA clocks count business time only (kpi --business-hours uses these hours either way)",
)
_key("business_hours.timezone", "", "timezone", "zone of the opening hours; empty = the main 'timezone'")
_key("business_hours.days", ["mon", "tue", "wed", "thu", "fri"], "weekdays", "days the shop is open")
_key("business_hours.start", "09:00", "clock", "opening time on business days")
_key("business_hours.end", "17:00", "clock", "closing time on business days (after start)")
_key("business_hours.holidays", [], "dates", 'closed days, e.g. ["2026-12-25"]')
_key("sla", {}, "table", "service-level targets per priority: [sla.<priority>] first_response, resolution")
_key("sla.warn_before", "1h", "duration", "a ticket this close to an SLA deadline counts as about to breach")
_key(
    "sla.pause_when_pending",
    True,
    "bool",
    "true: a ticket's SLA resolution clock stops while it is pending (waiting on the customer)",
)

# --- mail in (issue 15)
_key(
    "mail.addresses",
    [],
    "list",
    "the shop's own addresses: mail from them is filed as our reply; local+<ticket id>@domain threads",
)
_key("mail.channel", "email", "str", "the channel mailed messages are logged on (from 'channels')")
_key(
    "mail.same_subject_days",
    7,
    "int",
    "a message with the sender's subject of the last this many days goes on that ticket while it is open",
)
_key("mail.reopen_on_reply", True, "bool", "a reply to a closed ticket reopens it (false: a new ticket is opened)")
_key(
    "mail.attachment_max_size",
    "25MB",
    "size",
    "attachments up to this size are kept beside the database; larger ones are listed, not kept (e.g. 10MB, 500KB)",
)
_key(
    "mail.archive_close_after",
    "30d",
    "duration",
    "`mail ingest --archive` files a thread whose last message is older than this as closed",
)
_key("mail.imap.host", "", "str", "`mail fetch`: the IMAP server's name")
_key("mail.imap.port", 0, "int", "the IMAP server's port; 0 = the usual one (993 for tls, else 143)", low=0, high=65535)
_key("mail.imap.user", "", "str", "the IMAP login name")
_key(
    "mail.imap.password_cmd",
    "",
    "str",
    "a shell command whose first line of output is the IMAP password (e.g. pass show shop/imap)",
)
_key(
    "mail.imap.tls",
    "tls",
    "str",
    "tls (port 993), starttls, or none (only for a server on this machine: 127.0.0.1, ::1, localhost)",
    choices=("tls", "starttls", "none"),
)
_key("mail.imap.folders", ["INBOX", "Sent"], "folders", "the folders `mail fetch` reads, in this order")
_key(
    "mail.imap.sent_folders",
    ["Sent"],
    "folders",
    "folders of our own sent mail: filed as our replies whatever their From",
)
# --- mail out (issue 16)
_key("mail.from", "", "str", "the From of mail carecli sends; empty = the first of mail.addresses")
_key(
    "mail.sendmail_cmd",
    "",
    "str",
    "a command that reads one message on stdin and sends it (e.g. msmtp -t); set, it is used instead of [mail.smtp]",
)
_key(
    "mail.max_attempts", 5, "int", "`outbox send` tries a message this many times before it is failed", low=1, high=100
)
_key(
    "mail.retry_after",
    "5m",
    "duration",
    "the wait after a temporary failure, doubled at each attempt (5m, 10m, 20m, ...)",
)
_key("mail.smtp.host", "", "str", "`outbox send`: the SMTP server's name (unless mail.sendmail_cmd is set)")
_key(
    "mail.smtp.port",
    0,
    "int",
    "the SMTP server's port; 0 = the usual one (465 for tls, 587 for starttls, 25 for none)",
    low=0,
    high=65535,
)
_key("mail.smtp.user", "", "str", "the SMTP login name; empty = no login")
_key(
    "mail.smtp.password_cmd",
    "",
    "str",
    "a shell command whose first line of output is the SMTP password (e.g. pass show shop/smtp)",
)
_key(
    "mail.smtp.tls",
    "tls",
    "str",
    "tls (port 465), starttls (587), or none (only for a server on this machine: 127.0.0.1, ::1, localhost)",
    choices=("tls", "starttls", "none"),
)
# Measured loyalty and silent buyers (issue 17): the order figures of `kpi` and `care suggest`.
_key(
    "care.repeat_window_days",
    90,
    "int",
    "`kpi` repeat purchase: a first-time buyer who orders again within this many days repeated",
    low=1,
    high=3660,
)
_key(
    "care.service_grace_days",
    14,
    "int",
    "`kpi` service on time: an asset serviced within this many days of its reminder's due date",
    low=0,
    high=365,
)
_key(
    "care.recovered_window_days",
    90,
    "int",
    "`kpi` recovered: an unhappy customer (CSAT or NPS at the recovery maxima) who orders within this many days",
    low=1,
    high=3660,
)
_key(
    "care.silent_buyer_factor",
    2.0,
    "number",
    "a customer whose usual gap between orders has passed this many times over is a silent buyer",
    low=1,
    high=100,
)
# --- data in and out: export, import, search, backups (issue 5)


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "carecli"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    return Path(base) / "carecli"


def default_db_path() -> Path:
    return data_dir() / "carecli.db"


def default_config_path() -> Path:
    return config_dir() / "config.toml"


@dataclass
class Settings:
    values: dict[str, Any]
    sources: dict[str, str]
    config_path: Path
    warnings: list[str] = field(default_factory=list)
    _zone: Any = None

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    @property
    def tz(self):
        """The configured time zone as a tzinfo (the system's when unset)."""
        if self._zone is None:
            from carecli.text.clock import get_zone

            self._zone = get_zone(self.values["timezone"] or None)
        return self._zone

    def duration(self, name: str):
        """A duration key as a timedelta, or None when the key is empty (feature off)."""
        from carecli.text.durations import parse_duration

        text = self.values[name]
        return parse_duration(text) if text else None

    def size(self, name: str) -> int:
        """A size key in bytes."""
        return parse_size(self.values[name])

    def choose(self, list_key: str, value: str | None, default_key: str | None = None) -> str:
        """Validate `value` against a configured list; an unknown value names the allowed ones."""
        allowed = self.values[list_key]
        if value is None and default_key:
            value = self.values[default_key]
        if value is not None:
            value = value.strip().lower()
        if value is None or value not in allowed:
            raise ConfigError(
                f"unknown {_singular(list_key)} '{value}'",
                f"use one of: {', '.join(allowed)} (or add it to '{list_key}' in the config file)",
            )
        return value


def _singular(list_key: str) -> str:
    noun = list_key.rsplit(".", 1)[-1].replace("_", " ")
    return noun[:-3] + "y" if noun.endswith("ies") else noun.rstrip("s")


def load(config_path: str | os.PathLike | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Load settings. A missing config file is fine; an unreadable or invalid one is a ConfigError."""
    if env is None:
        env = os.environ
    path = Path(config_path) if config_path else default_config_path()
    values = {name: key.default for name, key in KEYS.items()}
    sources = dict.fromkeys(KEYS, "default")
    warnings: list[str] = []

    text = _read_config_text(path, explicit=config_path is not None)
    if text is not None:
        value: Any
        for name, value in _flatten(_parse_toml(text, path)).items():
            key = KEYS.get(name) or _table_parent(name)
            if key is None:
                warnings.append(f"{path}:{_line_of(text, name)}: unknown key '{name}' ignored")
                continue
            if key.kind == "table" and name != key.name:
                values[key.name] = {**values[key.name], name[len(key.name) + 1 :]: value}
                sources[key.name] = str(path)
                continue
            values[name] = _check(key, value, f"{path}:{_line_of(text, name)}")
            sources[name] = str(path)

    for name, key in KEYS.items():
        env_name = env_var(name)
        if key.kind not in ("table", "rules", "plans") and env_name in env:
            raw = env[env_name]
            value = (
                [v.strip() for v in raw.split(",") if v.strip()]
                if key.kind in ("list", "folders", "weekdays", "dates")
                else raw
            )
            values[name] = _check(key, value, f"environment variable {env_name}")
            sources[name] = f"env {env_name}"
    _check_among(values, sources)
    return Settings(values, sources, path, warnings)


def env_var(name: str) -> str:
    return ENV_PREFIX + name.upper().replace(".", "_").replace("-", "_")


def _read_config_text(path: Path, explicit: bool) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            raise ConfigError(
                f"config file {path} does not exist", "create it or drop --config/CARECLI_CONFIG"
            ) from None
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None


def _parse_toml(text: str, path: Path) -> dict:
    from carecli.core import tomlfile

    try:
        return tomlfile.parse(text)
    except tomlfile.TomlError as exc:
        raise ConfigError(f"invalid TOML in {path}: {exc}", "fix that line (see config.example.toml)") from None


def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in table.items():
        dotted = f"{prefix}{name}"
        if isinstance(value, dict) and (dotted not in KEYS or KEYS[dotted].kind == "table"):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _table_parent(name: str) -> Key | None:
    """Keys below a free-form table key (e.g. `sla.urgent.first_response` under `sla`)."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        key = KEYS.get(".".join(parts[:cut]))
        if key is not None and key.kind == "table":
            return key
    return None


def _line_of(text: str, dotted: str) -> int:
    """Best-effort line number of a key in the file, for error messages."""
    leaf = dotted.rsplit(".", 1)[-1]
    pattern = re.compile(rf"^\s*[\"']?{re.escape(leaf)}[\"']?\s*=")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return 0


def _check(key: Key, value: Any, where: str) -> Any:
    """Check one value's type and range (the Key's); the error names where it came from, the key
    and what was expected. Nothing is truncated or converted on the quiet."""
    kind = key.kind
    if kind == "bool":
        if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.strip().lower() in ("1", "true", "yes", "on")
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: '{key.name}' must be true or false, not {value!r}")
    if kind == "int":
        return _check_int(key, value, where)
    if kind == "number":
        return _check_number(key, value, where)
    if kind == "list":
        items = (
            [v.strip().lower() for v in value]
            if isinstance(value, list) and all(isinstance(v, str) for v in value)
            else None
        )
        if not items or not all(items):
            raise ConfigError(
                f'{where}: \'{key.name}\' must be a non-empty list of names, e.g. ["a", "b"], not {value!r}'
            )
        if len(set(items)) < len(items):
            twice = next(item for item in items if items.count(item) > 1)
            raise ConfigError(f"{where}: '{key.name}' lists '{twice}' twice")
        return items
    if kind in ("weekdays", "dates"):
        return _check_day_list(key, value, where)
    if kind == "rules":
        return _check_care_rules(key, value, where)
    if kind == "plans":
        return _check_care_plans(key, value, where)
    if kind == "folders":  # IMAP folder names are case-sensitive (INBOX aside): kept as written
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise ConfigError(f"{where}: '{key.name}' must be a non-empty list of folder names, e.g. [\"INBOX\"]")
        return [v.strip() for v in value]
    if not isinstance(value, str):
        raise ConfigError(f"{where}: '{key.name}' must be a string, not {value!r}")
    if key.choices:
        if value.strip().lower() not in key.choices:
            raise ConfigError(f"{where}: '{key.name}' must be {' or '.join(map(repr, key.choices))}, not {value!r}")
        return value.strip().lower()
    if kind == "duration" and value:
        from carecli.text.durations import parse_duration
        from carecli.text.vocabulary import TimeParseError

        try:
            parse_duration(value)
        except TimeParseError as exc:
            raise ConfigError(f"{where}: '{key.name}': {exc}") from None
    if kind == "size":
        try:
            parse_size(value)
        except ValueError:
            raise ConfigError(f"{where}: '{key.name}' must be a size like 25MB, 500KB or 1GB, not {value!r}") from None
    if kind == "timezone" and value:
        from carecli.text.clock import get_zone
        from carecli.text.vocabulary import TimeParseError

        try:
            get_zone(value)
        except TimeParseError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if kind == "clock" and not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
        raise ConfigError(f"{where}: '{key.name}' must be a time of day like 09:00, not {value!r}")
    return value


_SIZE = re.compile(r"([0-9]{1,12})\s*(b|kb|mb|gb)?", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3}


def parse_size(text: str) -> int:
    """`25MB` -> 25000000 bytes (decimal units, as mail clients and file managers show sizes);
    bare digits are bytes. Raises ValueError for anything else."""
    found = _SIZE.fullmatch(text.strip())
    if found is None:
        raise ValueError(text)
    return int(found.group(1)) * _SIZE_UNITS[(found.group(2) or "b").lower()]


# Each action's template and wait when a rule names none: the starter templates of that name.
RULE_DEFAULTS = {
    "csat": {"template": "csat", "after": "2d"},
    "nudge": {"template": "nudge", "after": "3d"},
    "followups": {"template": "", "after": "0d"},
    "thank": {"template": "thank-you", "after": "0d"},
    "recover": {"template": "recover", "after": "0d"},
}
_RULE_FIELDS = ("name", "action", "after", "close_after", "template", "survey")


def _require_tables(key: Key, value: Any, where: str, example: str) -> None:
    """An array of tables ([[care.rules]], [[care.plans]]): a list whose items are all tables."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(f"{where}: '{key.name}' must be [[{key.name}]] tables, e.g. {example}")


def _refuse_unknown_fields(table: dict, fields: tuple[str, ...], at: str, what: str) -> None:
    """A misspelt field would be ignored silently: name the first unknown one and the known ones."""
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(f"{at}: unknown field '{unknown[0]}'", f"{what} has: {', '.join(fields)}")


def _check_care_rules(key: Key, value: Any, where: str) -> list[dict[str, str]]:
    """[[care.rules]]: each a table with a unique name and a known action; durations checked
    here, so `care run` never meets a bad one. Missing fields get the action's defaults."""
    from carecli.text.durations import parse_duration
    from carecli.text.vocabulary import TimeParseError

    example = '[[care.rules]] name = "survey", action = "csat", after = "2d"'
    _require_tables(key, value, where, example)
    rules: list[dict[str, str]] = []
    for number, rule in enumerate(value, 1):
        at = f"{where}: rule {number}"
        _refuse_unknown_fields(rule, _RULE_FIELDS, at, "a rule")
        if not all(isinstance(field_value, str) for field_value in rule.values()):
            raise ConfigError(f"{at}: every field of a rule is a string, e.g. {example}")
        name, action = rule.get("name", "").strip(), rule.get("action", "").strip().lower()
        if not name:
            raise ConfigError(f"{at}: a rule needs a name", example)
        if any(name == earlier["name"] for earlier in rules):
            raise ConfigError(f"{at}: two rules are named '{name}'", "give each rule its own name")
        if action not in CARE_ACTIONS:
            raise ConfigError(f"{at} ('{name}'): action must be one of {', '.join(CARE_ACTIONS)}, not {action!r}")
        checked = {**RULE_DEFAULTS[action], "name": name, "action": action, "close_after": "", "survey": ""}
        checked.update({given: text.strip() for given, text in rule.items() if given not in ("name", "action")})
        for wait in ("after", "close_after"):
            try:
                if checked[wait]:
                    parse_duration(checked[wait])
            except TimeParseError as exc:
                raise ConfigError(f"{at} ('{name}'): {wait}: {exc}") from None
        if checked["close_after"] and action != "nudge":
            raise ConfigError(f"{at} ('{name}'): close_after belongs to a nudge rule", "remove it")
        if action == "csat":
            survey = checked["survey"].lower() or (
                checked["template"] if checked["template"] in ("nps", "ces") else "csat"
            )
            if survey not in ("csat", "nps", "ces"):
                raise ConfigError(f"{at} ('{name}'): survey must be csat, nps or ces, not {checked['survey']!r}")
            checked["survey"] = survey
        elif checked["survey"]:
            raise ConfigError(f"{at} ('{name}'): survey belongs to a csat rule", "remove it")
        rules.append(checked)
    return rules


_PLAN_FIELDS = ("name", "products", "asset", "steps")
_STEP_FIELDS = ("after", "every", "kind", "note", "template")


def _check_care_plans(key: Key, value: Any, where: str) -> list[dict[str, Any]]:
    """[[care.plans]]: each with a unique name, product globs (folded to lower case, as line items
    are matched), whether a matching line item becomes an asset, and its [[care.plans.steps]]:
    exactly one of `after` (a one-off step, a duration) or `every` (a cadence), a follow-up kind,
    an optional note and template. Steps are numbered from 1 in their order: the number is how a
    scheduled follow-up names its step, so new steps go at the end."""
    from datetime import datetime, timezone

    from carecli.text.cadence import parse_every
    from carecli.text.durations import parse_duration
    from carecli.text.vocabulary import TimeParseError

    example = (
        '[[care.plans]] name = "orchid-tips", products = ["orchid*"], [[care.plans.steps]] after = "7d", kind = "tip"'
    )
    _require_tables(key, value, where, example)
    plans: list[dict[str, Any]] = []
    for number, plan in enumerate(value, 1):
        at = f"{where}: plan {number}"
        _refuse_unknown_fields(plan, _PLAN_FIELDS, at, "a plan")
        name = plan.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{at}: a plan needs a name", example)
        name = name.strip()
        at = f"{at} ('{name}')"
        if any(name == earlier["name"] for earlier in plans):
            raise ConfigError(f"{at}: two plans are named '{name}'", "give each plan its own name")
        products = plan.get("products")
        if (
            not isinstance(products, list)
            or not products
            or not all(isinstance(glob, str) and glob.strip() for glob in products)
        ):
            raise ConfigError(f'{at}: products must be a non-empty list of product names or globs, e.g. ["orchid*"]')
        asset = plan.get("asset", False)
        if not isinstance(asset, bool):
            raise ConfigError(f"{at}: asset must be true or false, not {asset!r}")
        steps = plan.get("steps")
        if not isinstance(steps, list) or not steps or not all(isinstance(step, dict) for step in steps):
            raise ConfigError(f"{at}: a plan needs [[care.plans.steps]] tables", 'e.g. after = "7d", kind = "tip"')
        checked_steps = []
        for step_number, step in enumerate(steps, 1):
            step_at = f"{at}, step {step_number}"
            _refuse_unknown_fields(step, _STEP_FIELDS, step_at, "a step")
            if not all(isinstance(field_value, str) for field_value in step.values()):
                raise ConfigError(f'{step_at}: every field of a step is a string, e.g. after = "7d", kind = "tip"')
            fields = {field_name: step.get(field_name, "").strip() for field_name in _STEP_FIELDS}
            if bool(fields["after"]) == bool(fields["every"]):
                raise ConfigError(
                    f"{step_at}: give exactly one of after (a one-off step) or every (a cadence)",
                    'e.g. after = "7d" or every = "6 months"',
                )
            try:
                if fields["after"]:
                    parse_duration(fields["after"])
                else:
                    parse_every(fields["every"], dtstart=datetime(2026, 1, 1, tzinfo=timezone.utc), tz=timezone.utc)
            except TimeParseError as exc:
                raise ConfigError(f"{step_at}: {'after' if fields['after'] else 'every'}: {exc}") from None
            fields["kind"] = fields["kind"].lower()
            if fields["kind"] not in FOLLOWUP_KINDS:
                raise ConfigError(
                    f"{step_at}: kind must be a follow-up kind, not {fields['kind']!r}",
                    f"use one of: {', '.join(FOLLOWUP_KINDS)}",
                )
            checked_steps.append({"number": step_number, **fields})
        globs = [glob.strip().lower() for glob in products]
        plans.append({"name": name, "products": globs, "asset": asset, "steps": checked_steps})
    return plans


def _check_int(key: Key, value: Any, where: str) -> int:
    """A whole number: a TOML integer, or (from the environment) ASCII digits. Not 2.7 (which
    int() would cut to 2), not true (1), not '١٢' or full-width digits."""
    if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: '{key.name}' must be a whole number, not {value!r}")
    if (key.low is not None and value < key.low) or (key.high is not None and value > key.high):
        raise ConfigError(f"{where}: '{key.name}' must be from {key.low} to {key.high}, not {value}")
    return value


def _check_number(key: Key, value: Any, where: str) -> float:
    """A number such as 2 or 1.5: a TOML integer or float, or (from the environment) its decimal
    text. Not true (1), not inf or nan."""
    if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", value.strip()):
        value = float(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}: '{key.name}' must be a number such as 2.0, not {value!r}")
    if (key.low is not None and value < key.low) or (key.high is not None and value > key.high):
        raise ConfigError(f"{where}: '{key.name}' must be from {key.low} to {key.high}, not {value}")
    return float(value)


def _check_among(values: dict[str, Any], sources: dict[str, str]) -> None:
    """Keys whose value must be one of a list key's (default_channel in channels, ...), once every
    source is read: the file may set both."""
    for name, key in KEYS.items():
        if key.among is not None and str(values[name]).strip().lower() not in values[key.among]:
            where = sources[name] if sources[name] != "default" else sources[key.among]
            raise ConfigError(
                f"{where}: '{name}' is '{values[name]}', which is not in '{key.among}' ({', '.join(values[key.among])})",
                f"set '{name}' to one of them, or add '{values[name]}' to '{key.among}'",
            )


WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _check_day_list(key: Key, value: Any, where: str) -> list[str]:
    """Weekday names (["mon", "tue"]) or ISO dates (["2026-12-25"]); an empty list is allowed."""
    from datetime import date

    example = '["mon", "tue", "wed"]' if key.kind == "weekdays" else '["2026-12-25", "2026-12-26"]'
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: '{key.name}' must be a list like {example}")
    items = [v.strip().lower() if key.kind == "weekdays" else v.strip() for v in value]
    for index, (item, original) in enumerate(zip(items, value)):
        try:
            if key.kind == "weekdays":
                if item not in WEEKDAY_KEYS + WEEKDAY_NAMES:  # "mon" or "monday", not "monkey"
                    raise ValueError
                items[index] = item[:3]
            if key.kind == "dates" and not (item.isascii() and len(item) == 10):
                raise ValueError
            if key.kind == "dates":
                date.fromisoformat(item)
        except ValueError:
            raise ConfigError(f"{where}: '{key.name}' has {original!r}; write a list like {example}") from None
    return items
