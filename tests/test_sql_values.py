"""Text from the config reaches SQL only as bound parameters: quotes and SQL in priorities,
channels and categories break no listing or report, and drop nothing."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest

PRIORITY, CHANNEL, CATEGORY = "o'clock", 'a"b', "x'); DROP TABLE tickets;--"

CONFIG = f"""
priorities = ["low", "normal", "{PRIORITY}"]
channels = ["email", '{CHANNEL}']
categories = ["other", "{CATEGORY}"]
default_priority = "normal"
default_channel = "email"
default_category = "other"

[sla]
warn_before = "1h"
[sla."{PRIORITY}"]
first_response = "1h"
resolution = "1d"
"""

COMMANDS = [
    ("ticket", "list"),
    ("ticket", "list", "--breaching"),
    ("today",),
    ("kpi", "--since", "2026-03-01"),
    ("kpi", "--since", "2026-03-01", "--by", "priority"),
    ("kpi", "--since", "2026-03-01", "--by", "channel"),
    ("kpi", "--since", "2026-03-01", "--by", "category"),
    ("kpi", "--since", "2026-03-01", "--business-hours"),
    ("report", "daily"),
    ("report", "weekly"),
    ("report", "monthly"),
    ("customer", "health"),
    ("care", "suggest"),
    ("followup", "list"),
    ("survey", "list"),
    ("export", "tickets"),
    ("export", "customers"),
    ("export", "events"),
    ("search", "cracked"),
]


@pytest.fixture
def odd_run(run, tmp_path):
    path = tmp_path / "odd.toml"
    path.write_text(CONFIG)

    def go(*args, ok=True):
        return run("--config", str(path), *args, ok=ok)

    go("customer", "add", "Ada", "--email", "ada@example.com", "--at", "2026-03-01")
    for at in ("2026-03-10 09:00", "2026-03-13 09:00"):
        go(
            "ticket", "open", "ada", "Vase arrived cracked",
            "--priority", PRIORITY, "--channel", CHANNEL, "--category", CATEGORY,
            "--message", "The vase is cracked", "--at", at,
        )  # fmt: skip
    go("ticket", "reply", "1", "sorry", "--at", "2026-03-10 12:00")
    go("ticket", "close", "1", "--at", "2026-03-12 09:00")
    go("survey", "csat", "1", "2")
    go("followup", "add", "ada", "--due", "2026-03-13")
    return go


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_listing_and_report_runs_with_quotes_and_sql_in_the_config(odd_run, db_path, args):
    odd_run(*args)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == 2


def test_odd_priorities_still_rank_and_breach(odd_run):
    rows = json.loads(odd_run("ticket", "list", "--format", "json").stdout)
    assert [r["priority"] for r in rows] == [PRIORITY]
    breaching = json.loads(odd_run("ticket", "list", "--breaching", "--format", "json").stdout)
    assert [r["id"] for r in breaching] == [2]


def test_the_ticket_export_gives_odd_priorities_their_sla_verdict(odd_run):
    odd_run(
        "ticket", "open", "ada", "on time", "--priority", PRIORITY, "--channel", CHANNEL, "--at", "2026-03-11 09:00"
    )
    odd_run("ticket", "reply", "3", "x", "--at", "2026-03-11 10:00")  # ticket 3 meets its 1h target exactly
    odd_run("ticket", "close", "3", "--at", "2026-03-11 12:00")
    odd_run("ticket", "open", "ada", "no target", "--priority", "normal", "--at", "2026-03-11 09:00")
    rows = csv.DictReader(io.StringIO(odd_run("export", "tickets").stdout))
    # 1: answered after 3h; 2: still unanswered a day later; 3: on time; 4: its priority has no target.
    assert {r["id"]: r["sla_breached"] for r in rows} == {"1": "1", "2": "1", "3": "0", "4": ""}
    # The filters' own parameters bind beside the SLA ones.
    args = ("--priority", PRIORITY, "--channel", CHANNEL, "--status", "open,closed", "--since", "2026-03-11")
    rows = json.loads(odd_run("export", "tickets", *args, "--format", "json").stdout)
    assert [(r["id"], r["sla_breached"]) for r in rows] == [(2, 1), (3, 0)]
