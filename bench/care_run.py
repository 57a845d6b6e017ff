"""Time `carecli care run --dry-run` on the big database, as a whole process (what cron runs).

    python bench/care_run.py --db /tmp/care-1m.db [--runs 5]

The database is bench/generate.py's (1,000,000 tickets by default, ending at the pinned clock).
The config holds one rule of each action (csat, nudge with close_after, followups, thank,
recover), so every finder runs. Target (issue 16): under 2 s. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import table_row, timed_ms  # bench/timing.py

NOW = "2026-03-14T10:00:00+00:00"  # the generator's default end
RULES = """
[mail]
addresses = ["help@shop.example"]
[[care.rules]]
name = "survey"
action = "csat"
after = "2d"
[[care.rules]]
name = "chase"
action = "nudge"
after = "3d"
close_after = "5d"
[[care.rules]]
name = "tips"
action = "followups"
template = "tip"
[[care.rules]]
name = "thanks"
action = "thank"
[[care.rules]]
name = "sorry"
action = "recover"
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="/tmp/care-1m.db")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.toml"
        config.write_text(RULES)
        carecli = str(Path(sys.executable).with_name("carecli"))
        env = {**os.environ, "CARECLI_DB": args.db, "CARECLI_NOW": NOW, "CARECLI_CONFIG": str(config)}
        command = [carecli, "care", "run", "--dry-run", "--format", "json"]

        def once() -> str:
            return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout

        actions = json.loads(once())  # also the warm-up (and any migration of the file)
        by_action: dict[str, int] = {}
        for action in actions:
            by_action[action["action"]] = by_action.get(action["action"], 0) + 1
        print(f"{args.db}: {len(actions):,} actions {by_action}\n")
        print("| scenario | median ms | min ms | max ms |\n|---|---|---|---|")
        print(table_row("care run --dry-run (5 rules), whole process", timed_ms(once, args.runs)))


if __name__ == "__main__":
    main()
