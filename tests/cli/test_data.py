"""`carecli export`, `carecli import` and `carecli search` as users run them."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import database_digest

REPO = Path(__file__).resolve().parents[2]
KAGGLE = REPO.parent / "shared" / "datasets" / "kaggle-support-tickets.csv"


@pytest.fixture
def served(shop, db_path):
    """The shop with a replied, closed and rated ticket and a second open one."""
    shop("ticket", "reply", "1", "A new vase goes out today", "--at", "2026-03-13 10:30", ok=True)
    shop("ticket", "close", "1", "--resolution", "Replacement sent", "--at", "2026-03-13 15:00", ok=True)
    shop("ticket", "open", "ben", "Where is my order?", "--channel", "chat", "--at", "2026-03-14 08:00", ok=True)
    conn = sqlite3.connect(db_path)
    conn.execute(
        "INSERT INTO surveys (kind, customer_id, ticket_id, score, at) VALUES ('csat', 1, 1, 5, '2026-03-13T16:00:00+00:00')"
    )
    conn.commit()
    conn.close()
    return shop


# ---------------------------------------------------------------- export


def test_ticket_export_has_the_documented_columns_and_every_figure(served):
    rows = list(csv.DictReader(io.StringIO(served("export", "tickets", ok=True).stdout)))
    from carecli.data.exporting import columns

    assert list(rows[0]) == columns("tickets")
    first = rows[0]
    assert first["customer_email"] == "ada@example.com"
    assert first["first_response_s"] == "5400"  # 09:00 -> 10:30 Berlin
    assert first["resolution_s"] == str(6 * 3600)
    assert first["csat"] == "5" and first["ces"] == ""
    assert first["replies"] == "1" and first["status"] == "closed"


def test_export_json_and_jsonl_carry_the_same_records(served):
    as_json = json.loads(served("export", "tickets", "--format", "json", ok=True).stdout)
    as_lines = [
        json.loads(line) for line in served("export", "tickets", "--format", "jsonl", ok=True).stdout.splitlines()
    ]
    assert as_json == as_lines
    assert as_json[0]["tags"] == [] and as_json[0]["closed_at"] == "2026-03-13T14:00:00+00:00"


def test_export_of_an_empty_table_is_a_header_or_an_empty_list(run):
    assert run("export", "followups", ok=True).stdout.startswith("id,customer_id,")
    assert json.loads(run("export", "surveys", "--format", "json", ok=True).stdout) == []


def test_export_filters_like_the_list_commands(served):
    rows = list(
        csv.DictReader(
            io.StringIO(served("export", "tickets", "--status", "open", "--channel", "chat", ok=True).stdout)
        )
    )
    assert [r["subject"] for r in rows] == ["Where is my order?"]
    rows = list(csv.DictReader(io.StringIO(served("export", "tickets", "--customer", "ada", ok=True).stdout)))
    assert [r["customer_name"] for r in rows] == ["Ada Lovelace"]
    result = served("export", "surveys", "--channel", "chat")
    assert result.exit_code == 1 and "--channel does not apply to surveys" in result.stderr


def test_formula_cells_are_neutralised_unless_raw(run):
    run("customer", "add", '=HYPERLINK("http://evil")', "--email", "x@example.com", ok=True)
    run("customer", "add", "Plain, Name", "--email", "y@example.com", "--note", "@admin -1 +1", ok=True)
    safe = list(csv.DictReader(io.StringIO(run("export", "customers", ok=True).stdout)))
    assert safe[0]["name"] == '\'=HYPERLINK("http://evil")'
    assert safe[1]["name"] == "Plain, Name" and safe[1]["notes"] == "'@admin -1 +1"
    raw = list(csv.DictReader(io.StringIO(run("export", "customers", "--raw", ok=True).stdout)))
    assert raw[0]["name"] == '=HYPERLINK("http://evil")' and raw[1]["notes"] == "@admin -1 +1"


def test_export_to_a_file_is_private_and_leaves_no_temporary_file(served, tmp_path):
    target = tmp_path / "out" / "tickets.csv"
    target.parent.mkdir()
    result = served("export", "tickets", "--output", str(target), ok=True)
    assert result.stdout == "" and "exported 2 tickets" in result.stderr
    assert (target.stat().st_mode & 0o777) == 0o600
    assert os.listdir(target.parent) == ["tickets.csv"]
    assert target.read_text().count("\n") == 3


def test_export_shows_no_progress_when_stderr_is_not_a_terminal(served):
    assert served("export", "tickets", ok=True).stderr == ""


# ---------------------------------------------------------------- round trip


def test_export_import_export_round_trip_is_identical(served, tmp_path):
    first = {what: served("export", what, "--raw", ok=True).stdout for what in ("customers", "tickets")}
    for what, text in first.items():
        (tmp_path / f"{what}.csv").write_text(text)
    fresh = str(tmp_path / "fresh.db")
    for what in ("customers", "tickets"):
        served("--db", fresh, "import", what, str(tmp_path / f"{what}.csv"), "--preset", "carecli", ok=True)
    again = {what: served("--db", fresh, "export", what, "--raw", ok=True).stdout for what in ("customers", "tickets")}
    for what in ("customers", "tickets"):  # the same, but for the source's id now kept as the external id
        expected = [
            dict(row, external_id=row["external_id"] or row["id"]) for row in csv.DictReader(io.StringIO(first[what]))
        ]
        assert list(csv.DictReader(io.StringIO(again[what]))) == expected


def test_importing_a_carecli_export_twice_imports_it_once(served, tmp_path):
    served("customer", "add", "Cy Twombly", "--at", "2026-03-03", ok=True)  # no e-mail: only an id to know it by
    fresh = str(tmp_path / "fresh.db")
    for what in ("customers", "tickets"):
        (tmp_path / f"{what}.csv").write_text(served("export", what, "--raw", ok=True).stdout)
    reports = []
    for _ in range(2):
        for what in ("customers", "tickets"):
            args = ("--db", fresh, "import", what, str(tmp_path / f"{what}.csv"), "--preset", "carecli")
            reports.append(json.loads(served(*args, "--format", "json", ok=True).stdout))
    assert [(r["created"], r["skipped"]) for r in reports] == [(3, 0), (2, 0), (0, 3), (0, 2)]
    conn = sqlite3.connect(fresh)
    counts = conn.execute("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM tickets)").fetchone()
    conn.close()
    assert counts == (3, 2)


# ---------------------------------------------------------------- import

MAPPING = """
[columns]
external_id = "Ref"
customer_name = "Name"
customer_email = "Email"
subject = "Subject"
status = "State"
created_at = "Created"
first_response_minutes = "FRT (min)"
closed_at = "Closed"
csat = "Rating"

