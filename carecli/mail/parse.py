"""One RFC 5322 message -> the facts carecli files: ids, sender, subject, date, text, attachments,
and whether a machine sent it. Tolerant of real-world breakage; refuses only what it cannot file.

Built on the standard `email` package (policy.default). Headers are read raw and decoded here,
so raw 8-bit bytes (UTF-8 or a Windows code page), encoded words and broken fields never raise.
"""

from __future__ import annotations

import email
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage, Message
from typing import Iterator

from carecli.mail.htmltext import html_to_text
from carecli.text.clock import in_the_future, to_utc


class Unparseable(Exception):
    """A message carecli cannot file; `reason` says why, for the quarantine and `mail log`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Attachment:
    name: str  # a display name only, never a path: see safe_name
    content_type: str
    size: int  # bytes, decoded
    data: bytes = field(default=b"", repr=False, compare=False)  # the decoded bytes, `size` long

    def facts(self) -> dict[str, object]:
        """What mail_messages.attachments records: {name, content_type, size}."""
        return {"name": self.name, "content_type": self.content_type, "size": self.size}


@dataclass
class Mail:
    content_hash: str  # sha256 of the bytes as received
    message_id: str | None  # without the angle brackets
    in_reply_to: list[str]
    references: list[str]
    sender: str  # the address, lower case
    sender_name: str  # the display name, "" when none
    to: list[str]
    cc: list[str]
    subject: str
    date: datetime | None  # the Date header in UTC; None when missing or unreadable
    text: str
    automatic: str | None  # why this is not a person writing (auto-reply, bounce, list), or None
    attachments: list[Attachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was odd but tolerated

    @property
    def key(self) -> str:
        """What makes the message the same message twice: its Message-ID, else its content."""
        return self.message_id or f"sha256:{self.content_hash}"

    def when(self, received: datetime) -> datetime:
        """The message's time: its Date, unless missing or in the future (then when it was received)."""
        if self.date is None or in_the_future(self.date, received):
            return to_utc(received)
        return self.date

    @property
    def thread_ids(self) -> list[str]:
        """The ids it answers, nearest first: In-Reply-To, then References from the newest."""
        seen: list[str] = []
        for message_id in [*self.in_reply_to, *reversed(self.references)]:
            if message_id not in seen and message_id != self.message_id:
                seen.append(message_id)
        return seen


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def parse(raw: bytes) -> Mail:
    """Parse one message; raises Unparseable with a reason for one that cannot be filed."""
    if not raw.strip():
        raise Unparseable("the message is empty")
    digest = content_hash(raw)
    body = _without_mbox_from_line(raw)
    message = _repair_boundary(email.message_from_bytes(body, policy=policy.default), body)
    headers = _raw_headers(message)
    if not headers:
        raise Unparseable("no header block: the text does not start with 'Name: value' header lines")
    # From is the author (the customer); Sender, a list or an agent sending for them, only without one.
    senders = _addresses(headers, "from", first_only=True) or _addresses(headers, "sender", first_only=True)
    if not senders:
        why = "no From address" if "from" not in headers else f"no usable address in From: {headers['from'][0][:80]!r}"
        if "from" not in headers and _MALFORMED_LINE.search(body.split(b"\n\n", 1)[0].decode("latin-1")):
            why += " (the header block ends early at a malformed line)"
        raise Unparseable(why)
    notes = []
    if len(_addresses(headers, "from", first_only=True)) > 1:
        notes.append("From holds more than one address; the first is taken as the sender")
    if len(headers.get("from", [])) > 1:
        notes.append(f"{len(headers['from'])} From headers; the first is taken")
    sender_name, sender = senders[0]
    date = _date(headers)
    if "date" in headers and date is None:
        notes.append(f"unreadable Date {headers['date'][0][:60]!r}")
    text, body_part = _body_text(message)
    return Mail(
        content_hash=digest,
        message_id=next(iter(_ids(headers, "message-id")), None),
        in_reply_to=_ids(headers, "in-reply-to"),
        references=_ids(headers, "references"),
        sender=sender,
        sender_name=sender_name,
        to=[address for _, address in _addresses(headers, "to")],
        cc=[address for _, address in _addresses(headers, "cc")],
        subject=_unstructured(headers, "subject"),
        date=date,
        text=text,
        automatic=automatic_reason(message, headers, sender),
        attachments=list(_attachments(message, body_part)),
        notes=notes,
    )


