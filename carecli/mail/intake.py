"""Filing a parsed message: once (by Message-ID or content), onto the right ticket, through the
ticket writers of carecli.records, in one transaction per message.

Threading, in order: (1) In-Reply-To, then each References id, against every message seen;
(2) a ticket token, `[#N]` in the subject or `local+N@domain` to one of `[mail] addresses`, only
when the sender is a known address of that ticket's customer; (3) the same sender and subject
(without Re:/Fwd:/AW: ...) within `[mail] same_subject_days`, if that ticket is still open; else
a new ticket, noted "maybe related to #N" when the earlier one is closed.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from carecli.core import store, undolog
from carecli.core.config import Settings
from carecli.core.errors import InvalidInput, NotFound
from carecli.mail import attachments, autopilot, identities, outbox
from carecli.mail.parse import Mail, subject_key
from carecli.mail.quoted import new_part
from carecli.records import care, consent, tickets
from carecli.text.clock import from_db, to_db, to_utc

STATUSES = ("filed", "skipped", "quarantined")
_TOKEN = re.compile(r"\[#(\d{1,18})\]", re.ASCII)  # ASCII: not other scripts' digits


@dataclass
class Filing:
    """What became of one message (also what `--dry-run` prints)."""

    key: str
    status: str  # filed | skipped | quarantined | known (seen before: nothing done)
    reason: str
    direction: str = "in"
    sender: str = ""
    subject: str = ""
    at: str | None = None
    customer_id: int | None = None
    ticket_id: int | None = None
    new_ticket: bool = False
    closed_as_archive: bool = False  # the last message of a thread `mail ingest --archive` closed

    def as_row(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "direction": self.direction,
            "at": self.at,
            "sender": self.sender,
            "subject": self.subject,
            "ticket_id": self.ticket_id,
            "new_ticket": self.new_ticket,
            "reason": self.reason,
            "message_id": self.key,
        }


def own_addresses(settings: Settings) -> set[str]:
    return {address.lower() for address in settings["mail.addresses"]}


def known(conn: sqlite3.Connection, key: str) -> sqlite3.Row | None:
    return store.one(conn, "SELECT status, ticket_id, reason FROM mail_messages WHERE message_id = ?", (key,))


def file_message(
    conn: sqlite3.Connection,
    settings: Settings,
    mail: Mail,
    *,
    received: datetime,
    ours: bool = False,
    keep_files: bool = True,
) -> Filing:
    """File one message in one transaction; a message seen before changes nothing; one undo step when the command armed it (see
    core.undolog.arm). `ours`: it
    comes from our Sent folder, so it is our own message whatever its From says. The attachments
    of a filed message are kept beside the database (not with `keep_files` off: a dry run)."""
    with store.transaction(conn), undolog.armed(conn):
        seen = known(conn, mail.key)
        if seen is not None:
            where = f" on #{seen['ticket_id']}" if seen["ticket_id"] else ""
            return Filing(
                mail.key,
                "known",
                f"seen before ({seen['status']}{where})",
                subject=mail.subject,
                ticket_id=seen["ticket_id"],
            )
        filing = _file(conn, settings, mail, received, ours)
        row_id, interaction_id = _record(conn, mail, filing, received)
        if filing.status == "filed" and mail.attachments:
            db_file = store.file_of(conn) if keep_files else None
            attachments.record(
                conn,
                attachments.folder_for(db_file) if db_file is not None else None,
                mail.attachments,
                mail_message_id=row_id,
                interaction_id=interaction_id,
                ticket_id=filing.ticket_id,
                max_size=settings.size("mail.attachment_max_size"),
            )
        return filing


def quarantine(conn: sqlite3.Connection, digest: str, reason: str, *, received: datetime) -> Filing:
    """Record a message that could not be parsed (its bytes are kept by carecli.mail.quarantine)."""
    key = f"sha256:{digest}"
    with store.transaction(conn), undolog.armed(conn):
        if known(conn, key) is None:
            store.insert(
                conn,
                "mail_messages",
                {
                    "message_id": key,
                    "content_hash": digest,
                    "direction": "in",
                    "status": "quarantined",
                    "reason": reason,
                    "received_at": to_db(received),
                },
            )
    return Filing(key, "quarantined", reason)


def _file(conn: sqlite3.Connection, settings: Settings, mail: Mail, received: datetime, sent: bool) -> Filing:
    at = mail.when(received)
    ours = own_addresses(settings)
    outbound = sent or mail.sender in ours
    filing = Filing(mail.key, "filed", "", "out" if outbound else "in", mail.sender, mail.subject, to_db(at))
    if not outbound and _unsubscribes(conn, mail, at, filing):
        return filing
    if not outbound and mail.automatic:
        filing.status, filing.reason = "skipped", f"automatic: {mail.automatic}"
        return filing
    if mail.date is None or at != mail.date:
        filing.reason = "no usable Date: filed at the time received; "
    if outbound:
        return _file_ours(conn, settings, mail, filing, at, ours)
    customer_id, created = identities.customer_for_sender(conn, mail.sender, mail.sender_name, at=at)
    filing.customer_id = customer_id
    ticket, how, related = _thread(conn, settings, mail, ours, customer_ids={customer_id}, at=at)
    body = _body(mail, settings.size("mail.attachment_max_size"))
    channel = settings["mail.channel"]
    answer = _survey_answer(conn, ticket, mail, at) if ticket is not None else None
    if ticket is not None and answer is not None:
        if ticket["status"] == "closed":  # a score is not a new request: the ticket stays closed
            at = _not_before_ticket(ticket, at, filing)
            tickets.inbound(conn, settings, ticket, body, at=at, channel=channel)
            filing.ticket_id = ticket["id"]
            filing.reason += f"{how}; {answer}; the ticket stays closed"
            return filing
        how += f"; {answer}"
    if ticket is not None and ticket["status"] == "closed" and not _reopens(settings, ticket, at):
        if at >= from_db(ticket["closed_at"]):  # reopen_on_reply is off: a new ticket, pointing back
            related, ticket = ticket, None
        else:
            how += "; written before the ticket was closed, so it stays closed"
    if ticket is None:
        new = tickets.open_ticket(
            conn, settings, customer_id=customer_id, subject=mail.subject or "(no subject)", at=at, channel=channel,
            message=body,
        )  # fmt: skip
        filing.ticket_id, filing.new_ticket = new["id"], True
        filing.reason += "new ticket" + (" and new customer" if created else "")
        if related is not None:
            tickets.note(conn, settings, new, f"maybe related to #{related['id']} (same sender and subject)", at=at)
            filing.reason += f", maybe related to #{related['id']} (closed)"
        return filing
    at = _not_before_ticket(ticket, at, filing)
    if ticket["status"] == "closed" and _reopens(settings, ticket, at):
        try:
            ticket = tickets.reopen(conn, ticket, at=at, reason="the customer wrote again by e-mail")
            how += "; reopened"
            skipped = care.skip_after_close(conn, ticket, at=at)  # as `ticket reopen` does
            if skipped:
                how += ", its after-close check-in skipped"
        except InvalidInput:  # a later status change than this message: log it, change nothing
            pass
    tickets.inbound(conn, settings, ticket, body, at=at, channel=channel)
    if outbox.cancel_care_for_ticket(conn, ticket["id"]):
        how += "; queued care mail cancelled"
    filing.ticket_id = ticket["id"]
    filing.reason += how
    return filing


def _file_ours(
    conn: sqlite3.Connection, settings: Settings, mail: Mail, filing: Filing, at: datetime, ours: set[str]
) -> Filing:
    """Our own message (sent from a mail client): a reply on its ticket, never a new ticket."""
    recipients = [address for address in [*mail.to, *mail.cc] if address not in ours]
    customer_ids = {cid for cid in (identities.customer_of(conn, a) for a in recipients) if cid is not None}
    ticket, how, _ = _thread(conn, settings, mail, ours, customer_ids=customer_ids, at=at, senders=recipients)
    if ticket is None:
        filing.status = "skipped"
        filing.reason += "our own message, on no known ticket (mail from our addresses never opens one)"
        return filing
    at = _not_before_ticket(ticket, at, filing)
    tickets.reply(
        conn,
        settings,
        ticket,
        _body(mail, settings.size("mail.attachment_max_size")),
        at=at,
        channel=settings["mail.channel"],
    )
    filing.ticket_id, filing.customer_id = ticket["id"], ticket["customer_id"]
    filing.reason += f"our reply; {how}"
    return filing


def _thread(
    conn: sqlite3.Connection,
    settings: Settings,
    mail: Mail,
    ours: set[str],
    *,
    customer_ids: set[int],
    at: datetime,
    senders: list[str] | None = None,
) -> tuple[sqlite3.Row | None, str, sqlite3.Row | None]:
    """(the ticket, how it was found, a closed ticket it may relate to)."""
    for message_id in mail.thread_ids:
        ticket_id = store.scalar(
            conn, "SELECT ticket_id FROM mail_messages WHERE message_id = ? AND ticket_id IS NOT NULL", (message_id,)
        )
        if ticket_id is not None:
            return tickets.get_ticket(conn, ticket_id), f"answers <{message_id}>", None
    for ticket_id in ticket_tokens(mail, ours):
        row = store.one(conn, "SELECT customer_id FROM tickets WHERE id = ?", (ticket_id,))
        if row is not None and row["customer_id"] in customer_ids:
            return tickets.get_ticket(conn, ticket_id), f"ticket token #{ticket_id}", None
    key = subject_key(mail.subject)
    if not key:
        return None, "", None
    since = to_db(to_utc(at) - timedelta(days=settings["mail.same_subject_days"]))
    marks = ", ".join("?" * len(senders or [mail.sender]))
    ticket_id = store.scalar(
        conn,
        f"""SELECT ticket_id FROM mail_messages
            WHERE status = 'filed' AND sender IN ({marks}) AND subject_key = ? AND sent_at >= ? AND sent_at <= ?
              AND ticket_id IS NOT NULL
            ORDER BY sent_at DESC, id DESC LIMIT 1""",
        (*(senders or [mail.sender]), key, since, to_db(at)),
    )
    if ticket_id is None:
        return None, "", None
    ticket = tickets.get_ticket(conn, ticket_id)
    if ticket["status"] in tickets.ACTIVE:
        return ticket, f"same sender and subject as #{ticket_id}", None
    return None, "", ticket


def ticket_tokens(mail: Mail, ours: set[str]) -> list[int]:
    """Ticket ids the message names: `[#N]` in the subject, `local+N@domain` for our addresses."""
    found = [int(n) for n in _TOKEN.findall(mail.subject)]
    for address in ours:
        local, _, domain = address.partition("@")
        pattern = re.compile(rf"{re.escape(local)}\+([0-9]{{1,18}})@{re.escape(domain)}", re.IGNORECASE)
        for recipient in [*mail.to, *mail.cc]:
            match = pattern.fullmatch(recipient)
            if match:
                found.append(int(match.group(1)))
    return [n for n in dict.fromkeys(found) if 0 < n <= store.MAX_ID]


def _unsubscribes(conn: sqlite3.Connection, mail: Mail, at: datetime, filing: Filing) -> bool:
    """`unsubscribe <token>` in the subject (our List-Unsubscribe link) opts that customer out; it
    is not a contact. (The token, not the sender, names them: a forwarding address may send it.)"""
    token = consent.token_in(mail.subject or "")
    customer_id = consent.customer_of_token(conn, token) if token else None
    if customer_id is None:
        return False
    changed = consent.opt_out(conn, customer_id, at=at, how="by mail")
    filing.status = "skipped"
    filing.customer_id = customer_id
    filing.reason = "unsubscribe: opted out of care mail" if changed else "unsubscribe: had opted out already"
    return True


def _survey_answer(conn: sqlite3.Connection, ticket: sqlite3.Row, mail: Mail, at: datetime) -> str | None:
    """An answer to the survey question `care run` mailed on the ticket (its headers name the
    question, or the ticket is closed and the question was asked): the first number on the
    survey's scale is recorded as the score (what is returned says so). Without one, it is an
    ordinary message (None)."""
    asked = autopilot.survey_asked(conn, ticket["id"], mail.thread_ids)
    if asked is None or not (asked["answers_it"] or ticket["status"] == "closed") or to_db(at) < asked["at"]:
        return None
    text = new_part(mail.text) or ""
    score = autopilot.read_score(text, asked["survey"])
    if score is None:
        return None
    autopilot.record_answer(
        conn, ticket, asked["survey"], score, text.strip(), at=max(at, from_db(ticket["created_at"]))
    )
    return f"survey answer: {autopilot.SURVEY_NAMES[asked['survey']]} {score}"


def _reopens(settings: Settings, ticket: sqlite3.Row, at: datetime) -> bool:
    return (
        bool(settings["mail.reopen_on_reply"])
        and ticket["closed_at"] is not None
        and at >= from_db(ticket["closed_at"])
    )


def _not_before_ticket(ticket: sqlite3.Row, at: datetime, filing: Filing) -> datetime:
    """A message dated before its ticket was opened (a skewed clock) is filed at the opening."""
    opened = from_db(ticket["created_at"])
    if at < opened:
        filing.reason += "dated before the ticket opened, filed at its opening; "
        filing.at = to_db(opened)
        return opened
    return at


def _body(mail: Mail, max_size: int) -> str:
    """The interaction's text: the new part only (the full text is mail_messages.full_text)."""
    lines = [new_part(mail.text) or "(no text)"]
    if mail.attachments:
        listed = ", ".join(
            f"{a.name} ({a.content_type}, {a.size} bytes{', not kept: too large' if a.size > max_size else ''})"
            for a in mail.attachments
        )
        lines.append(f"[attachments: {listed}]")
    return "\n\n".join(lines)


