"""`mail fetch`: messages from IMAP folders, read-only (EXAMINE, BODY.PEEK[]: no flag is stored,
nothing moved or deleted), filed through the same intake as `mail ingest`, incremental by
UIDVALIDITY and the last UID filed per account and folder (table imap_state, written only here).

The standard library's imaplib is enough for EXAMINE, UID SEARCH and UID FETCH; imapclient would
be a new dependency for nicer parsing of three responses."""

from __future__ import annotations

import functools
import imaplib
import re
import sqlite3
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from carecli.core import store
from carecli.core.config import Settings
from carecli.core.errors import ConfigError, InvalidInput, ServerUnavailable
from carecli.mail import ingest, servers
from carecli.mail.intake import Filing
from carecli.mail.sources import Source
from carecli.text.clock import to_db

BATCH = 200  # UIDs per UID FETCH: memory stays flat, and a drop loses at most one batch's work
TIMEOUT_S = 60
_FETCHED = re.compile(rb"UID (\d+)|INTERNALDATE \"([^\"]+)\"")


@dataclass
class Account:
    host: str
    port: int
    user: str
    tls: str
    folders: list[str]
    sent_folders: list[str]
    password_cmd: str

    @property
    def name(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    def is_sent(self, folder: str) -> bool:
        return folder.casefold() in {name.casefold() for name in self.sent_folders}


@dataclass
class Fetched:
    filings: list[Filing] = field(default_factory=list)
    reread: list[str] = field(default_factory=list)  # folders read again: their UIDVALIDITY changed


def account(settings: Settings) -> Account:
    """The [mail.imap] settings, checked together (one-line errors naming the key)."""
    host, tls = settings["mail.imap.host"].strip(), settings["mail.imap.tls"]
    if not host:
        raise ConfigError("'mail.imap.host' is not set", "set [mail.imap] host (and user, password_cmd) in the config")
    if not settings["mail.imap.user"]:
        raise ConfigError("'mail.imap.user' is not set", "set [mail.imap] user in the config")
    servers.refuse_plain_text_off_this_machine("mail.imap", host, tls)
    port = settings["mail.imap.port"] or (993 if tls == "tls" else 143)
    return Account(
        host,
        port,
        settings["mail.imap.user"],
        tls,
        list(settings["mail.imap.folders"]),
        list(settings["mail.imap.sent_folders"]),
        settings["mail.imap.password_cmd"],
    )


def connect(acct: Account, secret: str) -> imaplib.IMAP4:
    """Connected and logged in. Unreachable or dropped: ServerUnavailable (exit 75); a refused
    login: ConfigError (exit 1), since trying again with the same password cannot help."""
    try:
        with servers.connection_errors("IMAP", "mail.imap", acct.host, acct.port, acct.tls):
            if acct.tls == "tls":
                client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    acct.host, acct.port, ssl_context=ssl.create_default_context(), timeout=TIMEOUT_S
                )
            else:
                client = imaplib.IMAP4(acct.host, acct.port, timeout=TIMEOUT_S)
                if acct.tls == "starttls":
                    client.starttls(ssl.create_default_context())
    except imaplib.IMAP4.abort as exc:
        raise ServerUnavailable(
            f"cannot reach the IMAP server {acct.host}:{acct.port}: {exc}", "try again later"
        ) from None
    except imaplib.IMAP4.error as exc:
        raise ConfigError(f"the IMAP server {acct.host}:{acct.port} refused TLS: {exc}") from None
    try:
        client.login(acct.user, secret)
    except imaplib.IMAP4.abort as exc:
        raise ServerUnavailable(f"the IMAP server dropped the connection at login: {exc}", "try again later") from None
    except imaplib.IMAP4.error as exc:
        text = _text(exc)
        if "[UNAVAILABLE]" in text:
            raise ServerUnavailable(f"the IMAP server cannot log in now: {text}", "try again later") from None
        raise ConfigError(
            f"the IMAP server refused the login of {acct.user}: {text}",
            "check 'mail.imap.user' and what 'mail.imap.password_cmd' prints",
        ) from None
    return client


def fetch(
    conn: sqlite3.Connection,
    settings: Settings,
    acct: Account,
    client: imaplib.IMAP4,
    *,
    quarantine_dir: Path,
    folders: list[str] | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    total: Callable[[int], None] | None = None,
    now: datetime,
) -> Fetched:
    """Fetch and file each folder's new messages, batch by batch. After each batch is filed its
    last UID is stored, so a dropped connection loses no filed work and the next run goes on from
    there. A dry run files everything in one transaction and rolls it back, storing nothing."""
    result = Fetched()
    wanted = folders or acct.folders
    try:
        if dry_run:
            try:
                with store.transaction(conn):
                    _fetch_all(conn, settings, acct, client, wanted, quarantine_dir, True, progress, total, now, result)
                    raise _RollBack
            except _RollBack:
                pass
        else:
            _fetch_all(conn, settings, acct, client, wanted, quarantine_dir, False, progress, total, now, result)
    except (OSError, imaplib.IMAP4.abort) as exc:
        filed = sum(f.status == "filed" for f in result.filings)
        raise ServerUnavailable(
            f"the IMAP connection to {acct.host} dropped after {filed} messages were filed ({_text(exc) or 'EOF'})",
            "run mail fetch again: it goes on from the last message filed",
        ) from None
    return result


