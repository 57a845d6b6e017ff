"""Business-time durations stored on tickets (first_response_bs, first_resolution_bs, resolution_bs).

They are a cache of offset(end) - offset(start) from carecli/business_hours.py, so `kpi
--business-hours` reads stored integers like the wall-clock figures. A trigger (migration m005)
clears a value whenever an instant it depends on changes, whoever writes the ticket; `refresh`
fills the cleared and new values in one SQL statement, and clears and refills all of them when
[business_hours] is no longer what they were computed with (the fingerprint).
"""

from __future__ import annotations

import sqlite3

from carecli.business_hours import BusinessHours, duration_sql, prepare_offsets

# Bump when the arithmetic changes, so stored values are recomputed.
VERSION = 1
COLUMNS = {"first_response_bs": "first_response_at", "first_resolution_bs": "first_closed_at",
           "resolution_bs": "closed_at"}
# The same text as the partial index tickets_business_stale, so SQLite uses that index.
STALE = """(first_response_at IS NOT NULL AND first_response_bs IS NULL)
               OR (first_closed_at IS NOT NULL AND first_resolution_bs IS NULL)
               OR (closed_at IS NOT NULL AND resolution_bs IS NULL)"""


def fingerprint(hours: BusinessHours) -> str:
    zone = getattr(hours.tz, "key", None) or str(hours.tz)
    return (f"v{VERSION} {zone} {sorted(hours.weekdays)} {hours.start:%H:%M:%S}-{hours.end:%H:%M:%S} "
            f"{sorted(d.isoformat() for d in hours.holidays)}")


def refresh(conn: sqlite3.Connection, hours: BusinessHours) -> int:
    """Bring the stored business durations up to date; returns how many tickets were (re)computed.

    Reads only (no write lock) when everything is current, the usual case."""
    from carecli import store
    from carecli.timeparse import from_db

    current = fingerprint(hours)
    stored = conn.execute("SELECT fingerprint FROM business_time").fetchone()
    changed = stored is None or stored[0] != current
    if not changed and conn.execute(f"SELECT 1 FROM tickets WHERE {STALE} LIMIT 1").fetchone() is None:
        return 0
    with store.transaction(conn):
        if changed:
            conn.execute("UPDATE tickets SET first_response_bs = NULL, first_resolution_bs = NULL, resolution_bs = NULL"
                         " WHERE first_response_bs IS NOT NULL OR first_resolution_bs IS NOT NULL"
                         " OR resolution_bs IS NOT NULL")
            conn.execute("INSERT OR REPLACE INTO business_time (id, fingerprint) VALUES (1, ?)", (current,))
        first, *lasts = conn.execute(
            f"SELECT MIN(created_at), MAX(first_response_at), MAX(first_closed_at), MAX(closed_at) FROM tickets "
            f"WHERE {STALE}").fetchone()
        if first is None:
            return 0
        moments = [from_db(text) for text in (first, *lasts) if text]
        prepare_offsets(conn, hours, min(moments), max(moments))
        sets = ", ".join(f"{column} = {duration_sql('created_at', instant)}" for column, instant in COLUMNS.items())
        return conn.execute(f"UPDATE tickets SET {sets} WHERE {STALE}").rowcount