def _record(conn: sqlite3.Connection, mail: Mail, filing: Filing, received: datetime) -> tuple[int, int | None]:
    """Insert the message's row; returns (its id, the interaction it was filed as)."""
    interaction_id = None
    if filing.ticket_id is not None:
        interaction_id = store.scalar(
            conn,
            "SELECT max(id) FROM interactions WHERE ticket_id = ? AND direction = ?",
            (filing.ticket_id, filing.direction),
        )
    row_id = store.insert(
        conn,
        "mail_messages",
        {
            "message_id": mail.key,
            "content_hash": mail.content_hash,
            "direction": filing.direction,
            "status": filing.status,
            "reason": filing.reason.strip("; ") or None,
            "sender": mail.sender,
            "subject": mail.subject,
            "subject_key": subject_key(mail.subject),
            "sent_at": filing.at,
            "received_at": to_db(received),
            "customer_id": filing.customer_id,
            "ticket_id": filing.ticket_id,
            "interaction_id": interaction_id,
            "attachments": json.dumps([a.facts() for a in mail.attachments], ensure_ascii=False)
            if mail.attachments
            else None,
            "full_text": mail.text if filing.status == "filed" else None,
        },
    )
    filing.reason = filing.reason.strip("; ")
    return row_id, interaction_id


