"""Mail out through a real SMTP server (aiosmtpd, tests/fixtures/smtpd.py): `ticket reply --send`
queues a threaded, RFC 5322 clean message; `outbox send` hands it over once, whatever breaks."""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
from email import policy

import pytest

from tests.mail.test_intake import SHOP, message, rows


def outbox(mailrun, *args):
    return json.loads(mailrun.run("outbox", "list", *args, "--format", "json", ok=True).stdout)


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


@pytest.fixture
def ticket(mailrun, smtp):
    """Ticket #1, opened by Ada's mail m1@example.com."""
    mailrun(message(message_id="m1@example.com"))
    return 1


def test_a_sent_reply_is_threaded_clean_and_recorded(mailrun, smtp, ticket, db_path):
    queued = mailrun.run("ticket", "reply", "1", "A new vase goes out today.", "--send", ok=True)
    assert "queued message 1 to ada@example.com" in queued.stderr
    assert [(m["state"], m["kind"], m["recipient"]) for m in outbox(mailrun)] == [
        ("queued", "reply", "ada@example.com")
    ]
    assert smtp.received() == []

    sent = mailrun.run("outbox", "send", ok=True)
    assert "sent 1" in sent.stderr
    [raw] = smtp.received()
    envelope, _, body = raw.partition(b"\r\n")
    assert envelope == b"X-Envelope-To: ada@example.com"
    assert b"\n" not in body.replace(b"\r\n", b"") and all(len(line) <= 998 for line in body.split(b"\r\n"))
    mail = parsed(body)
    assert mail["From"] == SHOP and mail["To"] == "ada@example.com"
    assert mail["Subject"] == "Re: Vase arrived cracked [#1]"
    assert mail["In-Reply-To"] == "<m1@example.com>" and mail["References"] == "<m1@example.com>"
    assert mail["Message-ID"].endswith("@shop.example>")
    assert mail.get_content().strip() == "A new vase goes out today."
    [row] = outbox(mailrun)
    assert row["state"] == "sent" and row["server_reply"].startswith("250 ") and row["attempts"] == 1
    assert row["message_id"] == mail["Message-ID"].strip("<>")
    # One reply, logged once, on the ticket.
    assert rows(db_path, "SELECT count(*) FROM interactions WHERE ticket_id = 1 AND direction = 'out'") == [(1,)]
    assert mailrun.run("outbox", "send", ok=True).stderr.strip() == "nothing due in the outbox"
    assert len(smtp.received()) == 1


def test_the_answer_to_a_sent_reply_comes_back_on_its_ticket_and_cancels_queued_care_mail(
    mailrun, smtp, ticket, db_path
):
    mailrun.run("ticket", "reply", "1", "Could you send a photo?", "--send", ok=True)
    mailrun.run("outbox", "send", ok=True)
    sent_id = parsed(smtp.received()[0].partition(b"\r\n")[2])["Message-ID"].strip("<>")
    # A check-in queued for later, as a care rule queues one.
    _queue_outreach(db_path)
    assert [m["state"] for m in outbox(mailrun, "--state", "queued")] == ["queued"]
    # The customer answers with a new subject: In-Reply-To alone threads it.
    answer = mailrun(message(subject="photo", message_id="m2@example.com", in_reply_to=sent_id, at="2026-03-14 09:30"))
    assert "queued care mail cancelled" in answer.stderr
    assert rows(db_path, "SELECT ticket_id FROM mail_messages WHERE message_id = 'm2@example.com'") == [(1,)]
    states = {m["kind"]: (m["state"], m["cancelled_why"]) for m in outbox(mailrun)}
    assert states == {"reply": ("sent", None), "outreach": ("cancelled", "the customer wrote first")}


def _queue_outreach(db_path) -> None:
    """What a care rule does (carecli care run): an outreach mail on ticket #1, due tomorrow."""
    from datetime import datetime, timedelta, timezone

    from carecli.core import config, store
    from carecli.mail import compose
    from carecli.mail import outbox as outbox_module

    conn = store.open_connection(db_path)
    try:
        settings = config.load(None)
        settings.values["mail.addresses"] = [SHOP]
        now = datetime(2026, 3, 14, 10, tzinfo=timezone.utc)
        with store.transaction(conn):
            made = compose.compose_outreach(
                conn, settings, customer_id=1, subject="How is the vase?", body="Hi", at=now, ticket_id=1
            )
            outbox_module.queue(
                conn, made, kind="outreach", at=now, due=now + timedelta(days=1), customer_id=1, ticket_id=1
            )
    finally:
        conn.close()