def parse_headers(raw: bytes) -> tuple[datetime | None, str | None]:
    """Only the Date and the Message-ID, cheaply: to put a folder of messages in Date order."""
    from email.parser import BytesHeaderParser

    message = BytesHeaderParser(policy=policy.default).parsebytes(_without_mbox_from_line(raw))
    headers = _raw_headers(message)
    return _date(headers), next(iter(_ids(headers, "message-id")), None)


# ---------------------------------------------------------------- subjects


_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|sv|antw|vs|wg|tr|rif|r|ref|odp|vl|fs|enc|res|atb|antwort|doorst|"
    r"回复|转发|答复|返信|転送)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)
_LIST_TAG = re.compile(r"^\s*\[[^\]#][^\]]*\]\s*")


def subject_key(subject: str) -> str:
    """A subject as threads compare it: reply and forward prefixes (Re:, Fwd:, AW:, SV:, Antw: ...)
    and list tags ([list]) stripped, spaces collapsed, case folded. A ticket token [#12] stays."""
    text = " ".join(subject.split())
    while True:
        stripped = _LIST_TAG.sub("", _REPLY_PREFIX.sub("", text), count=1)
        stripped = _REPLY_PREFIX.sub("", stripped)
        if stripped == text:
            break
        text = stripped
    return text.strip().casefold()


# ---------------------------------------------------------------- machines


_PRECEDENCE_BULK = {"bulk", "junk", "list"}
_MACHINE_LOCAL_PARTS = {"mailer-daemon", "postmaster"}


def automatic_reason(message: Message, headers: dict[str, list[str]], sender: str) -> str | None:
    """Why the message was written by a machine (RFC 3834 and the usual conventions), or None."""
    if message.get_content_type() == "multipart/report":
        return "a delivery or read report (multipart/report)"
    auto_submitted = _first(headers, "auto-submitted").strip().lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted[:40]}"
    precedence = _first(headers, "precedence").strip().lower()
    if precedence in _PRECEDENCE_BULK:
        return f"Precedence: {precedence}"
    if _first(headers, "list-id").strip():
        return "a mailing-list message (List-Id)"
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers:
            return f"an auto-reply ({name.title()})"
    if "return-path" in headers and _first(headers, "return-path").strip() in ("<>", ""):
        return "an empty Return-Path (a bounce or an auto-reply)"
    if sender.split("@", 1)[0] in _MACHINE_LOCAL_PARTS:
        return f"sent by {sender.split('@', 1)[0]} (a bounce)"
    return None


# ---------------------------------------------------------------- headers


_MALFORMED_LINE = re.compile(r"^[^\s:]+ [^:\n]*:", re.MULTILINE)
_MSG_ID = re.compile(r"<([^<>\s]+)>")


_BOUNDARY = re.compile(rb'(boundary\s*=\s*)([^"\s;][^\s;]*)', re.IGNORECASE)


def _repair_boundary(message: EmailMessage, raw: bytes) -> EmailMessage:
    """An unquoted boundary holding '=' (Outlook Express) is cut short by the parser: quote it, parse again."""
    if not any(type(d).__name__ == "StartBoundaryNotFoundDefect" for d in message.defects):
        return message
    head, separator, rest = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    fixed = _BOUNDARY.sub(lambda m: m.group(1) + b'"' + m.group(2) + b'"', head, count=1)
    if fixed == head:
        return message
    repaired = email.message_from_bytes(fixed + separator + rest, policy=policy.default)
    return repaired if repaired.is_multipart() else message


def _without_mbox_from_line(raw: bytes) -> bytes:
    """An mbox file's 'From sender date' separator line is not a header."""
    if raw.startswith(b"From "):
        return raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    return raw


