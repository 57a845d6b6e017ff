"""Files carecli writes for the user: private (0600) and atomic, so a crash never leaves half a file.

A new path or an existing regular file is written through a temporary file in the same directory
and renamed into place; a character device (/dev/null), a FIFO or `-` (stdout) is written
directly; a symlink's target is written, never the link. Temporary files are named
`.NAME.carecli-tmp-PID-RANDOM`: hidden, never mistaken for a finished file, and those of a
process that no longer runs (a killed export) are removed by the next output into that directory.
Every error names the path the user gave, never the temporary file.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, TextIO

from carecli.core.errors import InvalidInput

TEMP_MARK = ".carecli-tmp-"
# SQLite adds its -journal (and -wal, -shm) beside a backup's temporary file.
_TEMP_NAME = re.compile(r"^\..+" + re.escape(TEMP_MARK) + r"(\d+)-[0-9a-f]+(-journal|-wal|-shm)?$")
PRIVATE = 0o600
_OPEN_FILES = ("/dev/stdout", "/dev/stderr", "/dev/fd/", "/proc/self/fd/")
WRITE_HINT = "check the directory exists, is writable and its disk has room"


FOLDER_MODE = 0o700


def attachments_folder(db_file: str | os.PathLike) -> Path:
    """`shop.db` keeps the files of its mail attachments in `shop.db.attachments/` beside it."""
    path = Path(db_file)
    return path.with_name(path.name + ".attachments")


def attachment_path(folder: Path, sha256: str) -> Path:
    # Two levels, so that a folder never holds more than a few thousand entries.
    return folder / sha256[:2] / sha256


def private_folders(*directories: Path) -> None:
    """Make each folder, outermost first, mode 0700 whatever the umask (or a hand-made folder) gave."""
    for directory in directories:
        directory.mkdir(mode=FOLDER_MODE, exist_ok=True)
        os.chmod(directory, FOLDER_MODE)


def temp_path(target: Path) -> Path:
    """A fresh temporary name next to `target`, unique to this process and this call."""
    return target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")


def write_private_bytes(target: Path, data: bytes) -> None:
    """`data` in full as `target` (mode 0600): written and synced under a temporary name beside
    it, then renamed, so a crash leaves no half file under the final name."""
    temporary = temp_path(target)
    descriptor = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def remove_stale_temps(directory: Path) -> list[Path]:
    """Remove the temporary files of ours in `directory` left by processes that no longer run."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        found = _TEMP_NAME.match(entry.name)
        if found is None or _alive(int(found.group(1))):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass  # another carecli removed it first, or the directory is read-only: not ours to fix
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OverflowError:  # not a pid at all
        return False
    return True


def write_error(path: str | os.PathLike, exc: OSError) -> InvalidInput:
    """An OSError met writing `path`, told about the path the user gave."""
    return InvalidInput(f"cannot write {path}: {exc.strerror or exc}", WRITE_HINT)


class Output:
    """An output opened and checked before anything is written; `commit` puts it in place.

    Open every output before changing anything (an import opens its reject file before its
    transaction), so that a path that cannot be written fails the command while it has done nothing.
    """

    def __init__(self, path: str | os.PathLike, *, newline: str | None = None) -> None:
        self.path = str(path)  # as the user gave it: every message names this
        self._temp: Path | None = None
        self._target: Path | None = None
        self._closes = True
        if self.path == "-":
            self.stream: TextIO = sys.stdout
            self._closes = False
            return
        # A symlink's target is written, not the link; /dev/stdout and /dev/fd/N are the open file
        # itself (which may be the regular file a shell redirected to), so never replaced either.
        target = Path(self.path if self.path.startswith(_OPEN_FILES) else os.path.realpath(self.path))
        try:
            info: os.stat_result | None = os.stat(target)
        except FileNotFoundError:
            info = None
        except OSError as exc:
            raise write_error(self.path, exc) from None
        if info is not None and (
            self.path.startswith(_OPEN_FILES) or stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode)
        ):
            try:  # /dev/null, /dev/stdout, a pipe a reader waits on: written directly, never replaced
                self.stream = open(target, "w", encoding="utf-8", newline=newline)
            except OSError as exc:
                raise write_error(self.path, exc) from None
            return
        if info is not None and not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise InvalidInput(f"cannot write {self.path}: {kind}", "give the path of a file")
        if info is not None and not os.access(target, os.W_OK):
            raise InvalidInput(f"cannot write {self.path}: it is read-only", "give another path, or make it writable")
        # An existing file keeps its mode where it is stricter than 0600, and its owner and group.
        mode = stat.S_IMODE(info.st_mode) & PRIVATE if info is not None else PRIVATE
        remove_stale_temps(target.parent)
        temp = temp_path(target)
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
        except OSError as exc:
            raise write_error(self.path, exc) from None
        self._temp, self._target = temp, target
        try:
            os.fchmod(fd, mode)  # the umask may have taken bits away; never adds any
            if info is not None and (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
                try:
                    os.fchown(fd, info.st_uid, info.st_gid)
                except PermissionError:
                    pass  # not root: the file becomes ours, as any rewrite by us would
            self.stream = os.fdopen(fd, "w", encoding="utf-8", newline=newline)
        except BaseException:
            os.close(fd)
            self.discard()
            raise

    def sync(self) -> None:
        """Everything written so far on disk (a full disk shows here, not later); errors name the user's path."""
        try:
            self.stream.flush()
            if self._temp is not None:
                os.fsync(self.stream.fileno())
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise write_error(self.path, exc) from None

    def commit(self) -> None:
        """Flush everything to disk and put the file in place; errors name the user's path."""
        try:
            self.stream.flush()
            if self._temp is not None:
                os.fsync(self.stream.fileno())
            if self._closes:
                self.stream.close()
            if self._temp is not None and self._target is not None:
                os.replace(self._temp, self._target)
                self._temp = None
        except BrokenPipeError:
            raise
        except OSError as exc:
            self.discard()
            raise write_error(self.path, exc) from None

    def discard(self) -> None:
        """Close without putting anything in place: the target stays as it was."""
        if self._closes:
            try:
                self.stream.close()
            except (OSError, AttributeError):
                pass
        if self._temp is not None:
            try:
                os.unlink(self._temp)
            except FileNotFoundError:
                pass
            self._temp = None


@contextmanager
def atomic_text(path: str | os.PathLike, *, newline: str | None = None) -> Iterator[TextIO]:
    """Write a text output (see `Output`): in place on success; on any error the target stays as it was."""
    output = Output(path, newline=newline)
    with writing(output) as stream:
        yield stream


@contextmanager
def writing(output: Output) -> Iterator[TextIO]:
    """Write an opened `Output` and commit it; a write error names the user's path."""
    try:
        yield output.stream
    except OSError as exc:
        output.discard()
        if isinstance(exc, BrokenPipeError) or exc.errno not in _WRITE_ERRNOS:
            raise
        raise write_error(output.path, exc) from None
    except BaseException:
        output.discard()
        raise
    output.commit()


# What the disk says to a write (as opposed to the OSErrors of whatever else the caller does).
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS}
