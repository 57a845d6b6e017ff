"""The messages carecli sends, built so that the answer threads back through mail intake: a
Message-ID on the shop's domain, In-Reply-To and References to the ticket's thread, the ticket
token `[#N]` in the subject, and RFC 5322 clean bytes (CRLF, folded headers, long lines encoded)."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from carecli.core.config import Settings
from carecli.core.errors import ConfigError, Conflict, InvalidInput

# CRLF, folded headers, and 7-bit bodies (quoted-printable or base64 where the text is not ASCII),
# so any server takes it, with or without 8BITMIME, and it is kept as plain text.
SEVEN_BIT = policy.SMTP.clone(cte_type="7bit")
REFERENCES_KEPT = 10  # the thread's first message and its latest ones: enough for any client to thread
_TOKEN = re.compile(r"\[#(\d+)\]")


@dataclass(frozen=True)
class Composed:
    message_id: str  # without angle brackets
    sender: str
    recipient: str
    subject: str
    raw: str  # 7-bit ASCII, CRLF line ends


def sender(settings: Settings) -> str:
    chosen = settings["mail.from"].strip() or next(iter(settings["mail.addresses"]), "")
    if not chosen or "@" not in chosen:
        raise ConfigError(
            "carecli has no address to send from",
            'set [mail] addresses = ["help@yourshop.example"] (or [mail] from) in the config',
        )
    return chosen


def recipient_of(conn: sqlite3.Connection, customer_id: int) -> str:
    row = conn.execute("SELECT name, email FROM customers WHERE id = ?", (customer_id,)).fetchone()
    if row is None or not row["email"]:
        name = row["name"] if row else f"customer {customer_id}"
        raise InvalidInput(
            f"{name} has no e-mail address", f"give one: carecli customer edit {customer_id} --email ADDRESS"
        )
    return row["email"]


def thread_of(conn: sqlite3.Connection, ticket_id: int) -> list[str]:
    """The Message-IDs filed or sent on the ticket, oldest first (hash ids of messages without one left out)."""
    return [
        row[0]
        for row in conn.execute(
            "SELECT message_id FROM mail_messages WHERE ticket_id = ? AND status = 'filed'"
            " AND message_id NOT LIKE 'sha256:%' ORDER BY sent_at, id",
            (ticket_id,),
        )
    ]


def reply_subject(ticket_id: int, subject: str) -> str:
    """`Re: <subject> [#N]`: the token lets intake thread an answer whose headers a client dropped."""
    base = _TOKEN.sub("", subject).strip()
    prefix = "" if re.match(r"(?i)re\s*:", base) else "Re: "
    return f"{prefix}{base} [#{ticket_id}]"


def compose(
    settings: Settings,
    *,
    to: str,
    subject: str,
    body: str,
    at: datetime,
    thread: list[str] = (),  # type: ignore[assignment]
    kind: str = "reply",
    unsubscribe_token: str | None = None,
    html: str | None = None,
    automatic: bool = False,
) -> Composed:
    """One message (with `html`, a multipart/alternative: the text, then the HTML page;
    `automatic`: sent by a rule, not by a person). Header values come from stored text: control characters and line breaks in
    them are made spaces, so a customer's name or a subject can never add a header."""
    from_address = sender(settings)
    own = {address.casefold() for address in (*settings["mail.addresses"], from_address)}
    # Loop protection: a reply or outreach to ourselves would come back as our own reply. A report
    # may go to the shop's own mailbox: it is marked automatic, so intake skips it.
    if kind != "report" and to.strip().casefold() in own:
        raise InvalidInput(f"{to} is one of the shop's own addresses", "carecli never mails the shop itself")
    domain = from_address.rsplit("@", 1)[1].strip(">").strip() or "carecli.invalid"
    message = EmailMessage(policy=SEVEN_BIT)
    message["From"] = _header_value(from_address)
    message["To"] = _header_value(to)
    message["Subject"] = _header_value(subject)
    message["Date"] = format_datetime(at)
    message_id = make_msgid(domain=domain)
    message["Message-ID"] = message_id
    if thread:
        message["In-Reply-To"] = f"<{thread[-1]}>"
        kept = thread if len(thread) <= REFERENCES_KEPT else [thread[0], *thread[-(REFERENCES_KEPT - 1) :]]
        message["References"] = " ".join(f"<{ref}>" for ref in kept)
    # Outreach nobody asked for, and reports, are marked so, so that auto-replies do not answer them.
    # A reply a rule sends by itself (a nudge) is automatic too.
    message["Auto-Submitted"] = "no" if kind == "reply" and not automatic else "auto-generated"
    body = body if body.endswith("\n") else body + "\n"
    if kind == "outreach":
        if not unsubscribe_token:
            raise ValueError("outreach needs the customer's unsubscribe token (see compose_outreach)")
        # RFC 2369: one click in the customer's mail client sends us this subject; intake opts them out.
        unsubscribe = f"unsubscribe {unsubscribe_token}"
        message["List-Unsubscribe"] = f"<mailto:{from_address}?subject={unsubscribe.replace(' ', '%20')}>"
        body += f"\n--\nTo get no more of these messages, reply with the subject: {unsubscribe}\n"
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    raw = message.as_bytes()
    return Composed(message_id.strip("<>"), from_address, to, subject, raw.decode("ascii"))


def _header_value(text: str) -> str:
    return " ".join("".join(" " if ord(char) < 32 or ord(char) == 127 else char for char in text).split())


def compose_outreach(
    conn: sqlite3.Connection,
    settings: Settings,
    *,
    customer_id: int,
    subject: str,
    body: str,
    at: datetime,
    ticket_id: int | None = None,
) -> Composed:
    """Care mail nobody asked for: only to a customer who has not opted out, with a way to opt out
    (a footer line and List-Unsubscribe), and never to the shop's own addresses."""
    from carecli.records import consent

    name = store_name(conn, customer_id)
    refused_at = consent.opted_out_at(conn, customer_id)
    if refused_at:
        raise Conflict(
            f"{name} opted out of care mail ({refused_at[:10]})",
            f"carecli customer opt-in {customer_id} if they asked for it again",
        )
    return compose(
        settings,
        to=recipient_of(conn, customer_id),
        subject=subject,
        body=body,
        at=at,
        thread=thread_of(conn, ticket_id) if ticket_id is not None else [],
        kind="outreach",
        unsubscribe_token=consent.token_for(conn, customer_id),
    )


def store_name(conn: sqlite3.Connection, customer_id: int) -> str:
    row = conn.execute("SELECT name FROM customers WHERE id = ?", (customer_id,)).fetchone()
    return row[0] if row else f"customer {customer_id}"