def _raw_headers(message: Message) -> dict[str, list[str]]:
    """Header values by lower-case name, unfolded, 8-bit bytes decoded (UTF-8, else the charset
    the body declares, else Windows-1252)."""
    hint: str | None = None
    hinted = False
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        text = re.sub(r"\r?\n[ \t]", " ", str(value))
        if not hinted and not text.isascii():  # walking the parts for a charset costs: only when needed
            hint, hinted = _body_charset(message), True
        headers.setdefault(name.strip().lower(), []).append(_decode_8bit(text, hint))
    return headers


def _body_charset(message: Message) -> str | None:
    for part in _leaf_parts(message):
        charset = part.get_content_charset() if part.get_content_maintype() == "text" else None
        if charset:
            return charset
    return None


def _decode_8bit(text: str, hint: str | None = None) -> str:
    """The email package keeps raw 8-bit header bytes as surrogates: turn them into characters."""
    if not any("\udc80" <= char <= "\udcff" for char in text):
        return text.strip()
    data = text.encode("ascii", "surrogateescape")
    for charset in ("utf-8", hint, "windows-1252"):
        if charset in (None, "us-ascii", "ascii"):
            continue
        try:
            return data.decode(charset).strip()
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1").strip()


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def _unstructured(headers: dict[str, list[str]], name: str) -> str:
    """An unstructured header (Subject) with its encoded words decoded."""
    raw = _first(headers, name)
    if not raw:
        return ""
    try:
        text = str(policy.default.header_factory(name, raw))
    except Exception:  # the header parser has raised on odd input before: keep the raw text
        text = raw
    return " ".join(_decode_8bit(text).split())


def _addresses(headers: dict[str, list[str]], name: str, *, first_only: bool = False) -> list[tuple[str, str]]:
    """(display name, lower-case address) pairs of an address header (of its first one only, or of
    all of them); only real addresses."""
    found: list[tuple[str, str]] = []
    for raw in headers.get(name, [])[: 1 if first_only else None]:
        pairs: list[tuple[str, str]]
        try:
            parsed = policy.default.header_factory(name, raw)
            pairs = [(a.display_name, a.addr_spec) for a in parsed.addresses]
        except Exception:  # fall back to the older, more forgiving parser
            pairs = email.utils.getaddresses([raw])
        for display_name, address in pairs:
            if "=?" in raw:
                # policy.default puts a space between adjacent encoded words of a folded name,
                # which RFC 2047 (6.2) says to drop: decode the name through email.header instead.
                display_name = _joined_encoded_words(raw, address) or display_name
            address = address.strip().strip("<>").lower()
            if "@" in address and " " not in address and not address.startswith("@") and not address.endswith("@"):
                found.append((" ".join(_decode_8bit(display_name).split()).strip("'\" "), address))
    return found


def _joined_encoded_words(raw: str, address: str) -> str | None:
    """The display name before `address` in the raw header, its encoded words decoded and joined
    as RFC 2047 says; None when that cannot be found or decoded."""
    from email.header import decode_header, make_header

    try:
        decoded = str(make_header(decode_header(raw)))
    except Exception:  # an encoded word that does not decode: keep the header parser's name
        return None
    for name, found in email.utils.getaddresses([decoded]):
        if found.strip().lower() == address.strip().lower():
            return name
    return None


def _ids(headers: dict[str, list[str]], name: str) -> list[str]:
    """Message ids of Message-ID, In-Reply-To or References (all of their headers), in order."""
    found: list[str] = []
    for raw in headers.get(name, []):
        ids = _MSG_ID.findall(raw)
        if not ids and "@" in raw and len(raw.split()) == 1:
            ids = [raw.strip()]  # an id written without its angle brackets
        found += [i for i in ids if "@" in i and i not in found]
    return found


def _date(headers: dict[str, list[str]]) -> datetime | None:
    raw = _first(headers, "date")
    if not raw:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:  # "-0000": the zone is unknown; UTC is the best guess
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return to_utc(parsed)
    except OverflowError:
        return None


