"""Where should the KPI-only indexes live: on `tickets` (layout A) or on a side table (layout B)?

    python bench/kpi_home.py --db /tmp/kpihome/a.db --work /tmp/kpihome [--runs 5] [--writes 200]

The input database (made by `bench/generate.py`) is never modified. In --work the script makes:

- A.db: a VACUUM INTO copy of the input, today's layout (about 25 indexes on tickets, 15 of them
  only for the KPI engine or its business-time cache: migrations m005 and m006).
- B.db: a copy of A.db with a side table `ticket_kpi` owned by the measurement layer: the ticket
  id (as `id`, the rowid, so the rewrite below stays mechanical) and every ticket column the
  traced KPI statements read or the moved indexes name. The 15 KPI-only indexes move there (same
  column lists, `ticket_kpi_` instead of `tickets_`), as do copies of the other ticket indexes the
  traced statements use (a rewritten statement reads only the side table); the business-time
  trigger and the *_bs columns leave tickets (the cache moves with its indexes; the writer keeps
  it current). Then VACUUM.

Then it measures, alternating A and B at every repetition:

1. The engine's real SQL: `carecli.measure.metrics.compute` runs on A as `carecli kpi` does
   (CARECLI_NOW pinned, Europe/Berlin, the SLA targets of bench/bench_kpi.py) for the last 30 days
   and all time, with and without --by channel, under a trace callback. The traced statements
   (bound values expanded) are replayed verbatim on A and rewritten mechanically for B (`tickets`
   -> `ticket_kpi`, `INDEXED BY tickets_x` -> `INDEXED BY ticket_kpi_x`). Every statement's rows
   must be identical in A and B, else the script stops. Timing: one warm-up, then --runs
   replays per layout, each on a fresh connection (SQLite's page cache cold, the OS page cache
   warm: both files fit in RAM), in one process.
2. Size of each file after VACUUM, with a per-object breakdown from dbstat.
3. Import cost that differs: building the KPI indexes, in A on tickets; in B filling the side
   table from tickets plus building its indexes (one transaction, PRAGMA threads = 4 like the
   importer, WAL checkpoint included). --builds rounds.
4. `ticket reply` write latency: --writes updates of reply_count, updated_at, first_response_at
   and first_response_s on random tickets (the same ones and values in A and B), each its own
   BEGIN IMMEDIATE ... COMMIT in WAL with synchronous = NORMAL like carecli. A: the UPDATE of
   tickets (its indexes and the m005 trigger do the rest). B: the same UPDATE plus an upsert of
   the ticket's side-table row that clears a stale business duration as the trigger did.

Results go to stdout (markdown) and --work/kpi_home.json. Run under `nice`; the load average is
printed before and after. Needs a few GB free in --work (two copies of the database).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path

NOW = "2026-03-14T10:00:00+00:00"
ALL_TIME_SINCE = "2020-01-01"
SLA_CONFIG = (
    '[sla.urgent]\nfirst_response = "1h"\nresolution = "1d"\n[sla.high]\nfirst_response = "4h"\nresolution = "3d"\n'
)
SIDE = "ticket_kpi"
# The KPI engine's own indexes on tickets (m005, m006) and the business-time cache's.
KPI_ONLY = ["tickets_business_stale", "tickets_kpi_channel", "tickets_id_channel"] + [
    f"tickets_{name}_{suffix}_{kind}"
    for name in ("first_response", "resolution", "first_resolution")
    for suffix in ("s", "bs")
    for kind in ("value", "channel")
]
BUSINESS_COLUMNS = ["first_response_bs", "first_resolution_bs", "resolution_bs"]
BUSINESS_TRIGGER = "tickets_business_time_stale"
# What each business duration depends on (the m005 trigger's rule).
BUSINESS_INSTANT = {
    "first_response_bs": "first_response_at",
    "first_resolution_bs": "first_closed_at",
    "resolution_bs": "closed_at",
}
VARIANTS = [
    ("kpi (30 days)", None, None),
    ("kpi (all time)", ALL_TIME_SINCE, None),
    ("kpi --by channel (30 days)", None, "channel"),
    ("kpi --by channel (all time)", ALL_TIME_SINCE, "channel"),
]
TICKETS_WORD = re.compile(r"\btickets\b")
INDEXED_BY = re.compile(r"\bINDEXED BY tickets_(\w+)")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def summary(times: list[float]) -> dict:
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "all": times}


# ---------------------------------------------------------------- the engine's SQL


def settings_and_periods(work: Path):
    """carecli's settings and the four periods, as `carecli kpi` builds them."""
    from carecli.core import config
    from carecli.measure.periods import Period, default_period
    from carecli.text.when import now_utc, parse_when

    os.environ["CARECLI_NOW"] = NOW
    os.environ["CARECLI_TIMEZONE"] = "Europe/Berlin"
    path = work / "kpi_home_sla.toml"
    path.write_text(SLA_CONFIG)
    settings = config.load(path)
    now = now_utc()
    periods = {}
    for label, since, by in VARIANTS:
        period = default_period(now, settings.tz)
        if since:
            start = parse_when(since, now=now, tz=settings.tz, dayfirst=settings["dayfirst"])
            period = Period(start, now)
        periods[label] = (period, by)
    return settings, now, periods


