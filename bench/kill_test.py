"""Kill carecli with SIGKILL in the middle of export, import, backup and migrate, then check that
nothing is half-written and that the next run completes (issue 12's closing figures).

    python bench/kill_test.py [--tickets 20000] [--kills 10]

Each kill lands at a random moment within the operation's own measured duration. After each:
- export: the output file is absent or whole (as many lines as a finished export), and the next
  export into the same folder leaves no temporary file behind;
- import: the tickets are all there or none (no half import), and the next run completes it;
  a run after that adds nothing;
- backup: the backup is absent or passes `PRAGMA integrity_check` with every ticket, and the next
  backup into the same folder leaves no temporary file behind;
- migrate (an m001 database): the schema is the old one or the new one, `db migrate` then
  completes and every row of the old database is there.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CARECLI = Path(sys.executable).parent / "carecli"
FIXTURE = ROOT / "tests" / "fixtures" / "schema-m001.db"


def run(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(CARECLI), *args], capture_output=True, text=True, env=env, timeout=600)


def timed(*args: str, env: dict) -> float:
    started = time.monotonic()
    result = run(*args, env=env)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)}: {result.stderr}")
    return time.monotonic() - started


def killed(args: list[str], env: dict, after: float) -> int | None:
    """Run carecli, SIGKILL it `after` seconds in; its exit code when it finished first."""
    process = subprocess.Popen([str(CARECLI), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    time.sleep(after)
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return None
    return process.returncode


def count(db: Path, table: str = "tickets") -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".carecli-tmp-" in p.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--kills", type=int, default=10)
    options = parser.parse_args()
    rng = random.Random(12)
    work = Path(tempfile.mkdtemp(prefix="cc-kill-"))
    db = work / "shop.db"
    env = {**os.environ, "CARECLI_DB": str(db), "CARECLI_NOW": "2026-11-30T10:00:00+00:00"}
    env.pop("CARECLI_CONFIG", None)
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "generate.py"), "--tickets", str(options.tickets), "--db", str(db)],
        check=True,
        capture_output=True,
    )
    results = []

    # export
    out = work / "out"
    out.mkdir()
    took = timed("export", "tickets", "--raw", "--output", str(out / "full.csv"), env=env)
    whole = len((out / "full.csv").read_text().splitlines())
    bad = 0
    for _ in range(options.kills):
        target = out / "tickets.csv"
        target.unlink(missing_ok=True)
        killed(["export", "tickets", "--output", str(target)], env, rng.uniform(0.05, took))
        if target.exists() and len(target.read_text().splitlines()) != whole:
            bad += 1
        timed("export", "tickets", "--output", str(out / "again.csv"), env=env)
        bad += bool(leftovers(out))
    results.append(("export tickets --output", took, options.kills, bad))

    # import (into a copy without the tickets, from the database's own export)
    source = work / "tickets.csv"
    shutil.copy(out / "full.csv", source)
    bad = 0
    target_db = work / "target.db"
    target_env = {**env, "CARECLI_DB": str(target_db)}
    took = 0.0
    for number in range(options.kills + 1):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target_db}{suffix}").unlink(missing_ok=True)
        run("init", env=target_env)
        if number == 0:
            took = timed("import", "tickets", str(source), "--preset", "carecli", env=target_env)
            continue
        killed(["import", "tickets", str(source), "--preset", "carecli"], target_env, rng.uniform(0.05, took))
        if count(target_db) not in (0, options.tickets):
            bad += 1
        timed("import", "tickets", str(source), "--preset", "carecli", env=target_env)
        timed("import", "tickets", str(source), "--preset", "carecli", env=target_env)  # all known: adds nothing
        bad += count(target_db) != options.tickets
    results.append(("import tickets (carecli preset)", took, options.kills, bad))

    # backup
    took = timed("db", "backup", str(work / "first-backup.db"), env=env)
    bad = 0
    for _ in range(options.kills):
        backup = work / "backup.db"
        backup.unlink(missing_ok=True)
        killed(["db", "backup", str(backup)], env, rng.uniform(0.01, took))
        if backup.exists():
            conn = sqlite3.connect(backup)
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            ok = ok and conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == options.tickets
            conn.close()
            bad += not ok
        (work / "again-backup.db").unlink(missing_ok=True)
        timed("db", "backup", str(work / "again-backup.db"), env=env)
        bad += bool(leftovers(work))  # the next backup removed the killed one's temporary file
    results.append(("db backup", took, options.kills, bad))

    # migrate
    old_rows = count(FIXTURE)
    bad = 0
    took = 0.0
    for number in range(options.kills + 1):
        old = work / f"old-{number}.db"
        shutil.copy(FIXTURE, old)
        old_env = {**env, "CARECLI_DB": str(old)}
        if number == 0:
            took = timed("db", "migrate", env=old_env)
            continue
        killed(["db", "migrate"], old_env, rng.uniform(0.01, took))
        timed("db", "migrate", env=old_env)
        check = run("db", "check", env=old_env)
        bad += check.returncode != 0 or count(old) != old_rows
    results.append(("db migrate (m001 database)", took, options.kills, bad))

    print(f"{options.tickets} tickets; SIGKILL at a random moment within each run's own duration")
    print(f"{'operation':34} {'one run':>8} {'kills':>6} {'bad':>4}")
    for name, seconds, kills, failures in results:
        print(f"{name:34} {seconds:7.2f}s {kills:6} {failures:4}")
    shutil.rmtree(work)
    if any(r[3] for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
