"""`mail ingest --archive`: old mail back-filled with its own times, old threads filed as closed,
and nothing scheduled, suggested or sent."""

from __future__ import annotations

import mailbox

import pytest

from tests.conftest import database_digest
from tests.mail.conftest import SHOP
from tests.mail.test_intake import message, rows


@pytest.fixture
def old_mail(isolated):
    """Two threads: one that ended in January, one still going last week (the clock: 2026-03-14)."""
    box = mailbox.Maildir(isolated / "Archive", create=True)
    box.add(message(message_id="a1@example.com", subject="Vase arrived cracked", at="2026-01-05 09:00"))
    box.add(
        message(
            f"Shop <{SHOP}>",
            "Re: Vase arrived cracked",
            to="ada@example.com",
            message_id="s1@shop.example",
            in_reply_to="a1@example.com",
            at="2026-01-05 11:00",
        )
    )
    box.add(
        message(
            subject="Re: Vase arrived cracked",
            body="Thanks, the new one is fine.",
            message_id="a2@example.com",
            in_reply_to="s1@shop.example",
            at="2026-01-10 08:00",
        )
    )
    box.add(message("Ben <ben@example.com>", "Where is my order?", message_id="b1@example.com", at="2026-03-10 09:00"))
    return isolated / "Archive"


def with_check_ins(mailrun, extra=""):
    mailrun.config.write_text(f'[mail]\naddresses = ["{SHOP}"]\n{extra}\n[care]\nfollowup_after_close = "7d"\n')


def test_an_archive_closes_old_threads_at_their_last_message_and_schedules_no_check_in(mailrun, db_path, old_mail):
    with_check_ins(mailrun)
    result = mailrun.run("mail", "ingest", "--archive", str(old_mail), ok=True)
    assert "4 filed" in result.stderr and "1 threads closed (archive)" in result.stderr
    assert rows(db_path, "SELECT subject, status, created_at, closed_at, resolution FROM tickets ORDER BY id") == [
        ("Vase arrived cracked", "closed", "2026-01-05T09:00:00+00:00", "2026-01-10T08:00:00+00:00", "archived mail"),
        ("Where is my order?", "open", "2026-03-10T09:00:00+00:00", None, None),
    ]
    assert rows(db_path, "SELECT at FROM interactions ORDER BY id") == [
        ("2026-01-05T09:00:00+00:00",),
        ("2026-01-05T11:00:00+00:00",),
        ("2026-01-10T08:00:00+00:00",),
        ("2026-03-10T09:00:00+00:00",),
    ]
    assert rows(db_path, "SELECT count(*) FROM followups") == [(0,)]
    assert mailrun.run("followup", "list", "--format", "json", ok=True).stdout.strip() == "[]"
    # The same close typed as a command would have scheduled one: the archive is what differs.
    mailrun.run("ticket", "close", "2", ok=True)
    assert rows(db_path, "SELECT ticket_id, source FROM followups") == [(2, "after-close")]


def test_without_archive_old_threads_stay_open(mailrun, db_path, old_mail):
    mailrun.run("mail", "ingest", str(old_mail), ok=True)
    assert rows(db_path, "SELECT status FROM tickets ORDER BY id") == [("open",), ("open",)]


def test_archive_close_after_is_configurable(mailrun, db_path, old_mail):
    with_check_ins(mailrun, 'archive_close_after = "90d"')
    result = mailrun.run("mail", "ingest", "--archive", str(old_mail), ok=True)
    assert "0 threads closed" in result.stderr
    assert rows(db_path, "SELECT status FROM tickets ORDER BY id") == [("open",), ("open",)]


def test_an_archive_run_again_closes_what_an_interrupted_one_filed_but_did_not_close(mailrun, db_path, old_mail):
    mailrun.run("mail", "ingest", str(old_mail), ok=True)  # as if killed after filing, before closing
    result = mailrun.run("mail", "ingest", "--archive", str(old_mail), ok=True)
    assert "0 filed" in result.stderr and "4 seen before" in result.stderr and "1 threads closed" in result.stderr
    assert rows(db_path, "SELECT status FROM tickets ORDER BY id") == [("closed",), ("open",)]
    again = database_digest(db_path)
    mailrun.run("mail", "ingest", "--archive", str(old_mail), ok=True)
    assert database_digest(db_path) == again


def test_an_archive_dry_run_says_what_it_would_close_and_changes_nothing(mailrun, db_path, old_mail):
    before = database_digest(db_path)
    result = mailrun.run("mail", "ingest", "--archive", "--dry-run", str(old_mail), "--format", "csv", ok=True)
    assert "1 threads would be closed (archive)" in result.stderr
    assert "thread closed: its last message is old (archive)" in result.stdout
    assert database_digest(db_path) == before


def test_one_old_message_on_stdin_with_archive_is_filed_closed(mailrun, db_path):
    result = mailrun(message(message_id="o1@example.com", at="2025-11-01 09:00"), "--archive")
    assert "thread closed" in result.stderr
    assert rows(db_path, "SELECT status, closed_at FROM tickets") == [("closed", "2025-11-01T09:00:00+00:00")]