def trace(db: Path, work: Path) -> dict[str, list[str]]:
    """Run the KPI engine on `db` for every variant; the statements it executed, values bound."""
    from carecli.measure import metrics
    from carecli.schema.database import connect

    settings, now, periods = settings_and_periods(work)
    traced = {}
    for label, (period, by) in periods.items():
        conn = connect(db)
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        start = time.perf_counter()
        metrics.compute(conn, settings, period, now=now, by=by)
        elapsed = time.perf_counter() - start
        conn.set_trace_callback(None)
        conn.close()
        traced[label] = statements
        log(f"traced {label}: {len(statements)} statements, engine {elapsed * 1000:.0f} ms")
    return traced


def touches_tickets(sql: str) -> bool:
    return bool(TICKETS_WORD.search(sql))


def rewrite(sql: str) -> str:
    """The statement for layout B: the side table instead of tickets, its indexes by name."""
    sql = INDEXED_BY.sub(rf"INDEXED BY {SIDE}_\1", sql)
    return TICKETS_WORD.sub(SIDE, sql)


def open_for_replay(db: Path) -> sqlite3.Connection:
    # The engine's one Python aggregate (kpi_durations), registered as the engine does.
    from carecli.measure.aggregates import register

    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    register(conn)
    return conn


def replay(db: Path, statements: list[str]) -> tuple[float, float, list]:
    """(total seconds, seconds in statements reading tickets / the side table, rows per statement)."""
    conn = open_for_replay(db)
    results, ticket_time = [], 0.0
    start = time.perf_counter()
    for sql in statements:
        one = time.perf_counter()
        rows = conn.execute(sql).fetchall()
        if touches_tickets(sql) or SIDE in sql:
            ticket_time += time.perf_counter() - one
        results.append(rows)
    total = time.perf_counter() - start
    conn.close()
    return total, ticket_time, results


# ---------------------------------------------------------------- the two layouts


def index_sql(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    return dict(
        conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
        ).fetchall()
    )


def used_ticket_indexes(db: Path, traced: dict[str, list[str]]) -> set[str]:
    """Ticket indexes the query plans of the traced statements use."""
    conn = open_for_replay(db)
    names = set(index_sql(conn, "tickets"))
    used: set[str] = set()
    for statements in traced.values():
        for sql in statements:
            if not touches_tickets(sql) or not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            for row in conn.execute("EXPLAIN QUERY PLAN " + sql):
                used |= {name for name in re.findall(r"INDEX (\w+)", row[3]) if name in names}
    conn.close()
    return used


def side_columns(conn: sqlite3.Connection, traced: dict[str, list[str]], moved_sql: list[str]) -> list[str]:
    """Ticket columns the traced statements on tickets name, plus those of the moved indexes, in table order."""
    columns = [row[1] for row in conn.execute("PRAGMA table_info(tickets)")]
    text = "\n".join(sql for statements in traced.values() for sql in statements if touches_tickets(sql))
    text += "\n".join(moved_sql)
    wanted = [c for c in columns if c == "id" or re.search(rf"\b{c}\b", text)]
    return wanted


