"""Mail templates: `templates/NAME.txt` beside the config file in use (header lines such as
`Subject: ...`, a blank line, the body; the aerc convention), else the starter template of that
name shipped with carecli. Rendered by Jinja2 in its sandbox, with undefined names as errors, so
a missing placeholder stops a command before anything is queued, and a template cannot reach
Python's internals. Jinja2 is imported only when a template is rendered."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carecli.core.config import Settings
from carecli.core.errors import InvalidInput, NotFound
from carecli.text.clock import format_local

STARTERS = Path(__file__).with_name("starter_templates")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_HEADER = re.compile(r"([A-Za-z][A-Za-z-]*):[ \t]*(.*)")
HEADERS = ("subject",)  # what a template may set; the rest of the message is carecli's to write
# Control characters other than tab and line break never reach a message (nor a terminal preview).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
PLACEHOLDERS = (
    "customer.name customer.first_name customer.email customer.phone "
    "ticket.id ticket.subject ticket.status ticket.channel ticket.priority ticket.opened "
    "followup.id followup.kind followup.note followup.due shop.name shop.signature shop.address text"
).split()


@dataclass(frozen=True)
class Rendered:
    name: str
    subject: str  # from the Subject: header ('' if none)
    body: str


def folder(settings: Settings) -> Path:
    return settings.config_path.parent / "templates"


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"'{name}' is not a template name", "a name is lower-case letters, digits, - and _ (e.g. check-in)"
        )
    return name


def _path(settings: Settings, name: str) -> tuple[Path, str]:
    """The file a name stands for, and where it comes from ('starter' or the user's file)."""
    own = folder(settings) / f"{_check_name(name)}.txt"
    if own.is_file():
        return own, str(own)
    starter = STARTERS / f"{name}.txt"
    if starter.is_file():
        return starter, "starter"
    raise NotFound(f"no template '{name}' (in {folder(settings)} or the starter templates)", "carecli template list")


def source_text(settings: Settings, name: str) -> str:
    """The template exactly as written."""
    path, _ = _path(settings, name)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read template {path}: {exc}", "it must be a UTF-8 text file") from None


def split(text: str) -> tuple[dict[str, str], str]:
    """Header lines, up to the first blank line, and the body. A text whose first line is not a
    header has no headers; a header carecli does not take is an error (it would be lost)."""
    text = text.replace("\r\n", "\n")
    head, blank, body = text.partition("\n\n")
    lines = head.split("\n")
    if not blank or not _HEADER.fullmatch(lines[0]):
        return {}, text
    headers: dict[str, str] = {}
    for line in lines:
        found = _HEADER.fullmatch(line)
        if found is None:
            raise InvalidInput(
                f"cannot read the template's header line {line!r}", "write `Subject: ...`, then a blank line"
            )
        name = found.group(1).lower()
        if name not in HEADERS:
            raise InvalidInput(f"a template cannot set the {found.group(1)} header", "only Subject: is taken")
        headers[name] = found.group(2).strip()
    return headers, body


def available(settings: Settings) -> list[dict[str, str]]:
    """Every template by name: the user's (which win over a starter of the same name), then starters."""
    found: dict[str, Path] = {}
    for path in sorted(STARTERS.glob("*.txt")):
        found[path.stem] = path
    own = folder(settings)
    if own.is_dir():
        for path in sorted(own.glob("*.txt")):
            if _NAME.fullmatch(path.stem):
                found[path.stem] = path
    listed = []
    for name in sorted(found):
        path = found[name]
        try:
            subject = split(path.read_text(encoding="utf-8"))[0].get("subject", "")
        except (OSError, UnicodeDecodeError, InvalidInput) as exc:
            subject = f"(unreadable: {exc})"
        listed.append({"name": name, "source": "starter" if path.parent == STARTERS else str(path), "subject": subject})
    return listed


def context(
    conn: sqlite3.Connection,
    settings: Settings,
    *,
    ticket_id: int | None = None,
    customer_id: int | None = None,
    followup_id: int | None = None,
    text: str | None = None,
) -> dict[str, Any]:
    """The placeholders' values: the customer (from the ticket or follow-up when not given), the
    ticket and follow-up when given, the shop from [shop], and the free `text`."""
    tz = settings.tz
    values: dict[str, Any] = {
        "shop": {
            "name": settings["shop.name"],
            "signature": settings["shop.signature"],
            "address": settings["shop.address"],
        }
    }
    if text is not None:
        values["text"] = text
    if followup_id is not None:
        row = conn.execute("SELECT * FROM followups WHERE id = ?", (followup_id,)).fetchone()
        if row is None:
            raise NotFound(f"no follow-up #{followup_id}", "carecli followup list")
        values["followup"] = {
            "id": row["id"],
            "kind": row["kind"],
            "note": row["note"],
            "due": format_local(row["due_at"], tz)[:10] if row["all_day"] else format_local(row["due_at"], tz),
        }
        customer_id = customer_id or row["customer_id"]
        ticket_id = ticket_id if ticket_id is not None else row["ticket_id"]
    if ticket_id is not None:
        row = conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        if row is None:
            raise NotFound(f"no ticket #{ticket_id}", "carecli ticket list")
        values["ticket"] = {
            "id": row["id"],
            "subject": row["subject"],
            "status": row["status"],
            "channel": row["channel"],
            "priority": row["priority"],
            "opened": format_local(row["created_at"], tz),
        }
        customer_id = customer_id or row["customer_id"]
    if customer_id is not None:
        row = conn.execute("SELECT id, name, email, phone FROM customers WHERE id = ?", (customer_id,)).fetchone()
        if row is None:
            raise NotFound(f"no customer #{customer_id}", "carecli customer list")
        values["customer"] = {
            "id": row["id"],
            "name": row["name"],
            "first_name": (row["name"].split() or [""])[0],
            "email": row["email"] or "",
            "phone": row["phone"] or "",
        }
    return values


_COMPILED: dict[tuple[str, str], Any] = {}  # (name, source) -> compiled template: `care run` renders many


def _compiled(name: str, source: str):
    key = (name, source)
    if key not in _COMPILED:
        from jinja2 import StrictUndefined, TemplateSyntaxError
        from jinja2.sandbox import SandboxedEnvironment

        environment = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
        try:
            _COMPILED[key] = environment.from_string(source)
        except TemplateSyntaxError as exc:
            raise InvalidInput(f"template '{name}', line {exc.lineno}: {exc.message}", "fix the template") from None
    return _COMPILED[key]


def render(
    conn: sqlite3.Connection,
    settings: Settings,
    name: str,
    *,
    ticket_id: int | None = None,
    customer_id: int | None = None,
    followup_id: int | None = None,
    text: str | None = None,
) -> Rendered:
    """The message a template makes for this ticket, customer or follow-up. A placeholder with no
    value here, or a reach outside the sandbox, is an InvalidInput: nothing is queued."""
    from jinja2.exceptions import SecurityError, UndefinedError

    # Split before rendering: a value with a line break (a subject typed so) cannot add a header.
    headers, body_source = split(source_text(settings, name))
    values = context(conn, settings, ticket_id=ticket_id, customer_id=customer_id, followup_id=followup_id, text=text)
    try:
        subject = _compiled(name, headers.get("subject", "")).render(values)
        body = _compiled(name, body_source).render(values)
    except UndefinedError as exc:
        missing = str(exc).split("'")[1] if "'" in str(exc) else str(exc)
        given = {
            "ticket": "--ticket N",
            "followup": "--followup N",
            "customer": "--customer REF",
            "text": "the text (TEXT, or --text)",
        }
        hint = f"give {given[missing]}" if missing in given else "placeholders: " + ", ".join(PLACEHOLDERS)
        raise InvalidInput(f"template '{name}' uses '{missing}', which has no value here ({exc})", hint) from None
    except SecurityError as exc:
        raise InvalidInput(
            f"template '{name}' was refused: {exc}", "a template may only use the placeholders"
        ) from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise InvalidInput(f"template '{name}' failed: {exc}", "fix the template") from None
    return Rendered(name, " ".join(_CONTROL.sub(" ", subject).split()), _CONTROL.sub("", body).strip("\n") + "\n")
