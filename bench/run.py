"""Run the benchmark scenarios as whole processes and write bench/RESULTS.md.

    python bench/run.py [--tickets 1000000] [--runs 5] [--db PATH] [--only NAME]

Run it with the interpreter of the environment carecli is installed in: the `carecli` next to
sys.executable is what gets timed. Each scenario runs --runs times (after one warm-up run) next to
its floor (the same work done by `python -c pass`, the sqlite3 shell, ...), the two taking turns in the same
run. A scenario whose carecli command does not exist yet is skipped with a note. The big database
is made by bench/generate.py (kept in bench/data/ for the next run) unless --db names one.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
END = "2026-03-14T10:00:00+00:00"  # bench/generate.py's default end: "now" for every scenario
PYTHON = sys.executable
CARECLI = str(Path(PYTHON).parent / "carecli")

# Hand-written SQL floors, for the sqlite3 shell.
SQL_KPI_30D = """
SELECT count(*) FILTER (WHERE created_at >= '2026-02-12T10:00:00+00:00'),
       avg(first_response_s) FILTER (WHERE first_response_at >= '2026-02-12T10:00:00+00:00'),
       avg(resolution_s) FILTER (WHERE closed_at >= '2026-02-12T10:00:00+00:00')
FROM tickets WHERE created_at >= '2026-01-01' OR closed_at >= '2026-02-12T10:00:00+00:00';
SELECT count(*), avg(score) FROM surveys WHERE kind = 'csat' AND at >= '2026-02-12T10:00:00+00:00';
"""
SQL_KPI_ALL = """
SELECT count(*), avg(first_response_s), avg(resolution_s), sum(reopen_count > 0) FROM tickets;
SELECT kind, count(*), avg(score) FROM surveys GROUP BY kind;
"""
SQL_KPI_BY_CHANNEL = (
    "SELECT channel, count(*), avg(first_response_s), avg(resolution_s) FROM tickets {where} GROUP BY channel;"
)
SQL_EXPORT = (
    "SELECT t.*, c.name, c.email FROM tickets t JOIN customers c ON c.id = t.customer_id {where} ORDER BY t.id;"
)
SINCE_100K = "2025-12-04T10:00:00+00:00"  # about 100,000 of 1,000,000 tickets over three years


@dataclass
class Scenario:
    """One row of the table. argv/floor use {carecli} {python} {db} {csv} {task} placeholders."""

    name: str
    argv: list[str]
    floor: list[str] | None
    target: str  # "8x" (of the floor), "300ms", "1.5s", "100MB"; comma-separated; "" = for reference
    db: str = "big"  # "big": the generated database; "empty": a fresh initialised one; "fresh": new per run
    env: dict[str, str] = field(default_factory=dict)
    note: str = ""


COMPLETE_TIC = {"_CARECLI_COMPLETE": "complete_bash", "COMP_WORDS": "carecli tic", "COMP_CWORD": "1"}

SCENARIOS = [
    # start-up, on an empty database
    Scenario(
        "start-up: python -c pass",
        ["{python}", "-c", "pass"],
        None,
        "",
        db="empty",
        note="the interpreter carecli runs on",
    ),
    Scenario(
        "start-up: python3 -c pass (PATH)",
        ["python3", "-c", "pass"],
        None,
        "",
        db="empty",
        note="whatever python3 is on PATH (a pyenv shim adds a shell script)",
    ),
    Scenario("start-up: carecli --help", ["{carecli}", "--help"], ["{python}", "-c", "pass"], "12x", db="empty"),
    Scenario(
        "start-up: carecli ticket list --format csv",
        ["{carecli}", "ticket", "list", "--format", "csv"],
        ["{python}", "-c", "pass"],
        "8x",
        db="empty",
    ),
    Scenario(
        "start-up: Tab completion 'carecli tic'",
        ["{carecli}"],
        ["{python}", "-c", "pass"],
        "8x",
        db="empty",
        env=COMPLETE_TIC,
    ),
    Scenario(
        "start-up: task next (Taskwarrior)",
        ["{task}", "next"],
        ["{python}", "-c", "pass"],
        "",
        db="empty",
        note="reference: another CLI people run all day",
    ),
    # on the big database
    Scenario("ticket list", ["{carecli}", "ticket", "list"], None, "300ms"),
    Scenario(
        "ticket list --format csv --limit 0",
        ["{carecli}", "ticket", "list", "--format", "csv", "--limit", "0"],
        None,
        "",
        note="every open and pending ticket (about 1.2% of all)",
    ),
    Scenario(
        "customer list --format csv",
        ["{carecli}", "customer", "list", "--format", "csv"],
        None,
        "",
        note="every customer with open tickets and last contact",
    ),
    Scenario("today", ["{carecli}", "today"], None, "300ms"),
    Scenario("followup list --overdue", ["{carecli}", "followup", "list", "--overdue"], None, "300ms"),
    Scenario("kpi (30 days)", ["{carecli}", "kpi"], ["sqlite3", "{db}", SQL_KPI_30D], "300ms"),
    Scenario("kpi (all time)", ["{carecli}", "kpi", "--since", "2000-01-01"], ["sqlite3", "{db}", SQL_KPI_ALL], "1.5s"),
    Scenario(
        "kpi --business-hours (30 days)",
        ["{carecli}", "kpi", "--business-hours"],
        ["sqlite3", "{db}", SQL_KPI_30D],
        "300ms",
    ),
    Scenario(
        "kpi --business-hours (all time)",
        ["{carecli}", "kpi", "--business-hours", "--since", "2000-01-01"],
        ["sqlite3", "{db}", SQL_KPI_ALL],
        "1.5s",
    ),
    Scenario(
        "kpi --by channel (30 days)",
        ["{carecli}", "kpi", "--by", "channel"],
        ["sqlite3", "{db}", SQL_KPI_BY_CHANNEL.format(where="WHERE created_at >= '2026-02-12T10:00:00+00:00'")],
        "300ms",
    ),
    Scenario(
        "kpi --by channel (all time)",
        ["{carecli}", "kpi", "--by", "channel", "--since", "2000-01-01"],
        ["sqlite3", "{db}", SQL_KPI_BY_CHANNEL.format(where="")],
        "1.5s",
    ),
    Scenario(
        "export tickets --format csv (100k rows)",
        ["{carecli}", "export", "tickets", "--format", "csv", "--since", SINCE_100K],
        ["sqlite3", "-csv", "-header", "{db}", SQL_EXPORT.format(where=f"WHERE t.created_at >= '{SINCE_100K}'")],
        "2x",
    ),
    Scenario(
        "export tickets --format csv (all rows)",
        ["{carecli}", "export", "tickets", "--format", "csv"],
        ["sqlite3", "-csv", "-header", "{db}", SQL_EXPORT.format(where="")],
        "2x",
    ),
    Scenario("report daily (cron: absolute path, --db)", ["{carecli}", "--db", "{db}", "report", "daily"], None, "1s"),
    Scenario(
        "import tickets (all rows)",
        ["{carecli}", "import", "tickets", "{csv}", "--preset", "carecli"],
        ["sqlite3", "{db}", "-cmd", ".mode csv", ".import {csv} tickets_import"],
        "10s,100MB",
        db="fresh",
        note="the CSV is `carecli export tickets --raw` of the big database",
    ),
    Scenario("search (one word)", ["{carecli}", "search", "wilted"], None, "200ms"),
]


@dataclass
class Measure:
    seconds: list[float]
    peak_mb: float
    error: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def spread(self) -> str:
        return f"{min(self.seconds) * 1000:,.0f}–{max(self.seconds) * 1000:,.0f}"


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Seconds, peak RSS in MB, exit code and first stderr line of one whole-process run."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage, unlike RUSAGE_CHILDREN
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        first_line = (err.read().decode(errors="replace").strip().splitlines() or [""])[0]
    return elapsed, usage.ru_maxrss / 1024, process.returncode, first_line


def measure(commands: list[list[str]], env: dict[str, str], runs: int, prepare=None) -> list[Measure]:
    """Time each command `runs` times, taking turns, so a busy moment on the machine hits all alike."""
    results = [Measure([], 0.0) for _ in commands]
    for number in range(runs + 1):  # the first round warms the page cache and is not counted
        for command, result in zip(commands, results):
            if result.error:
                continue
            if prepare:
                prepare()
            elapsed, rss, code, first_line = run_once(command, env)
            if code != 0:
                result.error = f"exit {code}: {first_line}"
                result.seconds = result.seconds or [elapsed]
            elif number:
                result.seconds.append(elapsed)
                result.peak_mb = max(result.peak_mb, rss)
    return results


def command_exists(argv: list[str], env: dict[str, str]) -> bool:
    """`carecli <group> <command> --help` exits 0 only when the command exists."""
    words = []
    for word in argv[1:]:
        if word.startswith("-") or "/" in word or len(words) == 2:
            break
        words.append(word)
    return (
        subprocess.run(
            [argv[0], *words, "--help"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        ).returncode
        == 0
    )


def check(target: str, result: Measure, floor: Measure | None) -> str:
    if not target:
        return ""
    verdicts = []
    for part in target.split(","):
        part = part.strip()
        if part.endswith("x"):
            ok = floor is not None and not floor.error and result.median <= float(part[:-1]) * floor.median
        elif part.endswith("MB"):
            ok = result.peak_mb <= float(part[:-2])
        elif part.endswith("ms"):
            ok = result.median <= float(part[:-2]) / 1000
        else:
            ok = result.median <= float(part.rstrip("s"))
        verdicts.append(ok)
    return "yes" if all(verdicts) else "**no**"


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    shell = (
        subprocess.run(["sqlite3", "--version"], capture_output=True, text=True).stdout.split()[:1]
        if shutil.which("sqlite3")
        else ["not installed"]
    )
    version = subprocess.run([CARECLI, "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(
        ["git", "-C", str(BENCH), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_version()} ({PYTHON})",
        "SQLite": f"{sqlite3.sqlite_version} (Python module), {' '.join(shell)} (sqlite3 shell)",
        "carecli": f"{version} at commit {commit or '?'}",
        "Date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def compile_package() -> None:
    """Make sure carecli's bytecode is cached, as a regular install would (an editable install may not be)."""
    import carecli

    subprocess.run([PYTHON, "-m", "compileall", "-q", str(Path(carecli.__file__).parent)], check=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000, help="size of the generated database")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per scenario (after one warm-up)")
    parser.add_argument("--db", help="use this generated database instead of bench/data/care-<tickets>.db")
    parser.add_argument("--only", help="run only scenarios whose name contains this text")
    parser.add_argument("--output", default=str(BENCH / "RESULTS.md"), help="where to write the markdown table")
    args = parser.parse_args(argv)
    if not Path(CARECLI).exists():
        sys.exit(f"error: no carecli next to {PYTHON}; run this with the Python carecli is installed in")
    compile_package()

    work = Path(tempfile.mkdtemp(prefix="carecli-bench-"))
    big = Path(args.db) if args.db else BENCH / "data" / f"care-{args.tickets}.db"
    scenarios = [s for s in SCENARIOS if not args.only or args.only in s.name]
    if not args.db and not big.exists() and any(s.db != "empty" for s in scenarios):
        big.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {big} ...", file=sys.stderr)
        subprocess.run(
            [PYTHON, str(BENCH / "generate.py"), "--tickets", str(args.tickets), "--db", str(big)],
            check=True,
            env=_env(work, big),
        )
    empty = work / "empty.db"
    subprocess.run([CARECLI, "init"], env=_env(work, empty), check=True, capture_output=True)
    task_env = _taskwarrior(work)
    csv_file = work / "tickets.csv"

    rows = []
    for scenario in scenarios:
        db = {"empty": empty, "big": big, "fresh": work / "fresh.db"}[scenario.db]
        env = {**_env(work, db), **scenario.env, **(task_env if "{task}" in scenario.argv else {})}
        values = {
            "carecli": CARECLI,
            "python": PYTHON,
            "db": str(db),
            "csv": str(csv_file),
            "task": shutil.which("task") or "task",
        }
        command = [part.format(**values) for part in scenario.argv]
        floor_command = [part.format(**values) for part in scenario.floor] if scenario.floor else None
        skip = _skip_reason(scenario, command, env)
        if skip:
            rows.append((scenario, None, None, skip))
            print(f"{scenario.name}: skipped ({skip})", file=sys.stderr)
            continue
        prepare = None
        if scenario.db == "fresh":
            _ensure_csv(csv_file, _env(work, big))

            def prepare(db=db, env=env):
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
                subprocess.run([CARECLI, "init"], env=env, check=True, capture_output=True)

        result, *floor = measure([command, *([floor_command] if floor_command else [])], env, args.runs, prepare)
        floor = floor[0] if floor else None
        rows.append((scenario, result, floor, result.error))
        shown = f"{result.median * 1000:,.0f} ms" if not result.error else result.error
        print(
            f"{scenario.name}: {shown}" + (f" (floor {floor.median * 1000:,.0f} ms)" if floor else ""), file=sys.stderr
        )

    Path(args.output).write_text(render(rows, machine(), args, big))
    print(f"wrote {args.output}", file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)


