"""`carecli undo`: every write command is one step; undoing puts back what it changed, the trail stays."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import carecli

LISTINGS = (
    ("ticket", "list", "--status", "all", "--limit", "0"),
    ("customer", "list"),
    ("followup", "list", "--status", "all"),
    ("survey", "list"),
    ("kpi", "--since", "2026-01-01"),
    ("kpi", "--since", "2026-03-01", "--until", "2026-03-13 12:00"),
)


def snapshot(run) -> list:
    return [run.json(*listing) for listing in LISTINGS]


def test_undo_reverts_a_reply_and_says_what_it_reverts(shop, db_path):
    before = snapshot(shop)
    shop("ticket", "reply", "1", "A new vase goes out today", "--at", "2026-03-13 10:02", ok=True)
    result = shop("undo", "--yes", ok=True)
    assert "undid #" in result.stderr and "ticket reply 1" in result.stderr
    assert "ticket #1 back to open" in result.stderr and "first response cleared" in result.stderr
    assert snapshot(shop) == before
    conn = sqlite3.connect(db_path)
    kinds = conn.execute("SELECT kind, voided_by FROM events WHERE ticket_id = 1 ORDER BY id").fetchall()
    # The trail keeps the undone reply's events, marked, and says it was undone.
    assert kinds[1][0] == "replied-first" and kinds[1][1].startswith("undo:")
    assert kinds[-1] == ("undone", None)


def test_a_second_undo_reverts_the_command_before(shop):
    shop("ticket", "reply", "1", "first", ok=True)
    shop("ticket", "close", "1", "--no-followup", ok=True)
    shop("undo", "--yes", ok=True)
    assert shop.json("ticket", "show", "1")["status"] == "pending"
    shop("undo", "--yes", ok=True)
    assert shop.json("ticket", "show", "1")["status"] == "open"


def test_undo_list_shows_the_command_line_and_whether_it_can_be_undone(shop):
    shop("ticket", "reply", "1", "first", ok=True)
    shop("ticket", "note", "1", "called the courier", ok=True)
    rows = shop.json("undo", "--list")
    assert rows[0]["command"] == "ticket note 1 'called the courier'" and rows[0]["state"] == "yes"
    assert rows[1]["command"] == "ticket reply 1 first" and rows[1]["state"] == f"after #{rows[0]['id']}"
    shop("undo", "--yes", ok=True)
    assert shop.json("undo", "--list")[0]["state"].startswith("undone")


def test_undo_id_refuses_when_a_later_command_changed_the_same_ticket(shop, db_path):
    shop("ticket", "reply", "1", "first", ok=True)
    reply = shop.json("undo", "--list")[0]["id"]
    shop("ticket", "close", "1", "--no-followup", ok=True)
    digest = sqlite3.connect(db_path).execute("SELECT count(*) FROM undo_steps WHERE undone_at IS NULL").fetchone()
    result = shop("undo", str(reply), "--yes")
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "ticket close 1" in result.stderr and "undo" in result.stderr
    again = sqlite3.connect(db_path).execute("SELECT count(*) FROM undo_steps WHERE undone_at IS NULL").fetchone()
    assert again == digest


def test_undo_id_reverts_an_older_command_on_other_records(shop):
    shop("ticket", "open", "ben", "Wrong size", ok=True)
    opened = shop.json("undo", "--list")[0]["id"]
    shop("ticket", "reply", "1", "first", ok=True)
    shop("undo", str(opened), "--yes", ok=True)
    assert [t["id"] for t in shop.json("ticket", "list", "--status", "all")] == [1]
    assert shop.json("ticket", "show", "1")["replies"] == 1


def test_undo_asks_off_a_terminal_only_with_yes(shop):
    shop("ticket", "reply", "1", "first", ok=True)
    result = shop("undo")
    assert result.exit_code == 1 and "--yes" in result.stderr
    assert shop.json("ticket", "show", "1")["replies"] == 1


def test_nothing_to_undo_is_one_line_and_exit_1(run):
    result = run("undo", "--yes")
    assert result.exit_code == 1 and "nothing to undo" in result.stderr


def test_undo_is_not_itself_a_step(shop):
    shop("ticket", "reply", "1", "first", ok=True)
    count = len(shop.json("undo", "--list"))
    shop("undo", "--yes", ok=True)
    assert len(shop.json("undo", "--list")) == count


def test_a_failed_command_leaves_no_step(shop):
    count = len(shop.json("undo", "--list"))
    assert shop("ticket", "close", "99").exit_code != 0
    assert shop("ticket", "reply", "1", "   ").exit_code != 0
    assert len(shop.json("undo", "--list")) == count


def test_an_import_is_one_step(run, tmp_path):
    path = tmp_path / "customers.csv"
    header = "external_id,name,email,phone,tags,notes,created_at,lost_at,lost_reason\n"
    path.write_text(header + "".join(f"x{i},Customer {i},c{i}@example.com,,,,2026-03-01,,\n" for i in range(300)))
    run("import", "customers", str(path), "--preset", "carecli", ok=True)
    steps = run.json("undo", "--list")
    assert len(steps) == 1 and steps[0]["command"].startswith("import customers")
    run("undo", "--yes", ok=True)
    assert run.json("customer", "list") == []


def test_undoing_an_open_leaves_a_healthy_database(shop):
    shop("ticket", "open", "ben", "Wrong size", "-m", "too small", ok=True)
    shop("undo", "--yes", ok=True)
    check = shop("db", "check")
    assert check.exit_code == 0, check.stderr


def test_every_reader_of_the_trail_leaves_voided_rows_out():
    """Each SQL statement reading events or followup_due_changes in carecli/ filters voided_by
    (the undo log, the trash, exports of the whole trail and the checks aside)."""
    root = Path(carecli.__file__).parent
    exempt = {"schema/migrations.py", "core/undolog.py", "records/undo.py", "records/trash.py", "data/exporting.py"}
    exempt.add("data/maintenance.py")
    missing = []
    for path in sorted(root.rglob("*.py")):
        name = str(path.relative_to(root))
        if name in exempt:
            continue
        text = path.read_text()
        for match in re.finditer(r"(FROM|JOIN)\s+(events|followup_due_changes)\b", text):
            window = text[match.start() : match.start() + 400]
            if "voided_by IS NULL" not in window:
                missing.append(f"{name}: {text[match.start() : match.start() + 60]!r}")
    assert not missing, "\n".join(missing)


# ---------------------------------------------------------------- the property


COMMANDS = st.one_of(
    st.tuples(st.just("customer"), st.just("add"), st.sampled_from(["Cleo", "Dev", "Eli"])),
    st.tuples(st.just("ticket"), st.just("open"), st.sampled_from(["ada", "ben"]), st.sampled_from(["Late", "Broken"])),
    st.tuples(st.just("ticket"), st.just("reply"), st.sampled_from(["1", "2", "3"]), st.just("on its way")),
    st.tuples(st.just("ticket"), st.just("inbound"), st.sampled_from(["1", "2", "3"]), st.just("still waiting")),
    st.tuples(st.just("ticket"), st.just("note"), st.sampled_from(["1", "2"]), st.just("called")),
    st.tuples(st.just("ticket"), st.just("close"), st.sampled_from(["1", "2", "3"])),
    st.tuples(st.just("ticket"), st.just("reopen"), st.sampled_from(["1", "2", "3"])),
    st.tuples(st.just("ticket"), st.just("pending"), st.sampled_from(["1", "2"])),
    st.tuples(st.just("ticket"), st.just("edit"), st.sampled_from(["1", "2"]), st.just("--priority"), st.just("low")),
    st.tuples(st.just("survey"), st.just("csat"), st.sampled_from(["1", "2"]), st.sampled_from(["2", "5"])),
    st.tuples(st.just("followup"), st.just("add"), st.sampled_from(["ada", "ben"]), st.just("--due"), st.just("+3d")),
    st.tuples(st.just("followup"), st.just("done"), st.sampled_from(["1", "2"])),
    st.tuples(st.just("followup"), st.just("snooze"), st.sampled_from(["1", "2"]), st.just("+5d")),
    st.tuples(st.just("ticket"), st.just("delete"), st.sampled_from(["1", "2", "3"]), st.just("--reason=mistake")),
    st.tuples(st.just("ticket"), st.just("restore"), st.sampled_from(["1", "2", "3"])),
    st.tuples(st.just("ticket"), st.just("merge"), st.sampled_from(["2", "3"]), st.just("--into=1")),
    st.tuples(st.just("customer"), st.just("merge"), st.sampled_from(["ben", "Cleo"]), st.just("--into=ada")),
    st.tuples(st.just("interaction"), st.just("move"), st.sampled_from(["1", "2", "3"]), st.just("--to-ticket=2")),
    st.tuples(st.just("interaction"), st.just("edit"), st.sampled_from(["1", "2"]), st.just("--at=2026-03-13 11:00")),
)


def fresh_shop(monkeypatch, base: Path):
    """A new database with the `shop` fixture's records, for one hypothesis example (the
    function-scoped fixtures would carry one example's writes into the next)."""
    import uuid

    from carecli.schema import database
    from tests.conftest import Run

    path = base / uuid.uuid4().hex / "care.db"
    monkeypatch.setenv("CARECLI_DB", str(path))
    database.connect(path, create=True).close()
    run = Run()
    run("customer", "add", "Ada Lovelace", "--email", "ada@example.com", "--at", "2026-03-01", ok=True)
    run("customer", "add", "Ben Okafor", "--email", "ben@example.com", "--at", "2026-03-02", ok=True)
    run("ticket", "open", "ada", "Vase arrived cracked", "-m", "cracked", "--at", "2026-03-13 09:00", ok=True)
    run("followup", "add", "ben", "--due", "+2d", ok=True)
    return run, path


