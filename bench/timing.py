"""Small timing helpers the in-process benchmark scripts share (run them as `python bench/NAME.py`)."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def timed_ms(fn: Callable[[], object], runs: int) -> list[float]:
    """Wall time of each of `runs` calls of `fn`, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def table_row(name: str, times: list[float], digits: int = 1) -> str:
    """A markdown row: name, median, min, max."""
    return f"| {name} | {statistics.median(times):.{digits}f} | {min(times):.{digits}f} | {max(times):.{digits}f} |"
