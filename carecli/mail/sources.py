"""Where messages come from on disk: a Maildir (with its subfolders), an mbox file, a .eml file,
or a folder of them. Each message is read only when asked for, so a big mailbox is not held in memory."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from carecli.core.errors import InvalidInput


@dataclass
class Source:
    label: str  # where the message is, for messages to the user
    read: Callable[[], bytes]
    received: datetime  # when it arrived (file time, or the mbox 'From ' line), for a message without a Date
    ours: bool = False  # from our Sent folder: our own message, whatever its From


def collect(paths: list[str]) -> Iterator[Source]:
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise InvalidInput(
                f"no such file or folder: {given}", "give a Maildir, an mbox file, a .eml file or a folder"
            )
        if path.is_dir():
            yield from _folder(path)
        elif _is_mbox(path):
            yield from _mbox(path)
        else:
            yield _file(path)


def is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _folder(root: Path) -> Iterator[Source]:
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs.sort()
        if here.name in ("cur", "new") and is_maildir(here.parent):
            yield from (_file(here / name) for name in sorted(files) if not name.startswith("."))
            continue
        if here.name == "tmp" and is_maildir(here.parent):
            dirs[:] = []  # a message being delivered: not complete yet
            continue
        for name in sorted(files):
            path = here / name
            if name.lower().endswith(".eml"):
                yield _file(path)
            elif name.lower().endswith(".mbox") and _is_mbox(path):
                yield from _mbox(path)


def _file(path: Path) -> Source:
    return Source(str(path), path.read_bytes, _mtime(path))


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(int(path.stat().st_mtime), timezone.utc)


def _is_mbox(path: Path) -> bool:
    if path.suffix.lower() == ".eml":
        return False
    with open(path, "rb") as handle:
        return handle.read(5) == b"From "


def _mbox(path: Path) -> Iterator[Source]:
    import mailbox

    box = mailbox.mbox(path, create=False)
    fallback = _mtime(path)
    for key in box.iterkeys():
        with box.get_file(key, True) as handle:
            received = _from_line_time(handle.readline()) or fallback
        yield Source(f"{path}#{key}", functools.partial(box.get_bytes, key), received)


def _from_line_time(line: bytes) -> datetime | None:
    """The time in an mbox separator, 'From sender Mon Sep 20 19:29:27 2021' (asctime, taken as UTC)."""
    words = line.decode("latin-1").split()
    for start in (2, 3):
        try:
            return datetime.strptime(" ".join(words[start : start + 5]), "%a %b %d %H:%M:%S %Y").replace(
                tzinfo=timezone.utc
            )
        except ValueError:
            continue
    return None