class _RollBack(Exception):
    """Raised inside the transaction of a dry run to undo it."""


def _fetch_all(conn, settings, acct, client, wanted, quarantine_dir, dry_run, progress, total, now, result) -> None:
    plans = []
    for folder in wanted:
        uidvalidity = _examine(client, folder)
        state = store.one(
            conn, "SELECT uidvalidity, last_uid FROM imap_state WHERE account = ? AND folder = ?", (acct.name, folder)
        )
        last = 0
        if state is not None and state["uidvalidity"] == uidvalidity:
            last = state["last_uid"]
        elif state is not None:
            result.reread.append(folder)
        uids = _uids_after(client, last)
        plans.append((folder, uidvalidity, uids))
    if total is not None:
        total(sum(len(uids) for _, _, uids in plans))
    for folder, uidvalidity, uids in plans:
        if _examine(client, folder) != uidvalidity:  # the UIDs planned mean other messages now
            raise imaplib.IMAP4.abort(f"the UIDVALIDITY of {folder} changed during the fetch")
        for start in range(0, len(uids), BATCH):
            batch = uids[start : start + BATCH]
            sources = _fetch_batch(client, batch, folder, ours=acct.is_sent(folder), now=now)
            filings = ingest.ingest_sources(conn, settings, sources, quarantine_dir=quarantine_dir, dry_run=dry_run)
            result.filings.extend(filings)
            if progress is not None:
                progress(len(batch))
            if not dry_run:
                _remember(conn, acct, folder, uidvalidity, batch[-1], now)
        if not uids and not dry_run:
            _remember(conn, acct, folder, uidvalidity, None, now)


def _examine(client: imaplib.IMAP4, folder: str) -> int:
    """Select the folder read-only (EXAMINE) and return its UIDVALIDITY."""
    status, data = client.select(_quoted(folder), readonly=True)
    if status != "OK":
        raise InvalidInput(
            f"the IMAP server has no folder '{folder}': {_text(data)}",
            "fix 'mail.imap.folders' (or --folder); carecli never creates folders",
        )
    _, codes = client.response("UIDVALIDITY")
    if not codes or not codes[0]:
        raise InvalidInput(f"the IMAP server gave no UIDVALIDITY for '{folder}'")
    return int(codes[0])


def _uids_after(client: imaplib.IMAP4, last: int) -> list[int]:
    status, data = client.uid("SEARCH", f"UID {last + 1}:*")
    if status != "OK":
        raise InvalidInput(f"the IMAP server refused UID SEARCH: {_text(data)}")
    # N:* also matches the highest UID when it is below N: keep only newer ones.
    return sorted(uid for uid in (int(word) for word in (data[0] or b"").split()) if uid > last)


def _fetch_batch(client: imaplib.IMAP4, uids: list[int], folder: str, *, ours: bool, now: datetime) -> list[Source]:
    status, data = client.uid("FETCH", ",".join(map(str, uids)), "(UID INTERNALDATE BODY.PEEK[])")
    if status != "OK":
        raise imaplib.IMAP4.abort(f"UID FETCH failed: {_text(data)}")
    found: dict[int, Source] = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        head, raw = item
        uid, received = None, now
        for match in _FETCHED.finditer(head):
            if match.group(1):
                uid = int(match.group(1))
            elif match.group(2):
                received = _internaldate(match.group(2).decode()) or now
        if uid is None:
            continue
        found[uid] = Source(f"{folder}#{uid}", functools.partial(bytes, raw), received, ours=ours)
    # Messages expunged meanwhile are simply absent; UID order keeps the log readable.
    return [found[uid] for uid in sorted(found)]


def _internaldate(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%d-%b-%Y %H:%M:%S %z").astimezone(timezone.utc)
    except ValueError:
        return None


def _remember(
    conn: sqlite3.Connection, acct: Account, folder: str, uidvalidity: int, last_uid: int | None, now: datetime
) -> None:
    """Store how far the folder is filed; `last_uid` None: nothing new, keep the stored UID."""
    with store.transaction(conn):
        row = store.one(
            conn,
            "SELECT id, uidvalidity, last_uid FROM imap_state WHERE account = ? AND folder = ?",
            (acct.name, folder),
        )
        if row is None:
            store.insert(
                conn,
                "imap_state",
                {
                    "account": acct.name,
                    "folder": folder,
                    "uidvalidity": uidvalidity,
                    "last_uid": last_uid or 0,
                    "fetched_at": to_db(now),
                },
            )
            return
        keep = row["last_uid"] if row["uidvalidity"] == uidvalidity else 0
        store.update(
            conn,
            "imap_state",
            row["id"],
            {
                "uidvalidity": uidvalidity,
                "last_uid": last_uid if last_uid is not None else keep,
                "fetched_at": to_db(now),
            },
        )


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(value) -> str:
    if isinstance(value, BaseException):
        value = value.args[0] if value.args else str(value)
    if isinstance(value, list):
        value = b" ".join(v for v in value if isinstance(v, bytes))
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return " ".join(str(value).split())


def close(client: imaplib.IMAP4) -> None:
    """Log out politely; a connection already gone needs nothing more."""
    try:
        client.logout()
    except (OSError, imaplib.IMAP4.error):  # a timeout is an OSError
        pass
