"""Filing mail: threading in the issue's order, our own replies, automatic mail, idempotency,
and the exit codes a mail system understands."""

from __future__ import annotations

import mailbox
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from carecli.core.errors import EXIT_DATAERR, EXIT_TEMPFAIL
from tests.conftest import database_digest
from tests.mail.conftest import SHOP
from tests.mail.test_parse import DATASET

CARECLI = Path(sys.executable).parent / "carecli"


def message(
    sender="Ada Lovelace <ada@example.com>",
    subject="Vase arrived cracked",
    *,
    body="The vase is cracked.",
    at="2026-03-13 09:00",
    message_id=None,
    in_reply_to=None,
    to=SHOP,
    **headers,
) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    mail["Date"] = format_datetime(datetime.fromisoformat(at).replace(tzinfo=timezone.utc))
    if message_id:
        mail["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        mail["In-Reply-To"] = f"<{in_reply_to}>"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return bytes(mail)


def rows(db_path, sql, params=()):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def ticket_of(db_path, message_id):
    return rows(db_path, "SELECT ticket_id FROM mail_messages WHERE message_id = ?", (message_id,))[0][0]


def test_a_new_message_opens_a_ticket_for_a_new_customer_named_from_the_display_name(mailrun, db_path):
    result = mailrun(message(message_id="m1@example.com"))
    assert "new ticket #1" in result.stderr
    assert rows(db_path, "SELECT name, email FROM customers") == [("Ada Lovelace", "ada@example.com")]
    assert rows(db_path, "SELECT subject, created_at FROM tickets") == [
        ("Vase arrived cracked", "2026-03-13T09:00:00+00:00")
    ]
    assert rows(db_path, "SELECT address FROM customer_addresses") == [("ada@example.com",)]


def test_a_reply_by_in_reply_to_lands_on_the_same_ticket_whatever_its_subject(mailrun, db_path):
    mailrun(message(message_id="m1@example.com"))
    mailrun(
        message(
            subject="something else", message_id="m2@example.com", in_reply_to="m1@example.com", at="2026-03-13 10:00"
        )
    )
    assert ticket_of(db_path, "m2@example.com") == ticket_of(db_path, "m1@example.com")
    assert rows(db_path, "SELECT count(*) FROM interactions WHERE direction = 'in'") == [(2,)]


def test_references_are_tried_when_in_reply_to_is_unknown(mailrun, db_path):
    mailrun(message(message_id="m1@example.com"))
    mailrun(
        message(
            subject="x",
            message_id="m3@example.com",
            in_reply_to="unknown@x",
            References="<m1@example.com> <unknown@x>",
            at="2026-03-13 11:00",
        )
    )
    assert ticket_of(db_path, "m3@example.com") == 1


def test_a_ticket_token_is_honoured_only_from_an_address_of_that_tickets_customer(mailrun, db_path):
    mailrun(message(message_id="m1@example.com"))
    # A stranger naming ticket #1 gets a ticket of their own.
    mailrun(
        message(
            "Eve <eve@evil.example>", "Re: [#1] give me the refund", message_id="e1@evil.example", at="2026-03-13 12:00"
        )
    )
    assert ticket_of(db_path, "e1@evil.example") == 2
    # Ada's own token in the subject, and in help+1@, thread onto #1 even with a new subject.
    mailrun(message(subject="[#1] photos", message_id="m4@example.com", at="2026-03-13 13:00"))
    mailrun(
        message(subject="more photos", message_id="m5@example.com", to="help+1@shop.example", at="2026-03-13 14:00")
    )
    assert ticket_of(db_path, "m4@example.com") == 1 and ticket_of(db_path, "m5@example.com") == 1


def test_a_known_customer_is_found_by_the_email_of_their_record(mailrun, db_path):
    mailrun.run("customer", "add", "Ben Okafor", "--email", "ben@example.com", "--at", "2026-03-01", ok=True)
    mailrun(message("B. O. <BEN@example.com>", message_id="b1@example.com"))
    assert rows(db_path, "SELECT count(*) FROM customers") == [(1,)]
    assert rows(db_path, "SELECT customer_id FROM tickets") == [(1,)]


def test_the_same_sender_and_subject_within_the_window_joins_the_open_ticket(mailrun, db_path):
    # (the tests' clock is 2026-03-14 10:00: a later Date would be read as the time received)
    mailrun(message(message_id="m1@example.com", at="2026-03-01 09:00"))
    mailrun(message(subject="RE: AW: Vase arrived  cracked", message_id="m2@example.com", at="2026-03-03 09:00"))
    assert ticket_of(db_path, "m2@example.com") == 1
    # More than same_subject_days (7) after the last one: a new ticket.
    mailrun(message(subject="Re: Vase arrived cracked", message_id="m3@example.com", at="2026-03-12 09:00"))
    assert ticket_of(db_path, "m3@example.com") == 2
    # Another sender with the same subject: a new ticket too.
    mailrun(
        message("Ben <ben@example.com>", "Vase arrived cracked", message_id="b1@example.com", at="2026-03-12 10:00")
    )
    assert ticket_of(db_path, "b1@example.com") == 3


def test_a_date_in_the_future_is_filed_at_the_time_received(mailrun, db_path):
    mailrun(message(message_id="m1@example.com", at="2026-03-20 09:00"))
    assert rows(db_path, "SELECT created_at FROM tickets") == [("2026-03-14T10:00:00+00:00",)]


def test_the_same_subject_on_a_closed_ticket_opens_a_new_one_noted_maybe_related(mailrun, db_path):
    mailrun(message(message_id="m1@example.com"))
    mailrun.run("ticket", "close", "1", "--at", "2026-03-13 12:00", ok=True)
    mailrun(message(subject="Vase arrived cracked", message_id="m2@example.com", at="2026-03-14 09:00"))
    assert ticket_of(db_path, "m2@example.com") == 2
    shown = mailrun.run("ticket", "show", "2", ok=True).stdout
    assert "maybe related to #1" in shown
    assert rows(db_path, "SELECT status FROM tickets WHERE id = 1") == [("closed",)]


def test_a_reply_to_a_closed_ticket_reopens_it(mailrun, db_path):
    mailrun(message(message_id="m1@example.com"))
    mailrun.run("ticket", "close", "1", "--at", "2026-03-13 12:00", ok=True)
    mailrun(
        message(subject="Re: Vase", message_id="m2@example.com", in_reply_to="m1@example.com", at="2026-03-14 09:00")
    )
    assert rows(db_path, "SELECT status, reopen_count FROM tickets WHERE id = 1") == [("open", 1)]


def test_a_mailed_reopen_skips_the_after_close_check_in_as_ticket_reopen_does(mailrun, db_path):
    mailrun(message(message_id="m1@example.com"))
    mailrun.run("ticket", "close", "1", "--followup", "3d", "--at", "2026-03-13 12:00", ok=True)
    assert rows(db_path, "SELECT status FROM followups WHERE ticket_id = 1") == [("scheduled",)]
    filed = mailrun(
        message(subject="Re: Vase", message_id="m2@example.com", in_reply_to="m1@example.com", at="2026-03-14 09:00")
    )
    assert "after-close check-in skipped" in filed.stderr
    assert rows(db_path, "SELECT status FROM followups WHERE ticket_id = 1") == [("skipped",)]


def test_with_reopen_on_reply_off_a_reply_to_a_closed_ticket_opens_a_new_one(mailrun, db_path):
    mailrun.config.write_text(f'[mail]\naddresses = ["{SHOP}"]\nreopen_on_reply = false\n')
    mailrun(message(message_id="m1@example.com"))
    mailrun.run("ticket", "close", "1", "--at", "2026-03-13 12:00", ok=True)
    mailrun(
        message(subject="Re: Vase", message_id="m2@example.com", in_reply_to="m1@example.com", at="2026-03-14 09:00")
    )
    assert ticket_of(db_path, "m2@example.com") == 2
    assert rows(db_path, "SELECT status FROM tickets WHERE id = 1") == [("closed",)]


def test_our_own_reply_is_filed_outbound_and_counts_as_the_first_response_in_kpi(mailrun, db_path):
    mailrun(message(message_id="m1@example.com"))
    reply = message(
        f"Shop <{SHOP}>",
        "Re: Vase arrived cracked",
        to="Ada <ada@example.com>",
        message_id="s1@shop.example",
        in_reply_to="m1@example.com",
        at="2026-03-13 09:30",
    )
    mailrun(reply)
    assert rows(db_path, "SELECT direction FROM interactions ORDER BY id") == [("in",), ("out",)]
    assert rows(db_path, "SELECT first_response_s, reply_count FROM tickets") == [(1800, 1)]
    kpi = mailrun.run("kpi", "--since", "2026-03-01", "--format", "json", ok=True)
    import json

    assert json.loads(kpi.stdout)["first_response_s"]["median"] == 1800


def test_our_own_message_on_no_known_ticket_opens_nothing(mailrun, db_path):
    result = mailrun(message(f"Shop <{SHOP}>", "Newsletter", to="someone@example.com", message_id="s2@shop.example"))
    assert "skipped" in result.stderr
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(0,)]
    assert rows(db_path, "SELECT count(*) FROM customers") == [(0,)]


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"List_Id": "<news.example.com>"},
        {"X_Autoreply": "yes"},
        {"Return_Path": "<>"},
    ],
)
def test_automatic_messages_are_skipped_with_the_reason_and_count_for_nothing(mailrun, db_path, headers):
    result = mailrun(message(message_id="a1@example.com", **headers))
    assert result.exit_code == 0 and "skipped" in result.stderr
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(0,)]
    assert rows(db_path, "SELECT count(*) FROM customers") == [(0,)]
    (reason,) = rows(db_path, "SELECT reason FROM mail_messages WHERE status = 'skipped'")[0]
    assert reason.startswith("automatic: ")
    log = mailrun.run("mail", "log", "--format", "json", ok=True).stdout
    assert '"skipped"' in log and "automatic" in log