def test_a_refused_message_is_failed_with_the_servers_words_and_retry_sends_it(mailrun, smtp, ticket):
    mailrun.run("ticket", "reply", "1", "On its way.", "--send", ok=True)
    smtp.mode("refuse")
    refused = mailrun.run("outbox", "send")
    assert refused.exit_code == 1 and "1 failed" in refused.stderr
    [row] = outbox(mailrun)
    assert row["state"] == "failed" and row["last_error"].startswith("554 5.7.1 refused")
    smtp.mode("accept")
    assert mailrun.run("outbox", "send", ok=True).stderr.strip() == "nothing due in the outbox"
    mailrun.run("outbox", "retry", "1", ok=True)
    mailrun.run("outbox", "send", ok=True)
    assert outbox(mailrun)[0]["state"] == "sent" and len(smtp.received()) == 1


def test_a_deferred_message_waits_and_doubles_its_wait(mailrun, smtp, ticket, monkeypatch):
    mailrun.run("ticket", "reply", "1", "On its way.", "--send", ok=True)
    smtp.mode("defer")
    result = mailrun.run("outbox", "send", ok=True)
    assert "1 to try again later" in result.stderr
    [row] = outbox(mailrun)
    assert row["state"] == "queued" and row["attempts"] == 1 and row["due_at"] == "2026-03-14T10:10:00+00:00"
    monkeypatch.setenv("CARECLI_NOW", "2026-03-14T10:11:00+00:00")
    mailrun.run("outbox", "send", ok=True)
    assert outbox(mailrun)[0]["due_at"] == "2026-03-14T10:31:00+00:00"  # 20 minutes after the second try
    smtp.mode("accept")
    monkeypatch.setenv("CARECLI_NOW", "2026-03-14T10:32:00+00:00")
    mailrun.run("outbox", "send", ok=True)
    assert outbox(mailrun)[0]["state"] == "sent" and len(smtp.received()) == 1


def test_a_connection_dropped_before_the_servers_answer_is_never_resent_unasked(mailrun, smtp, ticket):
    mailrun.run("ticket", "reply", "1", "On its way.", "--send", ok=True)
    smtp.mode("drop")
    dropped = mailrun.run("outbox", "send")
    assert dropped.exit_code == 1 and "of unknown fate" in dropped.stderr and "--retry-unknown" in dropped.stderr
    assert outbox(mailrun)[0]["state"] == "sending"
    smtp.mode("accept")
    again = mailrun.run("outbox", "send")
    assert again.exit_code == 1 and "1 message of unknown fate" in again.stderr
    assert smtp.received() == []
    mailrun.run("outbox", "send", "--retry-unknown", ok=True)
    assert outbox(mailrun)[0]["state"] == "sent" and len(smtp.received()) == 1


def test_a_crash_after_the_server_took_the_message_leaves_it_unknown_not_resent(mailrun, smtp, ticket, db_path):
    mailrun.run("ticket", "reply", "1", "On its way.", "--send", ok=True)
    env = {**os.environ, "CARECLI_DB": str(db_path)}
    command = [sys.executable, "-m", "carecli", "--config", str(mailrun.config), "outbox", "send"]
    sender = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    smtp.mode(f"kill {sender.pid}")  # written while it starts: it connects after ~0.1 s
    sender.wait(timeout=60)
    assert sender.returncode == -9
    assert len(smtp.received()) == 1
    assert outbox(mailrun)[0]["state"] == "sending"
    smtp.mode("accept")
    assert mailrun.run("outbox", "send").exit_code == 1
    assert len(smtp.received()) == 1  # not sent twice
    listed = mailrun.run("outbox", "list", "--state", "sending", ok=True).stdout
    assert "sending" in listed


def test_an_unreachable_server_exits_75_and_leaves_the_message_queued(mailrun, smtp, ticket):
    from tests.fixtures.smtpd import free_port

    mailrun.run("ticket", "reply", "1", "On its way.", "--send", ok=True)
    mailrun.config.write_text(
        f'[mail]\naddresses = ["{SHOP}"]\n[mail.smtp]\nhost = "127.0.0.1"\nport = {free_port()}\ntls = "none"\n'
    )
    result = mailrun.run("outbox", "send")
    assert result.exit_code == 75 and "cannot reach the SMTP server" in result.stderr
    assert [(m["state"], m["attempts"]) for m in outbox(mailrun)] == [("queued", 0)]