def log(
    conn: sqlite3.Connection, *, status: str | None = None, since: datetime | None = None, limit: int | None = None
) -> sqlite3.Cursor:
    """Messages seen, newest first: what was filed where, skipped or quarantined, and why."""
    where: list[str] = []
    params: list[object] = []
    if status:
        where.append("status = ?")
        params.append(status)
    if since:
        where.append("received_at >= ?")
        params.append(to_db(since))
    sql = f"""SELECT id, received_at, sent_at, status, direction, sender, subject, ticket_id, reason, message_id
              FROM mail_messages {"WHERE " + " AND ".join(where) if where else ""}
              ORDER BY received_at DESC, id DESC"""
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return conn.execute(sql, params)


def full_text(conn: sqlite3.Connection, row_id: int) -> str:
    """A filed message's whole text (its interaction holds only the new part), by its mail log id."""
    text = store.scalar(conn, "SELECT full_text FROM mail_messages WHERE id = ?", (row_id,))
    if text is None:
        raise NotFound(f"no filed message #{row_id}", "see the ids in: carecli mail log --status filed")
    return text


def last_message_at(conn: sqlite3.Connection, ticket_id: int) -> str | None:
    """When the ticket's last message (either way, not a note) was written, as stored."""
    return store.scalar(
        conn, "SELECT max(at) FROM interactions WHERE ticket_id = ? AND direction IN ('in', 'out')", (ticket_id,)
    )