def test_the_same_message_twice_is_filed_once(mailrun, db_path):
    mailrun(message(message_id="m1@example.com"))
    result = mailrun(message(message_id="m1@example.com"))
    assert "seen before" in result.stderr
    assert rows(db_path, "SELECT count(*) FROM interactions") == [(1,)]


def test_a_message_without_message_id_is_recognised_by_its_content(mailrun, db_path):
    mailrun(message())
    mailrun(message())
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(1,)]
    assert rows(db_path, "SELECT message_id FROM mail_messages")[0][0].startswith("sha256:")


def test_the_same_maildir_twice_files_once_in_date_order(mailrun, db_path, isolated):
    box = mailbox.Maildir(isolated / "Maildir", create=True)
    # Added newest first: filed in Date order, so the reply still finds its ticket.
    box.add(
        message(subject="Re: Vase", message_id="m2@example.com", in_reply_to="m1@example.com", at="2026-03-13 10:00")
    )
    box.add(message(message_id="m1@example.com"))
    first = mailrun.run("mail", "ingest", str(isolated / "Maildir"), ok=True)
    assert "2 filed" in first.stderr
    before = database_digest(db_path)
    again = mailrun.run("mail", "ingest", str(isolated / "Maildir"), ok=True)
    assert "0 filed" in again.stderr and "2 seen before" in again.stderr
    assert database_digest(db_path) == before
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(1,)]


