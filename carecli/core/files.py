"""Files carecli writes for the user: private (0600) and atomic, so a crash never leaves half a file."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TextIO

from carecli.core.errors import InvalidInput


@contextmanager
def atomic_text(path: str | os.PathLike, *, newline: str | None = None) -> Iterator[TextIO]:
    """Write a text file through a temporary file in the same directory, renamed into place on success.

    The file is created 0600 (customer data). On any error the temporary file is removed and the
    target is left as it was.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise InvalidInput(
            f"cannot write {target}: {exc.strerror}", "check the directory exists and is writable"
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