def side_index_sql(name: str, sql: str) -> str:
    """The CREATE INDEX of a ticket index, for the side table."""
    new = name.replace("tickets_", f"{SIDE}_", 1)
    sql = sql.replace(f"INDEX {name} ", f"INDEX {new} ", 1)
    return re.sub(r"\bON tickets\s*\(", f"ON {SIDE}(", sql, count=1)


def fill_sql(columns: list[str], source_columns: set[str]) -> str:
    values = ", ".join(c if c in source_columns else f"NULL AS {c}" for c in columns)
    return f"INSERT INTO {SIDE} ({', '.join(columns)}) SELECT {values} FROM tickets"


def make_a(source: Path, work: Path) -> None:
    """A.db: a VACUUM INTO copy of the input, opened once by carecli (WAL, any due migration)."""
    from carecli.schema.database import connect

    a = work / "A.db"
    if a.exists():
        return
    log(f"VACUUM INTO {a} ...")
    conn = sqlite3.connect(source)
    conn.execute("VACUUM INTO ?", (str(a),))
    conn.close()
    connect(a).close()


def make_b(work: Path, traced: dict[str, list[str]]) -> None:
    """B.db: A.db with the side table, its indexes, the KPI-only ones gone from tickets; VACUUM."""
    a, b = work / "A.db", work / "B.db"
    if b.exists():
        return
    used = used_ticket_indexes(a, traced)
    log(f"ticket indexes the traced plans use: {sorted(used)}")
    tmp = work / "B.db.building"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(a)
    conn.execute("PRAGMA main.wal_checkpoint(TRUNCATE)")
    conn.close()
    shutil.copyfile(a, tmp)
    conn = sqlite3.connect(tmp, isolation_level=None)
    ticket_indexes = index_sql(conn, "tickets")
    moved = [n for n in KPI_ONLY if n in ticket_indexes]
    copied = sorted(n for n in used if n not in KPI_ONLY)
    columns = side_columns(conn, traced, [ticket_indexes[n] for n in moved])
    types = {row[1]: row[2] for row in conn.execute("PRAGMA table_info(tickets)")}
    definition = ", ".join(
        "id INTEGER PRIMARY KEY REFERENCES tickets(id)" if c == "id" else f"{c} {types[c]}" for c in columns
    )
    plan = {"moved": moved, "copied": copied, "columns": columns}
    log(f"side table: {plan}")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(f"CREATE TABLE {SIDE} ({definition})")
    conn.execute(fill_sql(columns, set(types)))
    for name in moved + copied:
        conn.execute(side_index_sql(name, ticket_indexes[name]))
    for name in moved:
        conn.execute(f"DROP INDEX {name}")
    conn.execute(f"DROP TRIGGER IF EXISTS {BUSINESS_TRIGGER}")
    conn.execute("COMMIT")
    for column in BUSINESS_COLUMNS:
        conn.execute(f"ALTER TABLE tickets DROP COLUMN {column}")
    log("VACUUM B ...")
    conn.execute("VACUUM")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    (work / "kpi_home_layout.json").write_text(json.dumps(plan, indent=2))
    tmp.rename(b)


# ---------------------------------------------------------------- measurements


def compare(work: Path, traced: dict[str, list[str]]) -> dict[str, int]:
    """Every statement's rows, A (verbatim) against B (rewritten); stops at the first difference."""
    checked = {}
    for label, statements in traced.items():
        _, _, rows_a = replay(work / "A.db", statements)
        _, _, rows_b = replay(work / "B.db", [rewrite(s) for s in statements])
        for sql, ra, rb in zip(statements, rows_a, rows_b):
            if ra != rb:
                sys.exit(f"error: {label}: results differ for\n{sql}\nA: {ra[:5]}\nB: {rb[:5]}")
        checked[label] = sum(1 for s in statements if touches_tickets(s))
        log(f"identical: {label} ({len(statements)} statements, {checked[label]} on tickets)")
    return checked