def test_an_mbox_file_and_a_dry_run_that_changes_nothing(mailrun, db_path, isolated):
    box = mailbox.mbox(isolated / "takeout.mbox")
    box.add(message(message_id="m1@example.com"))
    box.add(message("Ben <ben@example.com>", "Where is my order?", message_id="b1@example.com"))
    box.flush()
    before = database_digest(db_path)
    dry = mailrun.run("mail", "ingest", str(isolated / "takeout.mbox"), "--dry-run", "--format", "csv", ok=True)
    assert dry.stdout.count("filed,in") == 2 and "would be filed" in dry.stderr
    assert database_digest(db_path) == before
    mailrun.run("mail", "ingest", str(isolated / "takeout.mbox"), ok=True)
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(2,)]


def test_an_unparseable_message_exits_65_and_is_kept_in_the_quarantine(run, db_path):
    raw = (DATASET / "broken-unparseable-header-block.eml").read_bytes()
    result = subprocess.run(
        [str(CARECLI), "mail", "ingest", "-"], input=raw, capture_output=True, env=os.environ.copy()
    )
    assert result.returncode == EXIT_DATAERR, result.stderr
    assert b"no From address" in result.stderr
    folder = db_path.with_name(db_path.name + "-quarantine")
    (kept,) = folder.glob("*.eml")
    assert kept.read_bytes() == raw and (kept.stat().st_mode & 0o777) == 0o600
    assert "no From address" in kept.with_suffix(".reason.txt").read_text()
    log = run("mail", "log", "--status", "quarantined", "--format", "csv", ok=True).stdout
    assert "no From address" in log