def _env(work: Path, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARECLI_") and not k.startswith("_CARECLI")}
    env.update(
        CARECLI_DB=str(db),
        CARECLI_NOW=END,
        CARECLI_TIMEZONE="Europe/Berlin",
        XDG_CONFIG_HOME=str(work / "config"),
        XDG_DATA_HOME=str(work / "data"),
        NO_COLOR="1",
    )
    return env


def _skip_reason(scenario: Scenario, command: list[str], env: dict[str, str]) -> str:
    if command[0] == CARECLI and not command_exists([c for c in command if c not in ("--db", env["CARECLI_DB"])], env):
        return f"`carecli {' '.join(w for w in scenario.argv[1:] if '{' not in w and w != '--db')}` does not exist yet"
    if scenario.floor and scenario.floor[0] == "sqlite3" and not shutil.which("sqlite3"):
        return "the sqlite3 shell is not installed"
    if "{task}" in scenario.argv and not shutil.which("task"):
        return "taskwarrior is not installed (apt-get install taskwarrior)"
    return ""


def _taskwarrior(work: Path) -> dict[str, str]:
    """A throwaway Taskwarrior with a few tasks, so `task next` has something to rank."""
    if not shutil.which("task"):
        return {}
    rc = work / "taskrc"
    rc.write_text(f"data.location={work / 'task'}\nconfirmation=off\nverbose=nothing\n")
    env = {**os.environ, "TASKRC": str(rc)}
    for number in range(20):
        subprocess.run(
            ["task", "add", f"call customer {number}", f"due:{number % 5 + 1}d"], env=env, capture_output=True
        )
    return {"TASKRC": str(rc)}


def _ensure_csv(csv_file: Path, big_env: dict[str, str]) -> None:
    """carecli's own tickets export of the big database, as the import scenario's input."""
    if not csv_file.exists():
        subprocess.run([CARECLI, "export", "tickets", "--raw", "--output", str(csv_file)], env=big_env, check=True)


def _label(argv: list[str]) -> str:
    """A short name for a floor command: SQL text is replaced by `SQL`."""
    words = [w.strip("{}") if w.startswith("{") else ("SQL" if " " in w or "\n" in w else w) for w in argv]
    return "`" + " ".join(words) + "`"


def render(rows, facts: dict[str, str], args, big: Path) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `python bench/run.py --tickets {args.tickets} --runs {args.runs}` "
        f"(database made by `python bench/generate.py --tickets {args.tickets} --db ...`).",
        "",
    ]
    lines += [f"- {name}: {value}" for name, value in facts.items()]
    if big.exists():
        lines.append(f"- Big database: {big.name}, {big.stat().st_size / 1e6:,.0f} MB")
    lines += [
        "",
        "Times are whole-process wall-clock medians of the runs (after one warm-up), with the "
        "fastest and slowest run; memory is peak resident set size.",
        "",
        "| scenario | median ms | min–max ms | peak MB | floor | floor ms | × floor | target | met |",
        "|---|---:|---:|---:|---|---:|---:|---|---|",
    ]
    for scenario, result, floor, error in rows:
        floor_text = _label(scenario.floor) if scenario.floor else ""
        if result is None or error:
            lines.append(f"| {scenario.name} | skipped | | | {floor_text} | | | {scenario.target} | {error} |")
            continue
        floor_ms = f"{floor.median * 1000:,.1f}" if floor and not floor.error else (floor.error if floor else "")
        ratio = f"{result.median / floor.median:.1f}" if floor and not floor.error else ""
        lines.append(
            f"| {scenario.name} | {result.median * 1000:,.1f} | {result.spread()} | {result.peak_mb:,.0f} | "
            f"{floor_text} | {floor_ms} | {ratio} | {scenario.target} | {check(scenario.target, result, floor)} |"
        )
    notes = [f"- {s.name}: {s.note}" for s, *_ in rows if s.note]
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