# ---------------------------------------------------------------- body and attachments


def _body_text(message: EmailMessage) -> tuple[str, Message | None]:
    """The plain part, else text from the HTML part; and which part that was."""
    for kind in ("plain", "html"):
        try:
            part = message.get_body(preferencelist=(kind,))
        except Exception:
            part = None
        if part is None:
            continue
        text = decode_text(part)
        return (html_to_text(text) if kind == "html" else _tidy(text)), part
    if message.get_content_maintype() == "text" and not message.is_multipart():
        text = decode_text(message)
        return (html_to_text(text) if message.get_content_subtype() == "html" else _tidy(text)), message
    return "", None


def decode_text(part: Message) -> str:
    """A text part's characters, in the charset it declares; a wrong or unknown one does not raise."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    charset = (part.get_content_charset() or "us-ascii").strip().lower()
    charset = {"gb2312": "gb18030", "gbk": "gb18030", "x-sjis": "shift_jis"}.get(charset, charset)
    if charset not in ("utf-8", "utf8") and _is_8bit_utf8(payload):
        return payload.decode("utf-8")  # mislabelled: valid 8-bit UTF-8 is almost never another charset
    try:
        return payload.decode(charset)
    except LookupError:  # an unknown charset name
        return _utf8_else_windows(payload)
    except UnicodeDecodeError:
        if charset in ("us-ascii", "ascii"):
            return _utf8_else_windows(payload)
        return payload.decode(charset, "replace")


def _is_8bit_utf8(payload: bytes) -> bool:
    if payload.isascii():
        return False
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _utf8_else_windows(payload: bytes) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode("windows-1252", "replace")


def _tidy(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip()


def _attachments(message: Message, body_part: Message | None) -> Iterator[Attachment]:
    for part in _leaf_parts(message):
        if part is body_part:
            continue
        content_type = part.get_content_type()
        name = _filename(part)
        disposition = (part.get_content_disposition() or "").lower()
        if not name and disposition != "attachment" and part.get_content_maintype() in ("text", "multipart"):
            continue  # the other alternative of the body (text/html beside text/plain), not a file
        data: bytes | None
        if content_type == "message/rfc822":
            inner = part.get_payload()
            inner_message = inner[0] if isinstance(inner, list) and inner else None
            data = _as_bytes(inner_message) if isinstance(inner_message, Message) else b""
            if not name and isinstance(inner_message, Message):
                name = (" ".join(str(inner_message.get("subject", "")).split()) or "message") + ".eml"
        else:
            try:
                decoded = part.get_payload(decode=True)
            except Exception:
                decoded = None
            data = decoded if isinstance(decoded, bytes) else None
            if data is None:  # message/delivery-status and the like: parsed as header blocks
                payload = part.get_payload()
                data = (
                    b"".join(_as_bytes(p) for p in payload if isinstance(p, Message))
                    if isinstance(payload, list)
                    else b""
                )
        yield Attachment(safe_name(name or _unnamed(content_type)), content_type, len(data), data)


def _as_bytes(message: Message) -> bytes:
    try:
        return message.as_bytes()
    except Exception:  # a header the generator cannot write back: the message as the parser kept it
        return str(message).encode("utf-8", "surrogateescape")


def _leaf_parts(message: Message) -> Iterator[Message]:
    """Every non-multipart part; an attached message counts as one part (it is not descended into)."""
    if message.is_multipart() and message.get_content_maintype() == "multipart":
        for part in message.get_payload():
            if isinstance(part, Message):
                yield from _leaf_parts(part)
    else:
        yield message


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    return _decode_8bit(str(name)) if name else ""


def _unnamed(content_type: str) -> str:
    return "attachment." + (content_type.split("/", 1)[1].split("+")[0] if "/" in content_type else "bin")


def safe_name(name: str) -> str:
    """A file name that cannot leave a folder: no path parts, no control characters, not hidden."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if char.isprintable()).strip().lstrip(".")
    return name[:200] or "attachment"