def test_undo_takes_a_queued_reply_mail_back_but_not_a_sent_one(mailrun, smtp, ticket, db_path):
    mailrun.run("ticket", "reply", "1", "Oops, wrong ticket.", "--send", ok=True)
    mailrun.run("undo", "--yes", ok=True)
    assert outbox(mailrun) == []
    assert rows(db_path, "SELECT count(*) FROM interactions WHERE direction = 'out'") == [(0,)]
    mailrun.run("ticket", "reply", "1", "A new vase goes out today.", "--send", ok=True)
    mailrun.run("outbox", "send", ok=True)
    refused = mailrun.run("undo", "--yes")
    assert refused.exit_code == 1
    assert "its mail to ada@example.com was sent" in refused.stderr and "Traceback" not in refused.stderr
    assert outbox(mailrun)[0]["state"] == "sent"


def test_cancel_stops_a_queued_message_and_undo_puts_it_back(mailrun, smtp, ticket):
    mailrun.run("ticket", "reply", "1", "On its way.", "--send", ok=True)
    mailrun.run("outbox", "cancel", "1", ok=True)
    assert mailrun.run("outbox", "send", ok=True).stderr.strip() == "nothing due in the outbox"
    mailrun.run("undo", "--yes", ok=True)
    assert outbox(mailrun)[0]["state"] == "queued"
    mailrun.run("outbox", "send", ok=True)
    again = mailrun.run("outbox", "cancel", "1")
    assert again.exit_code == 1 and "message 1 is sent, not queued" in again.stderr


def test_a_customer_without_an_address_gets_no_mail_and_nothing_is_written(mailrun, smtp, db_path):
    mailrun.run("customer", "add", "Cleo", ok=True)
    mailrun.run("ticket", "open", "cleo", "Call me", ok=True)
    before = rows(db_path, "SELECT count(*) FROM interactions")
    result = mailrun.run("ticket", "reply", "1", "Calling you now.", "--send")
    assert result.exit_code == 1 and "Cleo has no e-mail address" in result.stderr
    assert rows(db_path, "SELECT count(*) FROM interactions") == before and outbox(mailrun) == []


def test_without_an_address_to_send_from_reply_send_says_what_to_set(mailrun, smtp, ticket):
    mailrun.config.write_text('[mail.smtp]\nhost = "127.0.0.1"\n')
    result = mailrun.run("ticket", "reply", "1", "Hi", "--send")
    assert result.exit_code == 1 and "no address to send from" in result.stderr and "[mail] addresses" in result.stderr


def test_a_sendmail_command_gets_the_message_on_stdin(mailrun, smtp, ticket, tmp_path):
    kept = tmp_path / "piped.eml"
    mailrun.config.write_text(f'[mail]\naddresses = ["{SHOP}"]\nsendmail_cmd = "cat > {kept}"\n')
    mailrun.run("ticket", "reply", "1", "Sent through a command.", "--send", ok=True)
    mailrun.run("outbox", "send", ok=True)
    assert parsed(kept.read_bytes())["Subject"] == "Re: Vase arrived cracked [#1]"
    assert outbox(mailrun)[0]["server_reply"] == f"taken by cat > {kept}"


def test_outbox_list_fits_80_columns_with_long_subjects(mailrun, smtp, ticket, monkeypatch):
    mailrun.run("ticket", "edit", "1", "--subject", "A very long subject " * 8, ok=True)
    for _ in range(3):
        mailrun.run("ticket", "reply", "1", "On its way.", "--send", "--open", ok=True)
    from rich.cells import cell_len

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr("carecli.cli.output.use_rich", lambda stream: True)
    shown = mailrun.run("outbox", "list", ok=True).stdout
    assert all(cell_len(line) <= 80 for line in shown.splitlines()), shown
    assert "queued" in shown and "..." in shown and "ticket" in shown