def time_queries(work: Path, traced: dict[str, list[str]], runs: int) -> dict:
    out = {}
    for label, statements in traced.items():
        sets = {"A": statements, "B": [rewrite(s) for s in statements]}
        times: dict[str, list[float]] = {"A": [], "B": []}
        ticket_times: dict[str, list[float]] = {"A": [], "B": []}
        for run in range(runs + 1):
            order = ("A", "B") if run % 2 == 0 else ("B", "A")
            for layout in order:
                total, on_tickets, _ = replay(work / f"{layout}.db", sets[layout])
                if run:  # run 0 is the warm-up
                    times[layout].append(total)
                    ticket_times[layout].append(on_tickets)
        out[label] = {
            layout: {"total": summary(times[layout]), "ticket_statements": summary(ticket_times[layout])}
            for layout in ("A", "B")
        }
        log(
            f"{label}: A {out[label]['A']['total']['median'] * 1000:.0f} ms, "
            f"B {out[label]['B']['total']['median'] * 1000:.0f} ms"
        )
    return out


def sizes(work: Path) -> dict:
    out = {}
    for layout in ("A", "B"):
        path = work / f"{layout}.db"
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA main.wal_checkpoint(TRUNCATE)")
        objects = dict(conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
        ticket_index_names = set(index_sql(conn, "tickets")) | {"sqlite_autoindex_tickets_1"}
        side_index_names = set(index_sql(conn, SIDE)) if layout == "B" else set()
        out[layout] = {
            "file": path.stat().st_size,
            "tickets_table": objects.get("tickets", 0),
            "tickets_indexes": sum(v for k, v in objects.items() if k in ticket_index_names),
            "tickets_index_count": len(ticket_index_names),
            "kpi_indexes_on_tickets": sum(v for k, v in objects.items() if k in KPI_ONLY),
            "side_table": objects.get(SIDE, 0),
            "side_indexes": sum(v for k, v in objects.items() if k in side_index_names),
            "side_index_count": len(side_index_names),
            "objects": {k: v for k, v in objects.items() if k in ticket_index_names | side_index_names | {SIDE}},
        }
        conn.close()
    return out


def build_a(conn: sqlite3.Connection, definitions: dict[str, str]) -> float:
    conn.execute("BEGIN IMMEDIATE")
    for name in definitions:
        conn.execute(f"DROP INDEX {name}")
    conn.execute("COMMIT")
    conn.execute("PRAGMA main.wal_checkpoint(TRUNCATE)")
    start = time.perf_counter()
    conn.execute("PRAGMA threads = 4")
    conn.execute("BEGIN IMMEDIATE")
    for sql in definitions.values():
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("PRAGMA main.wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - start


def build_b(conn: sqlite3.Connection, table_sql: str, fill: str, definitions: dict[str, str]) -> float:
    conn.execute(f"DROP TABLE {SIDE}")
    conn.execute("PRAGMA main.wal_checkpoint(TRUNCATE)")
    start = time.perf_counter()
    conn.execute("PRAGMA threads = 4")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(table_sql)
    conn.execute(fill)
    for sql in definitions.values():
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("PRAGMA main.wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - start


def time_builds(work: Path, rounds: int) -> dict:
    """Rebuild the KPI indexes (A) or the side table and its indexes (B), alternating."""
    conn_a = sqlite3.connect(work / "A.db", isolation_level=None)
    conn_b = sqlite3.connect(work / "B.db", isolation_level=None)
    kpi_a = {n: s for n, s in index_sql(conn_a, "tickets").items() if n in KPI_ONLY}
    side_defs = index_sql(conn_b, SIDE)
    table_sql = conn_b.execute("SELECT sql FROM sqlite_master WHERE name = ?", (SIDE,)).fetchone()[0]
    columns = [row[1] for row in conn_b.execute(f"PRAGMA table_info({SIDE})")]
    ticket_columns = {row[1] for row in conn_b.execute("PRAGMA table_info(tickets)")}
    fill = fill_sql(columns, ticket_columns)
    times: dict[str, list[float]] = {"A": [], "B": []}
    for run in range(rounds):
        for layout in ("A", "B") if run % 2 == 0 else ("B", "A"):
            if layout == "A":
                times["A"].append(build_a(conn_a, kpi_a))
            else:
                times["B"].append(build_b(conn_b, table_sql, fill, side_defs))
            log(f"build {layout}: {times[layout][-1]:.1f} s")
    conn_a.close()
    conn_b.close()
    return {
        "A": {**summary(times["A"]), "indexes": len(kpi_a)},
        "B": {**summary(times["B"]), "indexes": len(side_defs)},
    }


def upsert_sql(columns: list[str], ticket_columns: set[str]) -> str:
    """The writer's side-table upsert in B: the ticket's row, clearing a stale business duration."""
    values = ", ".join(c if c in ticket_columns else "NULL" for c in columns)
    sets = []
    for c in columns:
        if c == "id":
            continue
        if c in BUSINESS_INSTANT:
            sets.append(
                f"{c} = CASE WHEN excluded.created_at IS {SIDE}.created_at "
                f"AND excluded.{BUSINESS_INSTANT[c]} IS {SIDE}.{BUSINESS_INSTANT[c]} THEN {SIDE}.{c} END"
            )
        else:
            sets.append(f"{c} = excluded.{c}")
    return (
        f"INSERT INTO {SIDE} ({', '.join(columns)}) SELECT {values} FROM tickets WHERE id = ? "
        f"ON CONFLICT(id) DO UPDATE SET {', '.join(sets)}"
    )


def time_writes(work: Path, count: int, seed: int) -> dict:
    conns = {}
    for layout in ("A", "B"):
        conn = sqlite3.connect(work / f"{layout}.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conns[layout] = conn
    low, high = conns["A"].execute("SELECT MIN(id), MAX(id) FROM tickets").fetchone()
    rng = random.Random(seed)
    from datetime import datetime, timedelta

    jobs = []
    for _ in range(count):
        ticket_id = rng.randint(low, high)
        created, replies = (
            conns["A"].execute("SELECT created_at, reply_count FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        )
        seconds = rng.randint(60, 86400)
        first = (datetime.fromisoformat(created) + timedelta(seconds=seconds)).isoformat()
        jobs.append((replies + 1, NOW, first, seconds, ticket_id))
    update = (
        "UPDATE tickets SET reply_count = ?, updated_at = ?, first_response_at = ?, first_response_s = ? WHERE id = ?"
    )
    columns = [row[1] for row in conns["B"].execute(f"PRAGMA table_info({SIDE})")]
    upsert = upsert_sql(columns, {row[1] for row in conns["B"].execute("PRAGMA table_info(tickets)")})
    times: dict[str, list[float]] = {"A": [], "B": []}
    chunk = 20
    for i in range(0, count, chunk):
        for layout in ("A", "B") if (i // chunk) % 2 == 0 else ("B", "A"):
            conn = conns[layout]
            for job in jobs[i : i + chunk]:
                start = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(update, job)
                if layout == "B":
                    conn.execute(upsert, (job[-1],))
                conn.execute("COMMIT")
                times[layout].append(time.perf_counter() - start)
    # The same tickets and values were written to both: the side table must match tickets in A.
    probe = ", ".join(f"t.{c}" for c in ("reply_count", "first_response_at", "first_response_s", "first_response_bs"))
    ids = ",".join(str(job[-1]) for job in jobs)
    in_a = conns["A"].execute(f"SELECT t.id, {probe} FROM tickets t WHERE t.id IN ({ids}) ORDER BY 1").fetchall()
    in_b = conns["B"].execute(f"SELECT t.id, {probe} FROM {SIDE} t WHERE t.id IN ({ids}) ORDER BY 1").fetchall()
    for conn in conns.values():
        conn.close()
    if in_a != in_b:
        sys.exit("error: after the writes, B's side table differs from A's tickets")
    return {layout: summary(times[layout]) for layout in ("A", "B")}


# ---------------------------------------------------------------- report


def ms(block: dict) -> str:
    return f"{block['median'] * 1000:,.1f} ({block['min'] * 1000:,.1f}–{block['max'] * 1000:,.1f})"


def mb(size: int) -> str:
    return f"{size / 1e6:,.0f}"


def report(results: dict) -> str:
    lines = [
        "| figure | A: indexes on tickets | B: side table | B / A |",
        "|---|---:|---:|---:|",
    ]
    for label, both in results["queries"].items():
        a, b = both["A"]["total"], both["B"]["total"]
        lines.append(f"| {label}, ms | {ms(a)} | {ms(b)} | {b['median'] / a['median']:.2f} |")
    for label, both in results["queries"].items():
        a, b = both["A"]["ticket_statements"], both["B"]["ticket_statements"]
        lines.append(
            f"| … of which statements on tickets, {label}, ms | {ms(a)} | {ms(b)} | {b['median'] / a['median']:.2f} |"
        )
    builds = results["builds"]
    lines.append(
        f"| build KPI indexes (A: {builds['A']['indexes']} on tickets; B: fill side table + "
        f"{builds['B']['indexes']} indexes), s | {builds['A']['median']:.1f} ({builds['A']['min']:.1f}–{builds['A']['max']:.1f}) "
        f"| {builds['B']['median']:.1f} ({builds['B']['min']:.1f}–{builds['B']['max']:.1f}) "
        f"| {builds['B']['median'] / builds['A']['median']:.2f} |"
    )
    s = results["sizes"]
    lines.append(
        f"| file size after VACUUM, MB | {mb(s['A']['file'])} | {mb(s['B']['file'])} | {s['B']['file'] / s['A']['file']:.3f} |"
    )
    lines.append(f"| … tickets table, MB | {mb(s['A']['tickets_table'])} | {mb(s['B']['tickets_table'])} | |")
    lines.append(
        f"| … tickets indexes, MB (count) | {mb(s['A']['tickets_indexes'])} ({s['A']['tickets_index_count']}) "
        f"| {mb(s['B']['tickets_indexes'])} ({s['B']['tickets_index_count']}) | |"
    )
    lines.append(
        f"| … side table + its indexes, MB (count) | – | {mb(s['B']['side_table'])} + {mb(s['B']['side_indexes'])} "
        f"({s['B']['side_index_count']}) | |"
    )
    copies = [f"{SIDE}_" + n.removeprefix("tickets_") for n in results["layout"]["copied"]]
    copied_size = sum(s["B"]["objects"].get(n, 0) for n in copies)
    lines.append(f"| … of which copies of shared ticket indexes ({len(copies)}), MB | – | {mb(copied_size)} | |")
    w = results["writes"]
    lines.append(
        f"| ticket reply write ({results['write_count']} random tickets), ms per write | {ms(w['A'])} | {ms(w['B'])} "
        f"| {w['B']['median'] / w['A']['median']:.2f} |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path, help="a database made by bench/generate.py (not modified)")
    parser.add_argument("--work", required=True, type=Path, help="directory for A.db, B.db and the results")
    parser.add_argument("--runs", type=int, default=5, help="timed replays per layout and variant (after a warm-up)")
    parser.add_argument("--builds", type=int, default=3, help="index build rounds per layout")
    parser.add_argument("--writes", type=int, default=200, help="ticket updates per layout")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fresh", action="store_true", help="rebuild A.db and B.db even if they exist")
    args = parser.parse_args()
    if not args.db.exists():
        sys.exit(f"error: no database at {args.db}; make one with bench/generate.py")
    args.work.mkdir(parents=True, exist_ok=True)
    if args.fresh:
        for name in ("A.db", "B.db"):
            for suffix in ("", "-wal", "-shm"):
                Path(args.work / f"{name}{suffix}").unlink(missing_ok=True)
    results: dict = {"load_before": load_average(), "sqlite": sqlite3.sqlite_version, "python": sys.version.split()[0]}
    log(f"load average before: {results['load_before']}")
    make_a(args.db, args.work)
    traced = trace(args.work / "A.db", args.work)
    (args.work / "kpi_home_traced.json").write_text(json.dumps(traced, indent=1))
    make_b(args.work, traced)
    results["layout"] = json.loads((args.work / "kpi_home_layout.json").read_text())
    results["identical_statements_on_tickets"] = compare(args.work, traced)
    results["sizes"] = sizes(args.work)
    results["queries"] = time_queries(args.work, traced, args.runs)
    results["builds"] = time_builds(args.work, args.builds)
    results["write_count"] = args.writes
    results["writes"] = time_writes(args.work, args.writes, args.seed)
    results["load_after"] = load_average()
    (args.work / "kpi_home.json").write_text(json.dumps(results, indent=2))
    print(report(results))
    print(
        f"\nload average before {results['load_before']}, after {results['load_after']}; SQLite {sqlite3.sqlite_version}"
    )


if __name__ == "__main__":
    main()
