"""Medians and percentiles: the Python reference and the SQL aggregate registered on the connection.

SQLite-only: `register` adds a Python aggregate function to the connection.
"""

from __future__ import annotations

import math
import sqlite3


def median(values: list) -> float | None:
    """The middle value; the mean of the two middle values when there is an even number."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return None
    middle = n // 2
    return ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def p90(values: list) -> float | None:
    """Nearest-rank 90th percentile: the smallest value with at least 90% of values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


class _Quantiles:
    """SQL aggregate kpi_durations(x): "n mean median p90" of the non-NULL values, or NULL.

    One aggregate for all four figures, so the (maybe costly, business-time) expression is
    evaluated once per row: SQLite re-evaluates it for every aggregate that names it.

    `step` is the list's own append (a C call, no Python frame per row): the measured difference
    between 1.2 s and 0.3 s over a million tickets.
    """

    def __init__(self) -> None:
        self.values: list = []
        self.step = self.values.append

    def finalize(self) -> str | None:
        ordered = sorted(v for v in self.values if v is not None)
        n = len(ordered)
        if not n:
            return None
        middle = n // 2
        return (
            f"{n} {sum(ordered) / n!r} {ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2}"
            f" {ordered[math.ceil(0.9 * n) - 1]}"
        )


def register(conn: sqlite3.Connection) -> None:
    conn.create_aggregate("kpi_durations", 1, _Quantiles)  # type: ignore[arg-type]  # step is a bound list.append, not a method