def test_round_trip_reply_by_smtp_answer_by_imap_on_the_same_ticket(mailrun, smtp, imap_account, db_path):
    """The issue's round trip against real servers: Ada's mail is fetched from Dovecot, the reply
    goes out through aiosmtpd, her answer lands in Dovecot and `mail fetch` files it on ticket 1,
    cancelling the check-in queued for it."""
    mailrun.config.write_text(
        mailrun.config.read_text()
        + f'[mail.imap]\nhost = "127.0.0.1"\nport = {imap_account.server.port}\nuser = "{imap_account.user}"\n'
        f'password_cmd = "echo {imap_account.password}"\ntls = "none"\nfolders = ["INBOX"]\n'
    )
    imap_account.append(message(message_id="m1@example.com"))
    mailrun.run("mail", "fetch", ok=True)
    mailrun.run("ticket", "reply", "1", "Could you send a photo of the vase?", "--send", ok=True)
    mailrun.run("outbox", "send", ok=True)
    [raw] = smtp.received()
    sent = parsed(raw.partition(b"\r\n")[2])
    _queue_outreach(db_path)
    # Her mail client quotes our subject (with the token) and answers our Message-ID.
    answer = message(
        subject=sent["Subject"].replace("Re: ", "Re: Re: ", 1),
        message_id="m2@example.com",
        in_reply_to=sent["Message-ID"].strip("<>"),
        at="2026-03-14 09:45",
        body="Here it is.",
    )
    imap_account.append(answer)
    fetched = mailrun.run("mail", "fetch", ok=True)
    assert "1 filed" in fetched.stderr
    assert rows(db_path, "SELECT ticket_id FROM mail_messages WHERE message_id = 'm2@example.com'") == [(1,)]
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(1,)]
    assert {m["kind"]: m["state"] for m in outbox(mailrun)} == {"reply": "sent", "outreach": "cancelled"}
    shown = mailrun.run("ticket", "show", "1", ok=True).stdout
    assert "Here it is." in shown and "Could you send a photo" in shown


def test_the_shop_never_mails_itself(mailrun, smtp, db_path):
    mailrun.run("customer", "add", "Shop", "--email", SHOP, ok=True)
    mailrun.run("ticket", "open", "shop", "Note to self", ok=True)
    result = mailrun.run("ticket", "reply", "1", "Hello me", "--send")
    assert result.exit_code == 1 and "one of the shop's own addresses" in result.stderr
    assert outbox(mailrun) == [] and rows(db_path, "SELECT count(*) FROM interactions WHERE direction = 'out'") == [
        (0,)
    ]


def test_report_mail_queues_the_text_report_and_sends_it_marked_automatic(mailrun, smtp, ticket, db_path):
    printed = mailrun.run("report", "daily", ok=True).stdout
    queued = mailrun.run("report", "daily", "--mail", "owner@shop.example", ok=True)
    assert queued.stdout == "" and "queued the daily report as message 1 to owner@shop.example" in queued.stderr
    # To the shop's own mailbox too: a report is not a reply, and intake skips it as automatic.
    mailrun.run("report", "weekly", "--mail", SHOP, ok=True)
    mailrun.run("outbox", "send", ok=True)
    daily, weekly = (parsed(raw.partition(b"\r\n")[2]) for raw in smtp.received())
    assert daily["Subject"] == "carecli daily report: 2026-03-13" and daily["Auto-Submitted"] == "auto-generated"
    assert daily.get_content().replace("\r\n", "\n").strip() == printed.strip()
    assert weekly["To"] == SHOP
    # The weekly report carries its HTML page beside the text; the daily one is text only.
    assert daily.get_content_type() == "text/plain"
    assert weekly.get_content_type() == "multipart/alternative"
    text_part, html_part = weekly.iter_parts()
    assert text_part.get_content_type() == "text/plain" and html_part.get_content_type() == "text/html"
    assert "carecli weekly report" in text_part.get_content()
    page = html_part.get_content()
    assert page.startswith("<!DOCTYPE html>") and 'class="bar opened"' in page and "<script" not in page
    assert all(
        part["Content-Transfer-Encoding"] in ("7bit", "quoted-printable", "base64") for part in (text_part, html_part)
    )
    assert bytes(weekly).isascii()
    assert [m["kind"] for m in outbox(mailrun)] == ["report", "report"]
    # Coming back (a Bcc, the Sent folder): known by its Message-ID, filed nowhere.
    again = mailrun(bytes(weekly))
    assert "seen before" in again.stderr
    assert rows(db_path, "SELECT count(*) FROM tickets") == [(1,)]
    bad = mailrun.run("report", "daily", "--mail", "not an address")
    assert bad.exit_code == 1 and "is not an e-mail address" in bad.stderr