[values.status]
"Solved" = "closed"
"New" = "open"
"""


def _write(tmp_path, name: str, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


@pytest.fixture
def mapping(tmp_path) -> Path:
    return _write(tmp_path, "map.toml", MAPPING)


GOOD = (
    "Ref,Name,Email,Subject,State,Created,FRT (min),Closed,Rating\n"
    'T-1,Ada Lovelace,ada@example.com,"Vase, cracked",Solved,2026-03-01 09:00,30,2026-03-01 12:00,4.0\n'
    'T-2,Ben Okafor,ben@example.com,"Two-line\nsubject",New,2026-03-02 10:00,,,\n'
)


def test_import_maps_columns_values_and_fills_the_stored_figures(run, tmp_path, mapping, db_path):
    data = _write(tmp_path, "t.csv", GOOD, bom=True)
    result = run("import", "tickets", str(data), "--map", str(mapping), "--format", "json", ok=True)
    assert json.loads(result.stdout)["created"] == 2
    conn = sqlite3.connect(db_path)
    ticket = conn.execute(
        "SELECT status, first_response_at, first_response_s, resolution_s, first_closed_at, "
        "reply_count, external_id FROM tickets WHERE external_id = 'T-1'"
    ).fetchone()
    assert ticket == ("closed", "2026-03-01T08:30:00+00:00", 1800, 3 * 3600, "2026-03-01T11:00:00+00:00", 1, "T-1")
    assert conn.execute("SELECT kind, score FROM surveys").fetchall() == [("csat", 4)]
    kinds = [r[0] for r in conn.execute("SELECT kind FROM events WHERE ticket_id = 1 ORDER BY at")]
    assert kinds == ["opened", "replied-first", "closed"]
    assert conn.execute("SELECT subject FROM tickets WHERE external_id = 'T-2'").fetchone()[0] == "Two-line subject"


# T-3 was answered 10 hours after it was closed: imported as it is, with a warning.
LATE_ANSWER = "T-3,Cy Twombly,cy@example.com,Late answer,Solved,2026-03-03 09:00,600,2026-03-03 10:00,\n"


def test_importing_the_same_file_twice_changes_nothing(run, tmp_path, mapping, db_path):
    data = _write(tmp_path, "t.csv", GOOD + LATE_ANSWER)
    first = run("import", "tickets", str(data), "--map", str(mapping), ok=True)
    assert "warning: 1 row: first response stamped after the close" in first.stderr
    before = database_digest(db_path)
    again = run("import", "tickets", str(data), "--map", str(mapping), "--format", "json", ok=True)
    assert json.loads(again.stdout)["skipped"] == 3
    assert (
        json.loads(again.stdout)["warnings"] == [] and "warning" not in again.stderr
    )  # nothing imported, nothing to warn about
    assert database_digest(db_path) == before
    dup = run("import", "tickets", str(data), "--map", str(mapping), "--on-duplicate", "error")
    assert dup.exit_code == 1 and "already imported" in dup.stderr
    assert database_digest(db_path) == before


def test_on_duplicate_update_rewrites_the_ticket(run, tmp_path, mapping, db_path):
    run("import", "tickets", str(_write(tmp_path, "t.csv", GOOD)), "--map", str(mapping), ok=True)
    changed = GOOD.replace("Vase, cracked", "Vase, shattered")
    run(
        "import",
        "tickets",
        str(_write(tmp_path, "t2.csv", changed)),
        "--map",
        str(mapping),
        "--on-duplicate",
        "update",
        ok=True,
    )
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT subject FROM tickets WHERE external_id = 'T-1'").fetchone()[0] == "Vase, shattered"
    assert conn.execute("SELECT count(*) FROM tickets").fetchone()[0] == 2


def test_on_duplicate_update_supersedes_a_changed_score_and_keeps_the_old_answer(run, tmp_path, mapping, db_path):
    run("import", "tickets", str(_write(tmp_path, "t.csv", GOOD)), "--map", str(mapping), ok=True)
    update = ("--map", str(mapping), "--on-duplicate", "update")
    run("import", "tickets", str(_write(tmp_path, "same.csv", GOOD)), *update, ok=True)
    assert [r["score"] for r in run.json("survey", "list", "--all")] == [4]  # same score: nothing to replace
    changed = GOOD.replace("2026-03-01 12:00,4.0", "2026-03-01 12:00,2.0")
    run("import", "tickets", str(_write(tmp_path, "t2.csv", changed)), *update, ok=True)
    rows = run.json("survey", "list", "--all")
    assert [(r["score"], r["at"], r["superseded_at"]) for r in rows] == [
        (2, "2026-03-01T11:00:00+00:00", None),
        (4, "2026-03-01T11:00:00+00:00", "2026-03-01T11:00:00+00:00"),
    ]
    assert run.json("kpi", "--since", "2026-03-01", "--until", "2026-03-01")["csat"]["n"] == 1


def test_on_duplicate_update_appends_events_for_what_the_source_changed(run, tmp_path, mapping, db_path):
    run("import", "tickets", str(_write(tmp_path, "t.csv", GOOD)), "--map", str(mapping), ok=True)
    # T-1 opened an hour earlier than first exported (times in Berlin); T-2 answered and solved since.
    changed = GOOD.replace("2026-03-01 09:00,30", "2026-03-01 08:00,30").replace(
        "New,2026-03-02 10:00,,,", "Solved,2026-03-02 10:00,45,2026-03-02 15:00,"
    )
    run(
        "import",
        "tickets",
        str(_write(tmp_path, "t2.csv", changed)),
        "--map",
        str(mapping),
        "--on-duplicate",
        "update",
        ok=True,
    )
    conn = sqlite3.connect(db_path)
    events = conn.execute("SELECT ticket_id, kind, at, detail FROM events ORDER BY id").fetchall()
    assert events[-3:] == [
        (
            1,
            "corrected",
            "2026-03-14T10:00:00+00:00",
            json.dumps(
                {
                    "created_at": {"from": "2026-03-01T08:00:00+00:00", "to": "2026-03-01T07:00:00+00:00"},
                    "first_response_at": {"from": "2026-03-01T08:30:00+00:00", "to": "2026-03-01T07:30:00+00:00"},
                }
            ),
        ),
        (2, "replied-first", "2026-03-02T09:45:00+00:00", None),
        (2, "closed", "2026-03-02T14:00:00+00:00", None),
    ]
    assert conn.execute("SELECT first_response_s, resolution_s FROM tickets WHERE id = 2").fetchone() == (
        2700,
        5 * 3600,
    )
    timeline = [
        e["body"] for e in json.loads(run("ticket", "show", "1", "--format", "json", ok=True).stdout)["timeline"]
    ]
    assert timeline[-1] == (
        "corrected: created_at 2026-03-01 09:00 → 2026-03-01 08:00; "
        "first_response_at 2026-03-01 09:30 → 2026-03-01 08:30"
    )


BAD = GOOD + (
    'T-3,Cy Twombly,cy@example.com,"Note\nover lines",New,sometime soon,,,\n'
    "T-4,Di Prima,di@example.com,Fine,New,2026-03-03 10:00,,,9\n"
)


def test_bad_rows_name_file_line_column_and_value_and_import_nothing(run, tmp_path, mapping, db_path):
    run("init", ok=True)
    before = database_digest(db_path)
    data = _write(tmp_path, "bad.csv", BAD)
    result = run("import", "tickets", str(data), "--map", str(mapping))
    assert result.exit_code == 1
    assert f"{data}:5: column 'Created' value 'sometime soon': not a time" in result.stderr
    assert f"{data}:7: column 'Rating' value '9': out of range 1..5" in result.stderr
    assert "error: 2 bad rows" in result.stderr and "--skip-bad" in result.stderr
    assert database_digest(db_path) == before


def test_skip_bad_imports_the_rest_and_writes_a_reject_file(run, tmp_path, mapping, db_path):
    data = _write(tmp_path, "bad.csv", BAD)
    result = run("import", "tickets", str(data), "--map", str(mapping), "--skip-bad", "--format", "json", ok=True)
    assert json.loads(result.stdout)["created"] == 2
    rejects = list(csv.DictReader(open(f"{data}.rejects.csv", newline="")))
    assert [r["line"] for r in rejects] == ["5", "7"] and rejects[0]["Ref"] == "T-3"
    assert "not a time" in rejects[0]["reason"]


def test_a_bulk_load_read_by_a_second_process_gives_what_one_process_gives(
    run, tmp_path, mapping, db_path, monkeypatch
):
    """Big files are read and checked in a second process (importing.parse_aside): the same
    tickets, warnings, rejects and line numbers as reading them here."""
    from carecli.data import importing

    text = BAD + LATE_ANSWER + "T-1,Ada Lovelace,ada@example.com,Again,Solved,2026-03-01 09:00,30,2026-03-01 12:00,\n"
    data = _write(tmp_path, "bad.csv", text)
    outcomes = []
    for aside in (False, True):
        db = tmp_path / f"aside-{aside}.db"
        monkeypatch.setattr(importing, "worth_bulk_loading", lambda *args: True)
        monkeypatch.setattr(importing, "parse_aside", lambda *args, bulk: aside)
        result = run(
            "--db",
            str(db),
            "import",
            "tickets",
            str(data),
            "--map",
            str(mapping),
            "--skip-bad",
            "--format",
            "json",
            ok=True,
        )
        rejects = open(f"{data}.rejects.csv", newline="").read()
        with sqlite3.connect(db) as conn:
            stored = [
                conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
                for table in ("customers", "tickets", "events", "surveys", "interactions")
            ]
        outcomes.append((json.loads(result.stdout), result.stderr, rejects, stored))
    assert outcomes[0] == outcomes[1]
    report, stderr, rejects, _ = outcomes[1]
    assert (report["created"], report["skipped"], report["rejected"]) == (3, 1, 2)
    assert report["warnings"] == [{"warning": importing.RESPONSE_AFTER_CLOSE, "rows": 1}]
    assert f"{data}:5: column 'Created' value 'sometime soon': not a time" in stderr
    assert [row["line"] for row in csv.DictReader(io.StringIO(rejects))] == ["5", "7"]


@pytest.mark.parametrize("how", ["csv", "csv read by a second process", "jsonl"])
def test_a_file_that_is_not_utf8_is_one_error_and_imports_nothing(run, tmp_path, mapping, db_path, monkeypatch, how):
    from carecli.data import importing

    run("init", ok=True)
    before = database_digest(db_path)
    if how == "jsonl":
        data = tmp_path / "latin1.jsonl"
        data.write_bytes('{"Ref": "T-9", "Name": "Zoë"}\n'.encode("latin-1"))
    else:  # the bad byte far enough down that the header reads fine
        padding = "".join(f"P-{i},Pat,pat@example.com,Vase,New,2026-03-02 10:00,,,\n" for i in range(400))
        data = tmp_path / "latin1.csv"
        data.write_bytes(
            (GOOD + padding).encode() + "T-9,Zoë,zoe@example.com,Vase,New,2026-03-02 10:00,,,\n".encode("latin-1")
        )
    if how == "csv read by a second process":
        monkeypatch.setattr(importing, "worth_bulk_loading", lambda *args: True)
    result = run("import", "tickets", str(data), "--map", str(mapping))
    assert result.exit_code == 1
    line = int(result.stderr.split()[2])
    assert result.stderr.startswith(f"error: line {line} or soon after: not UTF-8 text; save the file as UTF-8")
    assert (line == 1) if how == "jsonl" else (100 < line <= 406)
    assert "Traceback" not in result.stderr and database_digest(db_path) == before


def test_dry_run_reports_and_writes_nothing(run, tmp_path, mapping, db_path):
    run("init", ok=True)
    before = database_digest(db_path)
    data = _write(tmp_path, "bad.csv", BAD)
    refused = run("import", "tickets", str(data), "--map", str(mapping), "--dry-run")
    assert refused.exit_code == 1 and "2 bad rows in" in refused.stderr  # as the real run would (issue 14)
    result = run(
        "import", "tickets", str(data), "--map", str(mapping), "--dry-run", "--skip-bad", "--format", "json", ok=True
    )
    report = json.loads(result.stdout)
    assert (report["created"], report["rejected"]) == (2, 2)
    assert "dry run, nothing written" in result.stderr
    assert database_digest(db_path) == before
    assert not Path(f"{data}.rejects.csv").exists()


def test_mapping_errors_say_what_to_fix(run, tmp_path, mapping):
    data = _write(tmp_path, "t.csv", GOOD.replace("Created", "Opened"))
    result = run("import", "tickets", str(data), "--map", str(mapping))
    assert result.exit_code == 1 and "column 'Created' (mapped to created_at) is not in the header" in result.stderr
    wrong = _write(tmp_path, "wrong.toml", "[columns]\nsubjekt = 'Subject'\n")
    result = run("import", "tickets", str(data), "--map", str(wrong))
    assert result.exit_code == 1 and "unknown field 'subjekt'" in result.stderr
    result = run("import", "tickets", str(data))
    assert result.exit_code == 1 and "--preset" in result.stderr


def test_jsonl_from_stdin(run, tmp_path, mapping, db_path):
    lines = [
        {
            "Ref": "J-1",
            "Name": "Ada",
            "Email": "ada@example.com",
            "Subject": "Hi",
            "State": "New",
            "Created": "2026-03-01T09:00:00Z",
            "Rating": None,
        }
    ]
    text = "\n".join(json.dumps(line) for line in lines) + "\n"
    result = run("import", "tickets", "-", "--map", str(mapping), "--input-format", "jsonl", input=text)
    assert result.exit_code == 0, result.stderr
    assert (
        sqlite3.connect(db_path).execute("SELECT created_at FROM tickets").fetchone()[0] == "2026-03-01T09:00:00+00:00"
    )


def test_import_customers_matches_by_email(run, tmp_path, db_path):
    run("customer", "add", "Ada Lovelace", "--email", "ada@example.com", ok=True)
    data = _write(tmp_path, "c.csv", 'Name,Mail,Tags\nAda L.,ADA@example.com,vip\nBen,ben@example.com,"a b"\n')
    cmap = _write(tmp_path, "c.toml", '[columns]\nname = "Name"\nemail = "Mail"\ntags = "Tags"\n')
    report = run.json("import", "customers", str(data), "--map", str(cmap), "--on-duplicate", "update")
    assert (report["created"], report["updated"]) == (1, 1)
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT name, tags FROM customers ORDER BY id").fetchall() == [
        ("Ada L.", "vip"),
        ("Ben", "a,b"),
    ]


def test_import_interactions_onto_imported_tickets(run, tmp_path, mapping, db_path):
    run("import", "tickets", str(_write(tmp_path, "t.csv", GOOD)), "--map", str(mapping), ok=True)
    data = _write(tmp_path, "i.csv", "ticket,text,when,dir\nT-1,We sent a new one,2026-03-01 11:00,out\n")
    imap = _write(
        tmp_path, "i.toml", '[columns]\nticket_external_id = "ticket"\nbody = "text"\nat = "when"\ndirection = "dir"\n'
    )
    assert run.json("import", "interactions", str(data), "--map", str(imap))["created"] == 1
    assert run.json("import", "interactions", str(data), "--map", str(imap))["skipped"] == 1


ZENDESK = (
    "Id,Requester,Requester email,Subject,Status,Priority,Via,Ticket type,Tags,Created at,Updated at,Solved at,"
    "First reply time in minutes,Full resolution time in minutes,Replies,Reopens,Satisfaction Score\n"
    "101,Ada Lovelace,ada@example.com,Broken vase,Solved,High,Mail,Incident,vip fragile,2026-03-01 09:00:00 +0000,"
    "2026-03-01 12:00:00 +0000,2026-03-01 12:00:00 +0000,45,180,2,0,Good\n"
    "102,Ben Okafor,ben@example.com,Invoice copy,Hold,Normal,Web form,Question,,2026-03-02 10:00:00 +0000,"
    "2026-03-02 10:00:00 +0000,,,,0,0,Unoffered\n"
)
FRESHDESK = (
    "Ticket ID,Subject,Status,Priority,Source,Type,Agent,Group,Created time,Due by Time,Resolved time,Closed time,"
    "Last update time,Initial response time,Time tracked,First response time (in hrs),Resolution time (in hrs),"
    "Agent interactions,Customer interactions,Resolution status,First response status,Tags,Survey results,Full name,Email\n"
    "5001,Parcel late,Closed,Medium,Email,Question,Kim,Support,2026-03-01 09:00:00,2026-03-02 09:00:00,"
    "2026-03-01 15:00:00,2026-03-01 16:00:00,2026-03-01 16:00:00,2026-03-01 09:20:00,00:10:00,00:20:00,06:00:00,"
    "2,1,Within SLA,Within SLA,late,,Ada Lovelace,ada@example.com\n"
    "5002,Refund please,Waiting on Customer,Urgent,Portal,Refund,Kim,Support,2026-03-02 09:00:00,,,,"
    "2026-03-02 10:00:00,2026-03-02 10:00:00,,,,1,1,,,,,Ben Okafor,ben@example.com\n"
)


@pytest.mark.parametrize(
    "preset, text, expected",
    [
        (
            "zendesk",
            ZENDESK,
            [
                ("101", "closed", "high", "email", "technical", 45 * 60, "vip,fragile", 5),
                ("102", "pending", "normal", "web", "question", None, "", None),
            ],
        ),
        (
            "freshdesk",
            FRESHDESK,
            [
                ("5001", "closed", "normal", "email", "question", 20 * 60, "late", None),
                ("5002", "pending", "urgent", "web", "returns", 3600, "", None),
            ],
        ),
    ],
)
def test_helpdesk_presets_read_their_documented_headers(run, tmp_path, db_path, preset, text, expected):
    data = _write(tmp_path, f"{preset}.csv", text)
    result = run("import", "tickets", str(data), "--preset", preset)
    assert result.exit_code == 0, result.stderr
    rows = (
        sqlite3.connect(db_path)
        .execute(
            "SELECT external_id, status, priority, channel, category, first_response_s, tags, "
            "(SELECT score FROM surveys s WHERE s.ticket_id = t.id AND kind = 'csat') FROM tickets t ORDER BY id"
        )
        .fetchall()
    )
    assert rows == expected


@pytest.mark.skipif(not KAGGLE.exists(), reason="../shared/datasets is not here")
def test_the_public_kaggle_export_imports_with_its_preset(run, db_path):
    result = run("import", "tickets", str(KAGGLE), "--preset", "kaggle", "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["created"], report["rejected"]) == (8469, 0)
    assert "1365 rows: first response stamped after the close" in result.stderr
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT status, count(*) FROM tickets GROUP BY 1 ORDER BY 1").fetchall() == [
        ("closed", 2769),
        ("open", 2819),
        ("pending", 2881),
    ]
    assert conn.execute("SELECT count(*), round(avg(score), 4) FROM surveys WHERE kind = 'csat'").fetchone() == (
        2769,
        2.9913,
    )
    assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 8320
    assert run.json("import", "tickets", str(KAGGLE), "--preset", "kaggle")["skipped"] == 8469


def _children(pid: int) -> list[int]:
    """Child processes of `pid` (Linux /proc; empty elsewhere)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_an_import_killed_midway_leaves_the_database_as_it_was(run, tmp_path, mapping, db_path):
    run("customer", "add", "Ada Lovelace", "--email", "ada@example.com", ok=True)
    before = database_digest(db_path)
    big = tmp_path / "big.csv"
    with open(big, "w") as out:
        out.write("Ref,Name,Email,Subject,State,Created,FRT (min),Closed,Rating\n")
        for i in range(400_000):
            out.write(f"K-{i},Cust {i % 999},c{i % 999}@example.com,Subject {i},New,2026-03-01 09:00,,,\n")
    env = {**os.environ, "CARECLI_DB": str(db_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "carecli", "import", "tickets", str(big), "--map", str(mapping)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)
    assert proc.poll() is None, "the import finished before it could be killed; make the file bigger"
    readers = _children(proc.pid)  # the process reading the big file (importing.parse_aside)
    assert readers or not Path("/proc").exists()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert database_digest(db_path) == before
    deadline = time.monotonic() + 10
    while readers and time.monotonic() < deadline:  # it stops at its next send: nobody reads any more
        readers = [pid for pid in readers if Path(f"/proc/{pid}").exists() and _state(pid) != "Z"]
        time.sleep(0.05)
    assert not readers, "the reading process outlived the import"
    check = subprocess.run([sys.executable, "-m", "carecli", "db", "check"], env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


# ---------------------------------------------------------------- search


def test_search_finds_subjects_messages_and_customer_notes(served):
    served("customer", "edit", "ben", "--note", "prefers orchids", ok=True)
    hits = served.json("search", "vase")
    assert {(h["kind"], h["ref"]) for h in hits} >= {("ticket", "#1"), ("message", "#1")}
    assert [h["kind"] for h in served.json("search", "orchids")] == ["customer"]
    assert served.json("search", "vase", "--customer", "ben") == []
    assert served.json("search", "vase", "--since", "2026-03-14") == []


def test_search_index_follows_edits(served):
    served("ticket", "edit", "1", "--subject", "Tulips wilted", ok=True)
    assert [h["ref"] for h in served.json("search", "tulips")] == ["#1"]
    assert all(h["kind"] != "ticket" for h in served.json("search", "cracked"))


def test_search_without_words_is_an_error(run):
    result = run("search", "?!")
    assert result.exit_code == 1 and "nothing to search for" in result.stderr


def test_search_for_a_very_common_word_ranks_only_its_most_recent_matches(shop, monkeypatch):
    from carecli.data import searching

    shop("ticket", "open", "ben", "Orchid orchid orchid wilted", "--at", "2026-03-10 08:00", ok=True)  # the best match
    for day in (11, 12, 13):
        shop("ticket", "open", "ben", f"Orchid question {day}", "--at", f"2026-03-{day} 08:00", ok=True)
    best = shop.json("search", "orchid")[0]["ref"]
    monkeypatch.setattr(searching, "RANK_CAP", 3)
    capped = [h["ref"] for h in shop.json("search", "orchid") if h["kind"] == "ticket"]
    assert best == "#2" and len(capped) == 3 and "#2" not in capped


def test_import_reads_non_iso_times_the_same_way_on_every_row(run, tmp_path, mapping, db_path):
    data = _write(
        tmp_path,
        "t.csv",
        "Ref,Name,Email,Subject,State,Created,FRT (min),Closed,Rating\n"
        "T-1,Ada,ada@example.com,Vase,New,03/01/2026 09:00,,,\n"  # March 1 (month first by default)
        "T-2,Ada,ada@example.com,Vase,New,03/02/2026 10:30,,,\n"
        'T-3,Ada,ada@example.com,Vase,New,"Mar 4, 2026 11:15 AM",,,\n',
    )  # another format: dateutil
    run("import", "tickets", str(data), "--map", str(mapping), ok=True)
    stored = sqlite3.connect(db_path).execute("SELECT created_at FROM tickets ORDER BY external_id").fetchall()
    assert stored == [("2026-03-01T08:00:00+00:00",), ("2026-03-02T09:30:00+00:00",), ("2026-03-04T10:15:00+00:00",)]


def test_imported_times_in_the_future_are_rejected(run, tmp_path, mapping):
    # now is 2026-03-14 11:00 Berlin: a ticket opened next week, or closed tomorrow, has not happened
    data = _write(
        tmp_path,
        "future.csv",
        GOOD
        + "T-5,Cy Twombly,cy@example.com,Later,New,2026-03-21 10:00,,,\n"
        + "T-6,Di Prima,di@example.com,Soon,Solved,2026-03-13 10:00,,2026-03-15 10:00,\n",
    )
    refused = run("import", "tickets", str(data), "--map", str(mapping), "--dry-run")
    assert refused.exit_code == 1 and "2 bad rows in" in refused.stderr  # as the real run would (issue 14)
    result = run(
        "import", "tickets", str(data), "--map", str(mapping), "--dry-run", "--skip-bad", "--format", "json", ok=True
    )
    report = json.loads(result.stdout)
    assert (report["created"], report["rejected"]) == (2, 2)
    assert "column 'Created' value '2026-03-21 10:00': a time in the future" in result.stderr
    assert "column 'Closed' value '2026-03-15 10:00': a time in the future" in result.stderr