def test_a_database_locked_past_the_wait_exits_75(mailrun, db_path, monkeypatch):
    from carecli.core import store

    monkeypatch.setattr(store, "WRITE_WAIT_S", 0.2)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = mailrun(message(message_id="m1@example.com"), ok=None)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == EXIT_TEMPFAIL, result.stderr
    assert "try again" in result.stderr


def test_empty_stdin_is_an_error_not_a_quarantined_message(mailrun, db_path):
    result = mailrun(b"", ok=None)
    assert result.exit_code == 1 and "no message on stdin" in result.stderr


def test_every_shared_message_ingests_or_is_quarantined_with_a_reason(mailrun, db_path):
    result = mailrun.run("mail", "ingest", str(DATASET), ok=True)
    # 76 files; plain-basic-crlf and from-two-addresses share one Message-ID.
    assert "76 messages: 62 filed, 12 skipped, 1 quarantined, 1 seen before" in result.stderr
    quarantined = rows(db_path, "SELECT reason FROM mail_messages WHERE status = 'quarantined'")
    assert quarantined == [("no From address (the header block ends early at a malformed line)",)]
    assert rows(db_path, "SELECT count(*) FROM mail_messages WHERE status = 'skipped' AND reason IS NULL") == [(0,)]
    # The RFC 5322 thread is one ticket.
    assert ticket_of(db_path, "3456@example.net") == ticket_of(db_path, "abcd.1234@local.machine.tld")


def test_each_message_filed_is_one_undo_step(mailrun, db_path):
    mailrun(message(message_id="m1@example.com"))
    [step] = mailrun.run("undo", "--list", "--format", "json", ok=True).stdout and rows(
        db_path, "SELECT argv FROM undo_steps"
    )
    assert "mail" in step[0] and "ingest" in step[0]
    mailrun.run("undo", "--yes", ok=True)
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(0,)]
    assert rows(db_path, "SELECT count(*) FROM mail_messages") == [(0,)]
    again = mailrun(message(message_id="m1@example.com"))  # no longer seen before: filed again
    assert "new ticket #2" in again.stderr  # #1 stays the undone one's number (its events keep it)


def test_a_customer_made_from_mail_goes_to_the_trash_and_back_with_their_address(mailrun, db_path):
    mailrun(message(message_id="m1@example.com"))
    mailrun.run("customer", "delete", "ada", "--reason", "mistake", "--yes", ok=True)
    restored = mailrun.run("customer", "restore", "1")
    assert restored.exit_code == 0, restored.stderr  # was: "customer_addresses #1 exists again"
    assert rows(db_path, "SELECT customer_id, address FROM customer_addresses") == [(1, "ada@example.com")]
