"""Attachments of filed mail: the one writer of table `attachments`, and their bytes in a private
folder beside the database, each file named by its sha256 (never by the sender's file name, which
is kept in the table as data only). The same file sent twice is stored once.

A file is written, complete, before the transaction that records it commits: a crash in between
leaves a file no row names yet, which the next ingest of that message finds and reuses.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

from carecli.core import store
from carecli.core.errors import InvalidInput, NotFound
from carecli.core.files import (
    attachment_path,
    attachments_folder,
    private_folders,
    remove_stale_temps,
    temp_path,
    write_private_bytes,
)
from carecli.mail.parse import Attachment, safe_name

FILE_MODE = 0o600


folder_for = attachments_folder
stored_path = attachment_path


def keep(folder: Path, data: bytes) -> str:
    """Store `data` (written in full under a temporary name, synced, then renamed, mode 0600 in
    folders of mode 0700); returns its sha256. A file already there is the same bytes: kept as is."""
    digest = hashlib.sha256(data).hexdigest()
    target = stored_path(folder, digest)
    if target.exists():
        return digest
    private_folders(folder, target.parent)
    remove_stale_temps(target.parent)  # a killed ingest's half-written file
    write_private_bytes(target, data)
    return digest


def record(
    conn: sqlite3.Connection,
    folder: Path | None,
    attachments: list[Attachment],
    *,
    mail_message_id: int,
    interaction_id: int | None,
    ticket_id: int | None,
    max_size: int,
) -> None:
    """Store and record a filed message's attachments, inside the caller's transaction. One larger
    than `max_size`, or any when `folder` is None (a dry run), is recorded with stored = 0."""
    for attachment in attachments:
        keeps = folder is not None and attachment.size <= max_size
        digest = (
            keep(folder, attachment.data)
            if keeps and folder is not None
            else hashlib.sha256(attachment.data).hexdigest()
        )
        store.insert(
            conn,
            "attachments",
            {
                "mail_message_id": mail_message_id,
                "interaction_id": interaction_id,
                "ticket_id": ticket_id,
                "name": attachment.name,
                "content_type": attachment.content_type,
                "size": attachment.size,
                "sha256": digest,
                "stored": int(keeps),
            },
        )


_COLUMNS = """a.id, a.ticket_id, a.interaction_id, a.name, a.content_type, a.size, a.stored, a.sha256,
              m.sent_at, m.sender"""


def listing(conn: sqlite3.Connection, *, ticket_id: int | None = None, limit: int | None = None) -> sqlite3.Cursor:
    """Attachments, newest message first (a ticket's in the order they came, when `ticket_id`)."""
    where, params = "", []
    if ticket_id is not None:
        where = "WHERE a.ticket_id = ?"
        params.append(ticket_id)
    order = "m.sent_at, a.id" if ticket_id is not None else "m.sent_at DESC, a.id DESC"
    sql = f"SELECT {_COLUMNS} FROM attachments a JOIN mail_messages m ON m.id = a.mail_message_id {where} ORDER BY {order}"
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    return conn.execute(sql, params)


def get(conn: sqlite3.Connection, attachment_id: int) -> sqlite3.Row:
    row = store.one(
        conn,
        f"SELECT {_COLUMNS} FROM attachments a JOIN mail_messages m ON m.id = a.mail_message_id WHERE a.id = ?",
        (attachment_id,),
    )
    if row is None:
        raise NotFound(f"no attachment #{attachment_id}", "list them with: carecli attachment list")
    return row


def data_of(folder: Path, row: sqlite3.Row) -> bytes:
    """The stored bytes of an attachment; an error when it was not kept or its file is gone."""
    if not row["stored"]:
        raise InvalidInput(
            f"attachment #{row['id']} was not kept: {row['size']} bytes, larger than [mail] attachment_max_size",
            "raise attachment_max_size and ingest the message again from the mailbox",
        )
    path = stored_path(folder, row["sha256"])
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(
            f"attachment #{row['id']}: its stored file is missing ({path})",
            "restore the attachments folder from a backup",
        ) from None
    if hashlib.sha256(data).hexdigest() != row["sha256"]:
        raise InvalidInput(f"attachment #{row['id']}: its stored file {path} is damaged (sha256 differs)")
    return data


def download_name(row: sqlite3.Row) -> str:
    """The original name made safe to create in a folder (no path, no control characters, not hidden)."""
    return safe_name(row["name"])


def save(data: bytes, target: Path, *, force: bool = False) -> None:
    """Write `data` to `target` whole (through a temporary file), mode 0600. An existing file (or a
    symlink) there is an error unless `force`; without it the check and the write are one step
    (a hard link), so nothing that appears meanwhile is overwritten either."""
    if not force and os.path.lexists(target):
        raise InvalidInput(f"{target} exists", "give another path, or --force to overwrite it")
    temporary = temp_path(target)
    try:
        descriptor = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except OSError as exc:
        raise InvalidInput(
            f"cannot write {target}: {exc.strerror or exc}", "check the folder exists and is writable"
        ) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if force:
            os.replace(temporary, target)
        else:
            try:
                os.link(temporary, target)
            except FileExistsError:
                raise InvalidInput(f"{target} exists", "give another path, or --force to overwrite it") from None
            except OSError:  # a file system without hard links: the check above has to do
                if os.path.lexists(target):
                    raise InvalidInput(f"{target} exists", "give another path, or --force to overwrite it") from None
                os.rename(temporary, target)
    except OSError as exc:
        raise InvalidInput(f"cannot write {target}: {exc.strerror or exc}", "check the disk has room") from None
    finally:
        temporary.unlink(missing_ok=True)
