"""Messages that cannot be filed are kept, never lost: their bytes and the reason, in a private
folder beside the database, named by content (the same message twice is one file)."""

from __future__ import annotations

import os
from pathlib import Path

from carecli.core.files import write_private_bytes
from carecli.mail.parse import content_hash


def folder_for(db_file: str | os.PathLike) -> Path:
    """`shop.db` keeps its quarantine in `shop.db-quarantine/` beside it."""
    path = Path(db_file)
    return path.with_name(path.name + "-quarantine")


def keep(folder: Path, raw: bytes, reason: str) -> Path:
    """Write the message and its reason (mode 0600, folder 0700); returns the message's path."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = content_hash(raw)
    message = folder / f"{digest}.eml"
    write_private_bytes(message, raw)
    write_private_bytes(folder / f"{digest}.reason.txt", (reason.strip() + "\n").encode("utf-8"))
    return message
