"""Messages that cannot be filed are kept, never lost: their bytes and the reason, in a private
folder beside the database, named by content (the same message twice is one file)."""

from __future__ import annotations

import os
from pathlib import Path

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
    _write_private(message, raw)
    _write_private(folder / f"{digest}.reason.txt", (reason.strip() + "\n").encode("utf-8"))
    return message


def _write_private(path: Path, data: bytes) -> None:
    """Written in full under a temporary name, then renamed: a crash leaves no half file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