def steps_after(path: Path, start: int) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM undo_steps WHERE id > ? AND undone_at IS NULL", (start,)).fetchone()[
            0
        ]
    finally:
        conn.close()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commands=st.lists(COMMANDS, min_size=1, max_size=8))
def test_undoing_every_command_in_reverse_leaves_every_listing_and_figure_as_before(monkeypatch, tmp_path, commands):
    run, path = fresh_shop(monkeypatch, tmp_path)
    start = steps_after(path, 0)
    before = snapshot(run)
    for command in commands:
        run(*command, "--yes" if command[1] == "delete" else "--format=json")
    for _ in range(steps_after(path, start)):
        run("undo", "--yes", ok=True)
    assert snapshot(run) == before
    assert run("db", "check").exit_code == 0


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commands=st.lists(COMMANDS.filter(lambda c: c[1] not in ("delete", "restore", "merge")), min_size=1, max_size=6))
def test_delete_then_restore_is_the_identity_on_every_listing_and_figure(monkeypatch, tmp_path, commands):
    run, _ = fresh_shop(monkeypatch, tmp_path)
    for command in commands:
        run(*command, "--format=json")
    before = snapshot(run)
    for ticket in [t["id"] for t in run.json("ticket", "list", "--status", "all")]:
        run("ticket", "delete", str(ticket), "--reason", "mistake", "--yes", ok=True)
        assert ticket not in [t["id"] for t in run.json("ticket", "list", "--status", "all")]
        run("ticket", "restore", str(ticket), ok=True)
    assert snapshot(run) == before


def test_json_snapshot_helper_is_plain_data(shop):
    assert json.loads(json.dumps(snapshot(shop)))


def test_the_exported_trail_keeps_undone_events_and_says_why(shop):
    shop("ticket", "reply", "1", "first", ok=True)
    shop("undo", "--yes", ok=True)
    lines = [json.loads(line) for line in shop("export", "events", "--format", "jsonl", ok=True).stdout.splitlines()]
    replied = [event for event in lines if event["kind"] == "replied-first"]
    assert len(replied) == 1 and replied[0]["voided_by"].startswith("undo:")
    assert lines[-1]["kind"] == "undone" and lines[-1]["voided_by"] is None
