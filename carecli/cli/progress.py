"""A progress bar on stderr for long exports and imports, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
import time

from carecli.cli.output import is_terminal

WIDTH = 30
EVERY_S = 0.2


class Progress:
    """`advance(n)` as work is done; `done()` clears the line. Silent off a terminal."""

    def __init__(self, label: str, total: int | None, *, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.active = is_terminal(self.stream)
        self.label, self.total, self.count = label, total, 0
        self._shown_at = 0.0

    def advance(self, n: int) -> None:
        self.count += n
        if not self.active:
            return
        now = time.monotonic()
        if now - self._shown_at < EVERY_S:
            return
        self._shown_at = now
        if self.total:
            share = min(self.count / self.total, 1.0)
            bar = "#" * int(share * WIDTH)
            text = f"{self.label} [{bar.ljust(WIDTH)}] {share:4.0%} {self.count:,}/{self.total:,}"
        else:
            text = f"{self.label} {self.count:,}"
        self.stream.write("\r" + text)
        self.stream.flush()

    def stage(self, text: str) -> None:
        """Say what a long step after the rows is doing (e.g. rebuilding indexes), at once."""
        if not self.active:
            return
        self._shown_at = time.monotonic()
        self.stream.write(f"\r\033[K{self.label}: {text}")
        self.stream.flush()

    def done(self) -> None:
        if self.active and self._shown_at:
            self.stream.write("\r\033[K")
            self.stream.flush()
